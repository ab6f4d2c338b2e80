{#
    One row per session (a run of a user's reactions with gaps under
    var('session_gap_minutes')): the north star's unit. Incremental: every session of a user
    whose reactions were re-sessionised since the watermark is rebuilt.
#}

{{
    config(
        materialized='incremental',
        unique_key='user_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            "create index if not exists {{ this.name }}_user_idx on {{ this }} (user_id)",
        ],
    )
}}

with sessionised as (

    select * from {{ ref('int_reactions_sessionised') }}

),

{{ rows_of_changed_keys('user_reactions', 'sessionised', 'user_id', 'sessionised_at', 'sessionised_at') }}

per_session as (

    select
        session_id,
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
    group by session_id, user_id, session_number

),

final as (

    select
        session_id,
        user_id,
        session_number,
        started_at,
        ended_at,
        (started_at at time zone 'UTC')::date as session_date,
        extract(epoch from ended_at - started_at)::double precision as duration_sec,
        count_memes::integer as count_memes,
        count_likes::integer as count_likes,
        time_spent_sec::double precision as time_spent_sec,
        sessionised_at

    from per_session

)

select * from final
