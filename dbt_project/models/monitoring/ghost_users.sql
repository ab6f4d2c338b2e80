{#
    Ghost users (the anchor's monitor): users created between var('ghost_users_min_age_minutes')
    and var('ghost_users_max_age_minutes') minutes before the build who were never sent a meme.
    Left out: users who blocked the bot, banned and waitlisted users, and users who came from a
    blocked acquisition deep link (seeds/blocked_deep_links.csv). Older than
    var('ghost_users_error_age_minutes') a ghost is in the error window, younger in the warn
    window; the tests on this model warn and error on their counts.
#}

with users as not materialized (

    select * from {{ ref('stg_app__user') }}

),

user_tg as not materialized (

    select * from {{ ref('stg_app__user_tg') }}

),

reactions as not materialized (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

blocked_deep_links as not materialized (

    select * from {{ ref('blocked_deep_links') }}

),

recent_users as (

    select
        users.user_id,
        users.created_at,
        user_tg.deep_link,
        {{ seconds_between('users.created_at', build_timestamp()) }}
            as age_sec

    from users
    left join user_tg
        on users.user_id = user_tg.user_id
    where
        users.created_at
        between {{ build_timestamp() }} - interval '1 minute' * {{ var('ghost_users_max_age_minutes') }}
        and {{ build_timestamp() }} - interval '1 minute' * {{ var('ghost_users_min_age_minutes') }}
        and users.user_type not in ('blocked_bot', 'banned', 'waitlist')
        and users.blocked_bot_at is null

),

ghosts as (

    select recent_users.*

    from recent_users
    -- a lookup in the reactions' user index per recent user: as `not exists`, the planner
    -- expected a send within the first rows and scanned the 10M reactions for each ghost
    left join lateral (
        select 1 as was_sent
        from reactions
        where reactions.user_id = recent_users.user_id
        limit 1  -- noqa: AM09
    ) as any_send on true
    where
        any_send.was_sent is null
        and not exists (
            select 1 from blocked_deep_links
            where recent_users.deep_link like blocked_deep_links.deep_link_pattern
        )

),

final as (

    select
        user_id,
        created_at,
        deep_link,
        age_sec,
        case
            when age_sec > {{ var('ghost_users_error_age_minutes') }} * 60 then 'error'
            else 'warn'
        end as ghost_window,
        {{ build_timestamp() }} as checked_at

    from ghosts

)

select * from final
