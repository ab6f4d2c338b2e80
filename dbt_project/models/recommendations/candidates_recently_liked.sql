{#
    Engine 'recently_liked' (the anchor's, with a defined order): memes liked more than once
    among the last var('recently_liked_window') likes of all users, most liked first.
#}

with servable_memes as not materialized (

    select * from {{ ref('int_servable_memes') }}

),

reactions_for_window as not materialized (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

recent_likes as (

    select meme_id

    from reactions_for_window
    where reacted_at is not null and reaction_id = 1
    order by reacted_at desc
    limit {{ var('recently_liked_window') }}

),

like_counts as (

    select
        meme_id,
        count(*) as count_recent_likes

    from recent_likes
    group by meme_id
    having count(*) > 1

),

ranked_memes as (

    select
        servable_memes.meme_id,
        servable_memes.meme_source_id,
        servable_memes.language_code,
        like_counts.count_recent_likes::double precision as base_score,
        row_number() over (
            partition by servable_memes.language_code
            order by like_counts.count_recent_likes desc, servable_memes.meme_id desc
        ) as language_position

    from servable_memes
    inner join like_counts
        on servable_memes.meme_id = like_counts.meme_id

),

{{- engine_candidates('recently_liked') }}
