{#
    Engine "exploration": gives new memes a chance. Memes in the user's languages sent fewer
    than var('exploration_max_sends') times, least-sent first (score 1 / (1 + sends)), newest
    first among equals; each user takes a pool of var('engine_pool_size') unseen memes from
    the head of that order and breaks ties with a per-user hash, which spreads the first
    sends of equal memes across users. Top var('candidates_per_user') per user; the blend
    bounds its share of the list.
#}

with servable_memes as (

    select * from {{ ref('int_servable_memes') }}

),

meme_stats as (

    select * from {{ ref('meme_stats') }}

),

user_languages as (

    select * from {{ ref('stg_app__user_language') }}

),

user_stats as (

    select * from {{ ref('user_stats') }}

),

reactions as (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

ranked_memes as (

    select
        servable_memes.meme_id,
        servable_memes.language_code,
        meme_stats.nmemes_sent,
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

-- a user was sent at most nmemes_sent of the head, so this many slots leave a full pool
user_pool_slots as materialized (

    select
        user_languages.user_id,
        user_languages.language_code,
        slots.language_position

    from user_languages
    inner join user_stats
        on user_languages.user_id = user_stats.user_id
    cross join lateral generate_series(
        1, {{ var('engine_pool_size') }} + user_stats.nmemes_sent
    ) as slots (language_position)

),

pool as materialized (

    select
        user_pool_slots.user_id,
        ranked_memes.meme_id,
        ranked_memes.nmemes_sent

    from user_pool_slots
    inner join ranked_memes
        on
            user_pool_slots.language_code = ranked_memes.language_code
            and user_pool_slots.language_position = ranked_memes.language_position

),

unseen as (

    select pool.*

    from pool
    left join reactions
        on pool.user_id = reactions.user_id and pool.meme_id = reactions.meme_id
    where reactions.meme_id is null

),

scored as (

    select
        user_id,
        meme_id,
        'exploration' as engine,
        (1.0 / (1 + nmemes_sent))::double precision as score

    from unseen

),

ranked as (

    select
        *,
        row_number() over (
            partition by user_id
            order by score desc, {{ per_user_tiebreak('user_id', 'meme_id') }}
        )::integer as engine_rank

    from scored

),

final as (

    select * from ranked
    where engine_rank <= {{ var('candidates_per_user') }}

)

select * from final
