{#
    Reacted sends with the user's session: a new session starts at the user's first reaction
    and whenever the gap since the previous reaction (by reacted_at) is at least
    var('session_gap_minutes'). Unreacted sends are not part of any session. A session is
    (user_id, session_number); fct_sessions gives it its text id, once per session.

    Incremental, per user from a resume point: for each user with a reaction since the
    watermark, the earliest changed moment is the earliest new reacted_at or the previous
    reacted_at of a changed row (a reaction re-made later leaves its old place). The user's
    last stored reaction before that moment (the resume row) cannot change except for
    is_session_continued; the rows after it are recomputed, carrying on from the resume row's
    session number, session start, position and active days, so the work follows the new
    reactions, not the user's history or the length of the session they extend. Of the
    recomputed rows (the resume row included) only those that are new or differ from the
    stored row are written (a reaction appended to a session changes the session's previous
    last row and nothing else before it); rows of one session may so carry different
    sessionised_at, and fct_sessions rebuilds each user's sessions from the earliest written
    row's session on.

    Every window runs over one order, (user_id, reacted_at, meme_id): the session start is the
    running latest start and the position counts from it, so no second sort by session; and a
    row's continuation is the next row's gap, so two window passes, not three.
#}

{#
    Indexes: (user_id, reacted_at) finds a user's resume point and last rows; (user_id,
    meme_id) the rows a build replaces; (sessionised_at) the rows of a build (this model's
    watermark, max(reacted_at) over those rows, is recorded by each build:
    macros/build_watermarks.sql).
#}
{{
    config(
        materialized='incremental',
        unlogged=true,
        unique_key=['user_id', 'meme_id'],
        incremental_strategy='sorted_delete_insert',
        on_schema_change='fail',
        post_hook=[
            "{{ declare_once(not_null=[
                'user_id', 'meme_id', 'session_number', 'is_session_continued', 'reacted_at',
            ]) }}",
            "{{ index_once('user_id, reacted_at') }}",
            "{{ index_once('user_id, meme_id', unique=true) }}",
            "{{ index_once('sessionised_at') }}",
            "{{ analyze_once() }}",
            "{{ record_build_watermark('reacted_at', 'sessionised_at') }}",
        ],
    )
}}

{#- false after a crash emptied this unlogged table: see macros/builds_incrementally.sql #}
{%- set builds_on_stored_rows = builds_incrementally() %}

{#- the resume columns of a row recomputed from the app's reactions (see resume_points) #}
{%- set no_resume_row -%}
    false as is_resumed,
        null::integer as resume_session_number,
        null::timestamptz as resume_session_started_at,
        null::integer as resume_position_in_session,
        null::boolean as resume_is_session_start,
        null::double precision as resume_sec_since_previous_reaction,
        null::integer as resume_user_active_day_number
{%- endset %}

with reactions as not materialized (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

{% if builds_on_stored_rows %}

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
    -- A lookup per changed reaction in the key index. As a join, once the table had
    -- statistics (as autovacuum gives it, or a full build's analyze_once), the planner
    -- hashed the 100k changed reactions and scanned all 9.5M rows: the select 11.3-15.0 s
    -- against 4.7-5.0 s at full size.
    left join lateral (
        select stored.reacted_at

        from {{ this }} as stored
        where
            stored.user_id = changed_reactions.user_id
            and stored.meme_id = changed_reactions.meme_id
        -- one row by the unique key; the limit keeps it an index lookup per row
        limit 1  -- noqa: AM09
    ) as previous on true
    group by changed_reactions.user_id

),

-- the user's last stored reaction before the earliest change, with what the rows after it
-- carry on from
resume_points as (

    select
        changed_users.user_id,
        resume_row.*

    from changed_users
    left join lateral (
        select
            previous.meme_id as resume_meme_id,
            previous.recommended_by as resume_recommended_by,
            previous.reaction_id as resume_reaction_id,
            previous.is_liked as resume_is_liked,
            previous.sent_at as resume_sent_at,
            previous.reacted_at as resume_reacted_at,
            previous.session_number as resume_session_number,
            previous.session_started_at as resume_session_started_at,
            previous.position_in_session as resume_position_in_session,
            previous.is_session_start as resume_is_session_start,
            previous.sec_since_previous_reaction as resume_sec_since_previous_reaction,
            previous.user_active_day_number as resume_user_active_day_number

        from {{ this }} as previous
        where
            previous.user_id = changed_users.user_id
            and previous.reacted_at < changed_users.earliest_changed_at
        order by previous.reacted_at desc, previous.meme_id desc
        limit 1
    ) as resume_row on true

),

user_reactions as (

    -- the resume row as stored (is_resumed): the first row of its user's window
    select
        user_id,
        resume_meme_id as meme_id,
        resume_recommended_by as recommended_by,
        resume_reaction_id as reaction_id,
        resume_is_liked as is_liked,
        resume_sent_at as sent_at,
        resume_reacted_at as reacted_at,
        true as is_resumed,
        resume_session_number,
        resume_session_started_at,
        resume_position_in_session,
        resume_is_session_start,
        resume_sec_since_previous_reaction,
        resume_user_active_day_number

    from resume_points
    where resume_reacted_at is not null

    union all

    select
        user_tail.user_id,
        user_tail.meme_id,
        user_tail.recommended_by,
        user_tail.reaction_id,
        user_tail.is_liked,
        user_tail.sent_at,
        user_tail.reacted_at,
        {{ no_resume_row }}

    from resume_points
    -- lateral: each user's tail is a range of the app's (user_id, reacted_at) index; as a
    -- join the planner sorted all 10M reactions for a merge join instead
    cross join lateral (
        select reactions.*

        from reactions
        where
            reactions.user_id = resume_points.user_id
            and reactions.is_reacted
            and reactions.reacted_at
            >= coalesce(resume_points.resume_reacted_at, '-infinity'::timestamptz)
            and (
                resume_points.resume_reacted_at is null
                or (reactions.reacted_at, reactions.meme_id)
                > (resume_points.resume_reacted_at, resume_points.resume_meme_id)
            )
        -- keeps the subquery from being flattened back into that join
        offset 0  -- noqa: AM09
    ) as user_tail

),

{% else %}

user_reactions as (

    select
        user_id,
        meme_id,
        recommended_by,
        reaction_id,
        is_liked,
        sent_at,
        reacted_at,
        {{ no_resume_row }}

    from reactions
    where is_reacted

),

{% endif %}

with_gaps as (

    select
        *,
        {{ seconds_between('sent_at', 'reacted_at') }} as reaction_time_sec,
        lag(reacted_at) over user_order as previous_reacted_at,
        lead(reacted_at) over user_order as next_reacted_at,
        row_number() over user_order as user_row_number,
        {% if builds_on_stored_rows -%}
        -- the resume row comes first in its user's window: what the others carry on from
        coalesce(first_value(resume_session_number) over user_order, 0) as sessions_before,
        coalesce(first_value(resume_user_active_day_number) over user_order, 0)
            as active_days_before
        {%- else -%}
        -- no resume rows: every user starts from nothing (two window functions less per row,
        -- 6% of a full build's select at full size)
        0 as sessions_before,
        0 as active_days_before
        {%- endif %}

    from user_reactions
    window user_order as (
        partition by user_id
        order by reacted_at, meme_id
        rows between unbounded preceding and current row
    )

),

flagged as (

    select
        *,
        case
            when is_resumed then resume_sec_since_previous_reaction
            else {{ seconds_between('previous_reacted_at', 'reacted_at') }}
        end as sec_since_previous_reaction,
        case
            when is_resumed then resume_is_session_start
            else
                coalesce(
                    reacted_at - previous_reacted_at
                    >= interval '1 minute' * {{ var('session_gap_minutes') }},
                    true
                )
        end as is_session_start,
        not is_resumed and coalesce(
            (previous_reacted_at at time zone 'UTC')::date
            <> (reacted_at at time zone 'UTC')::date,
            true
        ) as is_first_reaction_of_day

    from with_gaps

),

numbered as (

    select
        *,
        sessions_before + (
            sum(case when is_session_start and not is_resumed then 1 else 0 end) over user_order
        )::integer as session_number,
        active_days_before + (
            sum(case when is_first_reaction_of_day then 1 else 0 end) over user_order
        )::integer as user_active_day_number,
        -- the row number at which the row's session started (for the resume row: where its
        -- stored position puts that start), the latest so far
        max(
            case
                when is_resumed then user_row_number - resume_position_in_session + 1
                when is_session_start then user_row_number
            end
        ) over user_order as session_start_row_number,
        max(
            case
                when is_resumed then resume_session_started_at
                when is_session_start then reacted_at
            end
        ) over user_order as session_started_at

    from flagged
    window user_order as (
        partition by user_id
        order by reacted_at, meme_id
        rows between unbounded preceding and current row
    )

),

final as (

    select
        user_id,
        meme_id,
        session_number,
        session_started_at,
        (user_row_number - session_start_row_number + 1)::integer as position_in_session,
        -- the user reacted to another meme in the same session after this one: the next
        -- reaction did not start a session (the resume row is first in its user's window, so
        -- the next row's start is always its gap). From the gap, not the next row's session
        -- number, which took a third window pass: a full build's select 35.2-36.4 s with it,
        -- 30.5-32.2 s without (9.5M rows, the same values).
        coalesce(
            next_reacted_at - reacted_at < interval '1 minute' * {{ var('session_gap_minutes') }},
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

)

{% if builds_on_stored_rows %},

{#- every column of a row except its build stamp: a row is written when one of them changed #}
{%- set compared_columns = [
    'session_number', 'session_started_at', 'position_in_session',
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
    where {{ columns_differ('final', 'stored', compared_columns) }}

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
