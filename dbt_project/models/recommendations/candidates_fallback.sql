{#
    Engine "fallback": makes sure a user's list is never empty while any servable meme is
    unsent. Unsent memes of the user's languages first (engine 'fallback'), then those of
    other languages (engine 'fallback_other_language'), each by meme_stats.quality_score.

    Each user takes the head of two quality rankings, one per language of the user and one
    over all memes, each long enough to hold var('candidates_per_user') unsent memes, so
    the result has min(candidates_per_user, unsent servable memes) rows per user.
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
        meme_stats.quality_score,
        row_number() over (
            partition by servable_memes.language_code
            order by meme_stats.quality_score desc, servable_memes.meme_id desc
        ) as language_position,
        row_number() over (
            order by meme_stats.quality_score desc, servable_memes.meme_id desc
        ) as overall_position

    from servable_memes
    inner join meme_stats
        on servable_memes.meme_id = meme_stats.meme_id

),

-- a user was sent at most nmemes_sent of a head, so this many slots leave a full list
own_language_slots as materialized (

    select
        user_languages.user_id,
        user_languages.language_code,
        slots.position

    from user_languages
    inner join user_stats
        on user_languages.user_id = user_stats.user_id
    cross join lateral generate_series(
        1, {{ var('candidates_per_user') }} + user_stats.nmemes_sent
    ) as slots (position)

),

overall_slots as materialized (

    select
        user_stats.user_id,
        slots.position

    from user_stats
    cross join lateral generate_series(
        1, {{ var('candidates_per_user') }} + user_stats.nmemes_sent
    ) as slots (position)

),

pool as materialized (

    select
        own_language_slots.user_id,
        ranked_memes.meme_id

    from own_language_slots
    inner join ranked_memes
        on
            own_language_slots.language_code = ranked_memes.language_code
            and own_language_slots.position = ranked_memes.language_position

    union

    select
        overall_slots.user_id,
        ranked_memes.meme_id

    from overall_slots
    inner join ranked_memes
        on overall_slots.position = ranked_memes.overall_position

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
        unseen.user_id,
        unseen.meme_id,
        user_languages.user_id is not null as is_user_language,
        case
            when user_languages.user_id is not null then 'fallback'
            else 'fallback_other_language'
        end as engine,
        ranked_memes.quality_score as score

    from unseen
    inner join ranked_memes
        on unseen.meme_id = ranked_memes.meme_id
    left join user_languages
        on
            unseen.user_id = user_languages.user_id
            and ranked_memes.language_code = user_languages.language_code

),

ranked as (

    select
        user_id,
        meme_id,
        engine,
        score,
        row_number() over (
            partition by user_id
            order by
                is_user_language desc,
                score desc,
                {{ per_user_tiebreak('user_id', 'meme_id') }}
        )::integer as engine_rank

    from scored

),

final as (

    select * from ranked
    where engine_rank <= {{ var('candidates_per_user') }}

)

select * from final
