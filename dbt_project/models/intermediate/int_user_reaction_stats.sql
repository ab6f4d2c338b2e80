{#
    The reaction figures of each user ever sent a meme: sends, likes, sessions, the median
    session length, time in the feed and active days. Unlike the anchor every session counts,
    one-reaction sessions included, so nsessions and median_session_length describe the same
    sessions. Incremental: users with rescored sends or rebuilt sessions since the watermark.
#}

{{
    config(
        materialized='incremental',
        unique_key='user_id',
        incremental_strategy='sorted_delete_insert',
        on_schema_change='fail',
        post_hook=[
            "{{ index_once('user_id', unique=true) }}",
        ],
    )
}}

with scored_reactions as not materialized (

    select * from {{ ref('int_reactions_scored') }}

),

sessionised as not materialized (

    select * from {{ ref('int_reactions_sessionised') }}

),

sessions as not materialized (

    select * from {{ ref('fct_sessions') }}

),

{% if is_incremental() %}

changed_users as (

    select user_id
    from scored_reactions
    where scored_at > {{ incremental_watermark('computed_at') }}

    union

    select user_id
    from sessions
    where sessionised_at > {{ incremental_watermark('computed_at') }}

),

{% else %}

users as not materialized (

    select * from {{ ref('stg_app__user') }}

),

-- Every user: the lookups below drop those never sent a meme. The users table, not the
-- distinct users of the sends: the planner has its statistics, and on a guess of 200 users it
-- joined 100k users' sessions to 100k users by a nested loop (164 s).
changed_users as (

    select user_id from users

),

{% endif %}

-- The running totals on the user's last scored row and first and last sessionised rows: three
-- index lookups per user instead of re-reading the user's history (which, for the active
-- users an incremental build touches, is a third of all sends).
send_counts as (

    select
        changed_users.user_id,
        (last_send.user_running_reaction_count + last_send.user_running_like_sum) / 2
            as nlikes,
        (last_send.user_running_reaction_count - last_send.user_running_like_sum) / 2
            as ndislikes,
        last_send.user_running_send_count as nmemes_sent,
        last_send.sent_at as last_sent_at

    from changed_users
    cross join lateral (
        select
            scored_reactions.user_running_reaction_count,
            scored_reactions.user_running_like_sum,
            scored_reactions.user_running_send_count,
            scored_reactions.sent_at

        from scored_reactions
        where scored_reactions.user_id = changed_users.user_id
        order by scored_reactions.sent_at desc, scored_reactions.meme_id desc
        limit 1
    ) as last_send

),

-- per user through fct_sessions' user_id index: as a join, the planner merged the users with
-- every session in the table (632k at full size) for the few thousand users of a build
session_summary as (

    select
        changed_users.user_id,
        user_sessions.nsessions,
        user_sessions.median_session_length,
        user_sessions.time_spent_sec

    from changed_users
    cross join lateral (
        select
            count(*) as nsessions,
            percentile_cont(0.5) within group (order by sessions.count_memes)
                as median_session_length,
            sum(sessions.time_spent_sec) as time_spent_sec

        from sessions
        where sessions.user_id = changed_users.user_id
    ) as user_sessions

),

activity as (

    select
        changed_users.user_id,
        last_reaction.user_active_day_number as active_days_count,
        first_reaction.reacted_at as first_reaction_at,
        last_reaction.reacted_at as last_reaction_at

    from changed_users
    cross join
        lateral (
            select
                sessionised.reacted_at,
                sessionised.user_active_day_number

            from sessionised
            where sessionised.user_id = changed_users.user_id
            order by sessionised.reacted_at desc, sessionised.meme_id desc
            limit 1
        ) as last_reaction
    cross join lateral (
        select sessionised.reacted_at

        from sessionised
        where sessionised.user_id = changed_users.user_id
        order by sessionised.reacted_at asc, sessionised.meme_id asc
        limit 1
    ) as first_reaction

),

final as (

    select
        send_counts.user_id,
        send_counts.nlikes::integer as nlikes,
        send_counts.ndislikes::integer as ndislikes,
        send_counts.nmemes_sent::integer as nmemes_sent,
        send_counts.last_sent_at,
        coalesce(session_summary.nsessions, 0)::integer as nsessions,
        coalesce(session_summary.median_session_length, 0)::double precision
            as median_session_length,
        round(coalesce(session_summary.time_spent_sec, 0))::integer as time_spent_sec,
        coalesce(activity.active_days_count, 0)::integer as active_days_count,
        activity.first_reaction_at,
        activity.last_reaction_at,
        {{ build_timestamp() }} as computed_at

    from send_counts
    left join session_summary
        on send_counts.user_id = session_summary.user_id
    left join activity
        on send_counts.user_id = activity.user_id

)

select * from final
