{#
    Engine 'es_ranked' (the anchor's): like lr_smoothed but on engagement_score, which reads
    fast dislikes of text-heavy memes and skips. Memes with engagement_score > 0 and at least
    var('quality_min_likes') likes; scored source_affinity x engagement_score.
#}

with servable_memes as not materialized (

    select * from {{ ref('int_servable_memes') }}

),

meme_stats as not materialized (

    select * from {{ ref('meme_stats') }}

),

ranked_memes as (

    select
        servable_memes.meme_id,
        servable_memes.meme_source_id,
        servable_memes.language_code,
        meme_stats.engagement_score as base_score,
        row_number() over (
            partition by servable_memes.language_code
            order by meme_stats.engagement_score desc, servable_memes.meme_id desc
        ) as language_position

    from servable_memes
    inner join meme_stats
        on servable_memes.meme_id = meme_stats.meme_id
    where
        meme_stats.engagement_score > 0
        and meme_stats.nlikes >= {{ var('quality_min_likes') }}

),

{{- engine_candidates('es_ranked', score_expression='affinity.source_affinity * pool.base_score') }}
