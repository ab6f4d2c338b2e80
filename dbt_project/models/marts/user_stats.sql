{#
    Stats per user, for every user (users without sends get zeros): the reaction figures of
    the incremental int_user_reaction_stats plus invites, which are cheap to recompute.
#}

with users as not materialized (

    select * from {{ ref('stg_app__user') }}

),

reaction_stats as not materialized (

    select * from {{ ref('int_user_reaction_stats') }}

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
        coalesce(reaction_stats.nlikes, 0)::integer as nlikes,
        coalesce(reaction_stats.ndislikes, 0)::integer as ndislikes,
        coalesce(reaction_stats.nmemes_sent, 0)::integer as nmemes_sent,
        coalesce(reaction_stats.nsessions, 0)::integer as nsessions,
        coalesce(reaction_stats.median_session_length, 0)::double precision
            as median_session_length,
        coalesce(reaction_stats.time_spent_sec, 0)::integer as time_spent_sec,
        coalesce(reaction_stats.active_days_count, 0)::integer as active_days_count,
        reaction_stats.first_reaction_at,
        reaction_stats.last_reaction_at,
        reaction_stats.last_sent_at,
        coalesce(invites.invited_users, 0)::integer as invited_users,
        {{ build_timestamp() }} as updated_at

    from users
    left join reaction_stats
        on users.user_id = reaction_stats.user_id
    left join invites
        on users.user_id = invites.user_id

)

select * from final
