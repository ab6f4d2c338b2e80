{#
    One row per session (a run of a user's reactions with gaps under
    var('session_gap_minutes')): the north star's unit. Incremental: int_reactions_sessionised
    writes the rows that changed since the watermark; for each user with such rows, the
    sessions from the earliest changed one on are deleted first (a re-made reaction can merge
    or split sessions, so numbers may shift) and rebuilt from all of their rows, which start at
    that session's start.
#}

{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=[
            "{% if is_incremental() %}
            delete from {{ this }} as sessions
            using (
                select user_id, min(session_number) as first_rebuilt_session_number
                from {{ ref('int_reactions_sessionised') }}
                where sessionised_at > {{ incremental_watermark('sessionised_at') }}
                group by user_id
            ) as rebuilt
            where
                sessions.user_id = rebuilt.user_id
                and sessions.session_number >= rebuilt.first_rebuilt_session_number
            {% endif %}",
        ],
        post_hook=[
            "{{ index_once('user_id') }}",
            "{{ index_once('sessionised_at') }}",
        ],
    )
}}

with sessionised as not materialized (

    select * from {{ ref('int_reactions_sessionised') }}

),

{% if is_incremental() %}

-- The start of each changed user's earliest changed session: sessions are runs in reacted_at
-- order, so that session and every later one hold exactly the user's rows from there on.
rebuilt_users as (

    select
        user_id,
        min(session_started_at) as rebuilt_from

    from sessionised
    where sessionised_at > {{ incremental_watermark('sessionised_at') }}
    group by user_id

),

user_reactions as (

    select user_rows.*

    from rebuilt_users
    -- lateral: a range of the (user_id, reacted_at) index per user
    cross join lateral (
        select sessionised.*

        from sessionised
        where
            sessionised.user_id = rebuilt_users.user_id
            and sessionised.reacted_at >= rebuilt_users.rebuilt_from
        -- keeps the subquery from being flattened back into a join
        offset 0  -- noqa: AM09
    ) as user_rows

),

{% else %}

user_reactions as (

    select * from sessionised

),

{% endif %}

per_session as (

    select
        user_id,
        session_number,
        min(reacted_at) as started_at,
        max(reacted_at) as ended_at,
        count(*) as count_memes,
        count(*) filter (where is_liked) as count_likes,
        coalesce(sum(sec_since_previous_reaction) filter (
            where not is_session_start
            and sec_since_previous_reaction < {{ var('time_spent_max_gap_seconds') }}
        ), 0) as time_spent_sec,
        max(sessionised_at) as sessionised_at

    from user_reactions
    group by user_id, session_number

),

final as (

    select
        -- named here, once per session, rather than on each reaction of int_reactions_sessionised
        -- (9.5M rows at full size: 5% of that model's full build)
        user_id::text || '-' || session_number::text as session_id,
        user_id,
        session_number,
        started_at,
        ended_at,
        (started_at at time zone 'UTC')::date as session_date,
        {{ seconds_between('started_at', 'ended_at') }} as duration_sec,
        count_memes::integer as count_memes,
        count_likes::integer as count_likes,
        time_spent_sec::double precision as time_spent_sec,
        sessionised_at

    from per_session

)

select * from final
