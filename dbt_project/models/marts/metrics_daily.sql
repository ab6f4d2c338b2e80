{#
    The north star per UTC day: memes per session (sessions by their start day), like rate,
    active and new users, and D1 / D7 retention of the day's new users (first session that
    day; retained when they have a session 1 / 7 days later). Retention of a day less than
    1 / 7 days before the build is NULL (not known yet).
#}

with sessions as not materialized (

    select * from {{ ref('fct_sessions') }}

),

-- Each session with its user's first active day, then one row per user with the two flags:
-- one sort of the sessions by user instead of the distinct (user, day) pairs, their per-user
-- minimum and two joins back to the pairs (select 1.15 -> 1.0 s for 621k sessions).
sessions_with_first_day as (

    select
        user_id,
        session_date,
        min(session_date) over (partition by user_id) as first_activity_date

    from sessions

),

user_retention as (

    select
        user_id,
        first_activity_date,
        bool_or(session_date = first_activity_date + 1) as is_retained_d1,
        bool_or(session_date = first_activity_date + 7) as is_retained_d7

    from sessions_with_first_day
    group by user_id, first_activity_date

),

retention as (

    select
        first_activity_date as metric_date,
        count(*) as count_new_users,
        count(*) filter (where is_retained_d1) as count_retained_d1,
        count(*) filter (where is_retained_d7) as count_retained_d7

    from user_retention
    group by first_activity_date

),

per_day as (

    select
        session_date as metric_date,
        count(*) as count_sessions,
        count(distinct user_id) as count_active_users,
        sum(count_memes) as count_reactions,
        sum(count_likes) as count_likes

    from sessions
    group by session_date

),

final as (

    select
        per_day.metric_date,
        per_day.count_sessions::integer as count_sessions,
        per_day.count_active_users::integer as count_active_users,
        per_day.count_reactions::integer as count_reactions,
        (per_day.count_reactions::double precision / per_day.count_sessions) as memes_per_session,
        (per_day.count_likes::double precision / nullif(per_day.count_reactions, 0)) as like_rate,
        coalesce(retention.count_new_users, 0)::integer as count_new_users,
        case
            when per_day.metric_date + 1 < ({{ build_timestamp() }} at time zone 'UTC')::date
                then retention.count_retained_d1::double precision
                    / nullif(retention.count_new_users, 0)
        end as d1_retention,
        case
            when per_day.metric_date + 7 < ({{ build_timestamp() }} at time zone 'UTC')::date
                then retention.count_retained_d7::double precision
                    / nullif(retention.count_new_users, 0)
        end as d7_retention

    from per_day
    left join retention
        on per_day.metric_date = retention.metric_date

)

select * from final
