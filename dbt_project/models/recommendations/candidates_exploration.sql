{#
    Engine 'exploration' (the anchor has none): gives new memes a chance. Memes sent fewer than
    var('exploration_max_sends') times, least-sent first, newest first among equals, scored
    1 / (1 + sends); each user's pool is the head of that order and ties are broken per user,
    which spreads the first sends of equal memes across users. The blend weight of the stage
    bounds the share of impressions it gets.
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
        1.0 / (1 + meme_stats.nmemes_sent) as base_score,
        row_number() over (
            partition by servable_memes.language_code
            order by
                meme_stats.nmemes_sent,
                servable_memes.published_at desc,
                servable_memes.meme_id desc
        ) as language_position

    from servable_memes
    inner join meme_stats
        on servable_memes.meme_id = meme_stats.meme_id
    where meme_stats.nmemes_sent < {{ var('exploration_max_sends') }}

),

{{- engine_candidates('exploration') }}
