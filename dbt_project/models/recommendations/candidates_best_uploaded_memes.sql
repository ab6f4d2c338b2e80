{#
    Engine 'best_uploaded_memes' (the anchor's, HEAD version): memes from user uploads, ranked
    by their like rate with a 1/1 prior, scored source_affinity x that like rate.
#}

with servable_memes as not materialized (

    select * from {{ ref('int_servable_memes') }}

),

meme_stats as not materialized (

    select * from {{ ref('meme_stats') }}

),

meme_sources as not materialized (

    select * from {{ ref('stg_app__meme_source') }}

),

ranked_memes as (

    select
        servable_memes.meme_id,
        servable_memes.meme_source_id,
        servable_memes.language_code,
        scores.base_score,
        row_number() over (
            partition by servable_memes.language_code
            order by scores.base_score desc, servable_memes.meme_id desc
        ) as language_position

    from servable_memes
    inner join meme_stats
        on servable_memes.meme_id = meme_stats.meme_id
    inner join meme_sources
        on servable_memes.meme_source_id = meme_sources.meme_source_id
    cross join
        lateral (
            select
                (meme_stats.nlikes + 1.0) / (meme_stats.nlikes + meme_stats.ndislikes + 2.0)
                    as base_score
        ) as scores
    where meme_sources.source_type = 'user upload'

),

{{- engine_candidates('best_uploaded_memes', score_expression='affinity.source_affinity * pool.base_score') }}
