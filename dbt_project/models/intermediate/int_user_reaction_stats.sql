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
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            "{{ index_once('user_id', unique=true) }}",
        ],
    )
}}

with scored_reactions as (

    select * from {{ ref('int_reactions_scored') }}

),

sessionised as (

    select * from {{ ref('int_reactions_sessionised') }}

),

sessions as (

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

changed_users as (

    select distinct user_id from scored_reactions

),

{% endif %}

send_counts as (

    select
        scored_reactions.user_id,
        count(*) filter (where scored_reactions.is_liked) as nlikes,
        count(*) filter (where scored_reactions.is_disliked) as ndislikes,
        count(*) as nmemes_sent,
        max(scored_reactions.sent_at) as last_sent_at

    from scored_reactions
    inner join changed_users
        on scored_reactions.user_id = changed_users.user_id
    group by scored_reactions.user_id

),

session_summary as (

    select
        sessions.user_id,
        count(*) as nsessions,
        percentile_cont(0.5) within group (order by sessions.count_memes)
            as median_session_length,
        sum(sessions.time_spent_sec) as time_spent_sec

    from sessions
    inner join changed_users
        on sessions.user_id = changed_users.user_id
    group by sessions.user_id

),

activity as (

    select
        sessionised.user_id,
        count(distinct(sessionised.reacted_at at time zone 'UTC')::date) as active_days_count,
        min(sessionised.reacted_at) as first_reaction_at,
        max(sessionised.reacted_at) as last_reaction_at

    from sessionised
    inner join changed_users
        on sessionised.user_id = changed_users.user_id
    group by sessionised.user_id

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
