{#
    Stats per user, for every user (users without sends get zeros). Sessions come from
    int_reactions_sessionised; unlike the anchor bot every session counts, one-reaction
    sessions included, so nsessions and median_session_length describe the same sessions.
#}

with users as (

    select * from {{ ref('stg_app__user') }}

),

reactions as (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

sessionised as (

    select * from {{ ref('int_reactions_sessionised') }}

),

send_counts as (

    select
        user_id,
        count(*) filter (where is_liked) as nlikes,
        count(*) filter (where is_disliked) as ndislikes,
        count(*) as nmemes_sent

    from reactions
    group by user_id

),

session_lengths as (

    select
        user_id,
        session_number,
        count(*) as count_reactions

    from sessionised
    group by user_id, session_number

),

session_summary as (

    select
        user_id,
        count(*) as nsessions,
        percentile_cont(0.5) within group (order by count_reactions) as median_session_length

    from session_lengths
    group by user_id

),

activity as (

    select
        user_id,
        sum(sec_since_previous_reaction) filter (
            where sec_since_previous_reaction < {{ var('time_spent_max_gap_seconds') }}
        ) as time_spent_sec,
        count(distinct (reacted_at at time zone 'UTC')::date) as active_days_count,
        min(reacted_at) as first_reaction_at,
        max(reacted_at) as last_reaction_at

    from sessionised
    group by user_id

),

invites as (

    select
        inviter_user_id as user_id,
        count(*) as invited_users

    from users
    where inviter_user_id is not null
    group by inviter_user_id

),

final as (

    select
        users.user_id,
        coalesce(send_counts.nlikes, 0)::integer as nlikes,
        coalesce(send_counts.ndislikes, 0)::integer as ndislikes,
        coalesce(send_counts.nmemes_sent, 0)::integer as nmemes_sent,
        coalesce(session_summary.nsessions, 0)::integer as nsessions,
        coalesce(session_summary.median_session_length, 0)::double precision
            as median_session_length,
        round(coalesce(activity.time_spent_sec, 0))::integer as time_spent_sec,
        coalesce(activity.active_days_count, 0)::integer as active_days_count,
        activity.first_reaction_at,
        activity.last_reaction_at,
        coalesce(invites.invited_users, 0)::integer as invited_users,
        {{ build_timestamp() }} as updated_at

    from users
    left join send_counts
        on users.user_id = send_counts.user_id
    left join session_summary
        on users.user_id = session_summary.user_id
    left join activity
        on users.user_id = activity.user_id
    left join invites
        on users.user_id = invites.user_id

)

select * from final
