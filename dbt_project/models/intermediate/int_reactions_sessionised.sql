{#
    Reacted sends with the user's session: a new session starts at the user's first reaction
    and whenever the gap since the previous reaction (by reacted_at) is at least
    var('session_gap_minutes'). Unreacted sends are not part of any session.

    Incremental: every reacted row of a user with a reaction since the watermark is
    recomputed (a user's sessions are numbered from the first).
#}

{{
    config(
        materialized='incremental',
        unique_key='user_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=[
            "create index if not exists {{ this.name }}_user_idx on {{ this }} (user_id)",
            "create index if not exists {{ this.name }}_sessionised_at_idx"
            ~ " on {{ this }} (sessionised_at)",
        ],
    )
}}

with reactions as (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

{% if is_incremental() %}

changed_users as (

    select distinct user_id

    from reactions
    where
        reacted_at
        > {{ incremental_watermark('last_reacted_at', var('incremental_lookback_minutes')) }}

),

user_reactions as (

    select reactions.*

    from reactions
    inner join changed_users
        on reactions.user_id = changed_users.user_id

),

{% else %}

user_reactions as (

    select * from reactions

),

{% endif %}

reacted as (

    select
        user_id,
        meme_id,
        recommended_by,
        reaction_id,
        is_liked,
        sent_at,
        reacted_at,
        extract(epoch from reacted_at - sent_at)::double precision as reaction_time_sec

    from user_reactions
    where is_reacted

),

with_gaps as (

    select
        *,
        extract(
            epoch from reacted_at - lag(reacted_at) over (
                partition by user_id order by reacted_at, meme_id
            )
        )::double precision as sec_since_previous_reaction

    from reacted

),

flagged as (

    select
        *,
        coalesce(
            sec_since_previous_reaction >= {{ var('session_gap_minutes') }} * 60, true
        ) as is_session_start

    from with_gaps

),

numbered as (

    select
        *,
        sum(case when is_session_start then 1 else 0 end) over (
            partition by user_id
            order by reacted_at, meme_id
            rows between unbounded preceding and current row
        )::integer as session_number

    from flagged

),

final as (

    select
        user_id,
        meme_id,
        user_id::text || '-' || session_number::text as session_id,
        session_number,
        min(reacted_at) over user_session as session_started_at,
        row_number() over (
            partition by user_id, session_number order by reacted_at, meme_id
        )::integer as position_in_session,
        -- the user reacted to another meme in the same session after this one
        coalesce(
            lead(session_number) over (partition by user_id order by reacted_at, meme_id)
            = session_number,
            false
        ) as is_session_continued,
        is_session_start,
        recommended_by,
        reaction_id,
        is_liked,
        sent_at,
        reacted_at,
        reaction_time_sec,
        sec_since_previous_reaction,
        max(reacted_at) over (partition by user_id) as last_reacted_at,
        {{ build_timestamp() }} as sessionised_at

    from numbered
    window user_session as (partition by user_id, session_number)

)

select * from final
