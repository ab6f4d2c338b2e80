{#
    Engine 'lr_smoothed' (the anchor's): personalised quality. Memes with at least
    var('quality_min_likes') likes, ranked per language by lr_smoothed; the user's pool is
    scored source_affinity x lr_smoothed (0.5 for a source the user never rated, the anchor's
    HEAD fix of its NULL bug).
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
        meme_stats.lr_smoothed as base_score,
        row_number() over (
            partition by servable_memes.language_code
            order by meme_stats.lr_smoothed desc, servable_memes.meme_id desc
        ) as language_position

    from servable_memes
    inner join meme_stats
        on servable_memes.meme_id = meme_stats.meme_id
    where meme_stats.nlikes >= {{ var('quality_min_likes') }}

),

{{- engine_candidates('lr_smoothed', score_expression='affinity.source_affinity * pool.base_score') }}
