{#
    Engine "lr_smoothed": personalised quality. Memes in the user's languages with at least
    var('quality_min_likes') likes, scored by the user's like rate on the meme's source
    (Laplace-smoothed, 0.5 for a source the user never rated) times the meme's lr_smoothed.

    Two stages keep the work per user bounded: the memes are ranked once per language by
    lr_smoothed, each user takes the head of that ranking long enough to hold
    var('engine_pool_size') memes they were not sent, and only that pool is scored
    personally. Top var('candidates_per_user') per user.
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

user_meme_source_stats as (

    select * from {{ ref('user_meme_source_stats') }}

),

ranked_memes as (

    select
        servable_memes.meme_id,
        servable_memes.meme_source_id,
        servable_memes.language_code,
        meme_stats.lr_smoothed,
        row_number() over (
            partition by servable_memes.language_code
            order by meme_stats.lr_smoothed desc, servable_memes.meme_id desc
        ) as language_position

    from servable_memes
    inner join meme_stats
        on servable_memes.meme_id = meme_stats.meme_id
    where meme_stats.nlikes >= {{ var('quality_min_likes') }}

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
        ranked_memes.meme_source_id,
        ranked_memes.lr_smoothed

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
        unseen.user_id,
        unseen.meme_id,
        'lr_smoothed' as engine,
        (
            (coalesce(user_meme_source_stats.nlikes, 0) + 1.0)
            / (
                coalesce(user_meme_source_stats.nlikes, 0)
                + coalesce(user_meme_source_stats.ndislikes, 0)
                + 2.0
            )
            * unseen.lr_smoothed
        )::double precision as score

    from unseen
    left join user_meme_source_stats
        on
            unseen.user_id = user_meme_source_stats.user_id
            and unseen.meme_source_id = user_meme_source_stats.meme_source_id

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
