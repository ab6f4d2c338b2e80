{#
    Reacted sends with the user's session: a new session starts at the user's first reaction
    and whenever the gap since the previous reaction (by reacted_at) is at least
    var('session_gap_minutes'). Unreacted sends are not part of any session.

    Incremental, per user from a resume point: for each user with a reaction since the
    watermark, the earliest changed moment is the earliest new reacted_at or the previous
    reacted_at of a changed row (a reaction re-made later leaves its old place). Sessions that
    ended before it cannot change, so the rows from the start of the session holding the user's
    last reaction before that moment are recomputed, numbered on from the sessions before it;
    the reaction before that start gives the first recomputed row its gap and the count of
    active days it carries on from (user_active_day_number). Work follows the new
    reactions, not the user's history. Of the recomputed rows only those that are new or
    differ from the stored row are written (a reaction appended to a session changes the
    session's previous last row and nothing else before it); rows of one session may so carry
    different sessionised_at, and fct_sessions rebuilds each user's sessions from the earliest
    written row's session on.
#}

{#
    Indexes: (user_id, reacted_at) finds a user's resume point and last rows; (user_id,
    meme_id) the rows a build replaces; (sessionised_at, reacted_at) the rows of a build and
    this model's watermark, one index descent even after a full build.
#}
{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'meme_id'],
        incremental_strategy='sorted_delete_insert',
        on_schema_change='fail',
        post_hook=[
            "{{ index_once('user_id, reacted_at') }}",
            "{{ index_once('user_id, meme_id', unique=true) }}",
            "{{ index_once('sessionised_at, reacted_at') }}",
        ],
    )
}}

with reactions as not materialized (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

{% if is_incremental() %}

changed_reactions as (

    select
        user_id,
        meme_id,
        reacted_at

    from reactions
    where
        reacted_at > {{ latest_build_watermark(
            'reacted_at', 'sessionised_at', var('incremental_lookback_minutes')
        ) }}

),

changed_users as (

    select
        changed_reactions.user_id,
        min(least(changed_reactions.reacted_at, previous.reacted_at)) as earliest_changed_at

    from changed_reactions
    left join {{ this }} as previous
        on
            changed_reactions.user_id = previous.user_id
            and changed_reactions.meme_id = previous.meme_id
    group by changed_reactions.user_id

),

resume_points as (

    select
        changed_users.user_id,
        coalesce(last_before.session_started_at, '-infinity'::timestamptz) as resume_at,
        coalesce(last_before.session_number - 1, 0) as sessions_before,
        before_resume.reacted_at as reacted_before_resume_at,
        coalesce(before_resume.user_active_day_number, 0) as active_days_before

    from changed_users
    left join lateral (
        select
            previous.session_started_at,
            previous.session_number

        from {{ this }} as previous
        where
            previous.user_id = changed_users.user_id
            and previous.reacted_at < changed_users.earliest_changed_at
        order by previous.reacted_at desc, previous.meme_id desc
        limit 1
    ) as last_before on true
    left join lateral (
        select
            previous.reacted_at,
            previous.user_active_day_number

        from {{ this }} as previous
        where
            previous.user_id = changed_users.user_id
            and previous.reacted_at < last_before.session_started_at
        order by previous.reacted_at desc, previous.meme_id desc
        limit 1
    ) as before_resume on true

),

user_reactions as (

    select
        user_tail.*,
        resume_points.sessions_before,
        resume_points.reacted_before_resume_at,
        resume_points.active_days_before

    from resume_points
    -- lateral: each user's tail is a range of the app's (user_id, reacted_at) index; as a
    -- join the planner sorted all 10M reactions for a merge join instead
    cross join lateral (
        select reactions.*

        from reactions
        where
            reactions.user_id = resume_points.user_id
            and reactions.reacted_at >= resume_points.resume_at
        -- keeps the subquery from being flattened back into that join
        offset 0  -- noqa: AM09
    ) as user_tail

),

{% else %}

user_reactions as (

    select
        *,
        0 as sessions_before,
        null::timestamptz as reacted_before_resume_at,
        0 as active_days_before

    from reactions

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
        sessions_before,
        reacted_before_resume_at,
        active_days_before,
        extract(epoch from reacted_at - sent_at)::double precision as reaction_time_sec

    from user_reactions
    where is_reacted

),

with_gaps as (

    select
        *,
        coalesce(
            lag(reacted_at) over (partition by user_id order by reacted_at, meme_id),
            reacted_before_resume_at
        ) as previous_reacted_at

    from reacted

),

flagged as (

    select
        *,
        extract(epoch from reacted_at - previous_reacted_at)::double precision
            as sec_since_previous_reaction,
        coalesce(
            extract(epoch from reacted_at - previous_reacted_at)
            >= {{ var('session_gap_minutes') }} * 60,
            true
        ) as is_session_start,
        coalesce(
            (previous_reacted_at at time zone 'UTC')::date
            <> (reacted_at at time zone 'UTC')::date,
            true
        ) as is_first_reaction_of_day

    from with_gaps

),

numbered as (

    select
        *,
        sessions_before + sum(case when is_session_start then 1 else 0 end) over (
            partition by user_id
            order by reacted_at, meme_id
            rows between unbounded preceding and current row
        )::integer as session_number,
        active_days_before + sum(case when is_first_reaction_of_day then 1 else 0 end) over (
            partition by user_id
            order by reacted_at, meme_id
            rows between unbounded preceding and current row
        )::integer as user_active_day_number

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
        user_active_day_number,
        {{ build_timestamp() }} as sessionised_at

    from numbered
    window user_session as (partition by user_id, session_number)

)

{% if is_incremental() %},

{#- every column of a row except its build stamp: a row is written when one of them changed #}
{%- set compared_columns = [
    'session_id', 'session_number', 'session_started_at', 'position_in_session',
    'is_session_continued', 'is_session_start', 'recommended_by', 'reaction_id', 'is_liked',
    'sent_at', 'reacted_at', 'reaction_time_sec', 'sec_since_previous_reaction',
    'user_active_day_number',
] %}

-- Unchanged rows are not rewritten: deleting and re-inserting them under four indexes was
-- most of this model's incremental time (a session of 30 rows rewritten for one new row).
-- A written row keeps what the row it replaces counted (previous_*), so that
-- metrics_engine_daily can move its counts by the difference.
written as (

    select
        final.*,
        stored.sessionised_at as previous_sessionised_at,
        stored.is_session_continued as previous_is_session_continued

    from final
    left join lateral (
        select
            {%- for column in compared_columns %}
            stored.{{ column }},
            {%- endfor %}
            stored.sessionised_at

        from {{ this }} as stored
        where stored.user_id = final.user_id and stored.meme_id = final.meme_id
        -- one row by the unique key; the limit keeps it an index lookup per row
        limit 1  -- noqa: AM09
    ) as stored on true
    where
        (
            {%- for column in compared_columns %}
            final.{{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
        ) is distinct from (
            {%- for column in compared_columns %}
            stored.{{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
        )

)

select * from written

{% else %}

-- No row replaced a counted one as far as this build knows: previous_sessionised_at is the
-- build itself, which tells an incremental metrics_engine_daily to recount these days whole.
select
    final.*,
    {{ build_timestamp() }} as previous_sessionised_at,
    null::boolean as previous_is_session_continued

from final

{% endif %}
