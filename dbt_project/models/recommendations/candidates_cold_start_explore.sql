{#
    Engine 'cold_start_explore' (the anchor's): proven memes for a user's first sends, at least
    var('cold_start_explore_min_reactions') reactions and lr_smoothed >=
    var('cold_start_explore_min_lr_smoothed'), by lr_smoothed then reactions.
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
            order by
                meme_stats.lr_smoothed desc,
                meme_stats.nlikes + meme_stats.ndislikes desc,
                servable_memes.meme_id desc
        ) as language_position

    from servable_memes
    inner join meme_stats
        on servable_memes.meme_id = meme_stats.meme_id
    where
        meme_stats.nlikes + meme_stats.ndislikes >= {{ var('cold_start_explore_min_reactions') }}
        and meme_stats.lr_smoothed >= {{ var('cold_start_explore_min_lr_smoothed') }}

),

{{- engine_candidates('cold_start_explore') }}
