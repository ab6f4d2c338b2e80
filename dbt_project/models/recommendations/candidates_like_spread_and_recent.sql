{#
    Engine 'like_spread_and_recent' (the anchor's like_spread_and_recent_memes, without the
    age filter that starved it): memes with more likes than dislikes from the top quartile of
    their source by views, scored (likes - dislikes) / (sends + 1), halved when older than
    var('like_spread_recent_days') days.
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
        scores.base_score,
        row_number() over (
            partition by servable_memes.language_code
            order by scores.base_score desc, servable_memes.meme_id desc
        ) as language_position

    from servable_memes
    inner join meme_stats
        on servable_memes.meme_id = meme_stats.meme_id
    cross join
        lateral (
            select
                (meme_stats.nlikes - meme_stats.ndislikes)::double precision
                / (meme_stats.nmemes_sent + 1)
                * case
                    when meme_stats.age_days < {{ var('like_spread_recent_days') }} then 1.0 else 0.5
                end as base_score
        ) as scores
    where meme_stats.nlikes > meme_stats.ndislikes and meme_stats.raw_impr_rank = 0

),

{{- engine_candidates('like_spread_and_recent') }}
