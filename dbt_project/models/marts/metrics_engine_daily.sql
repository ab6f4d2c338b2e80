{#
    Each engine's continuation rate per UTC day of sending: the share of the memes it placed
    after which the session went on (the user reacted to them and then to another meme in the
    same session). An unreacted send counts as a stop. Also the engine's like rate.

    Incremental by difference: the rows int_reactions_scored and int_reactions_sessionised
    wrote since the watermark carry what the rows they replaced counted (previous_*), so each
    changed day and engine moves by (new - previous) over those rows only, instead of
    re-reading whole days (late reactions reach back across dozens of days). A day with a
    replaced row this model never counted (a reaction model built twice in between, or fully
    refreshed alone) is recounted from all its sends.
#}

{{
    config(
        materialized='incremental',
        unique_key=['metric_date', 'engine'],
        incremental_strategy='sorted_delete_insert',
        on_schema_change='fail',
        post_hook=[
            "{{ index_once('metric_date, engine', unique=true) }}",
        ],
    )
}}

with scored_reactions as not materialized (

    select * from {{ ref('int_reactions_scored') }}

),

sessionised as not materialized (

    select * from {{ ref('int_reactions_sessionised') }}

),

{% if is_incremental() %}

{%- set watermark = incremental_watermark('computed_at') %}

rescored as (

    select
        recommended_by,
        (sent_at at time zone 'UTC')::date as metric_date,
        is_reacted,
        is_liked,
        previous_scored_at,
        previous_is_liked,
        previous_is_disliked

    from scored_reactions
    where scored_at > {{ watermark }}

),

resessionised as (

    select
        recommended_by,
        (sent_at at time zone 'UTC')::date as metric_date,
        is_session_continued,
        previous_sessionised_at,
        previous_is_session_continued

    from sessionised
    where sessionised_at > {{ watermark }}

),

-- Rows whose replaced version was written after this model's last build: their previous
-- values were never counted here, so their days are counted again from scratch.
recount_days as (

    select metric_date
    from rescored
    where previous_scored_at > {{ watermark }}

    union

    select metric_date
    from resessionised
    where previous_sessionised_at > {{ watermark }}

),

send_changes as (

    select
        recommended_by as engine,
        metric_date,
        count(*) filter (where previous_scored_at is null) as change_sends,
        sum(
            is_reacted::integer
            - coalesce(previous_is_liked or previous_is_disliked, false)::integer
        ) as change_reactions,
        sum(is_liked::integer - coalesce(previous_is_liked, false)::integer) as change_likes

    from rescored
    where metric_date not in (select recount_days.metric_date from recount_days)
    group by recommended_by, metric_date

),

continuation_changes as (

    select
        recommended_by as engine,
        metric_date,
        sum(
            is_session_continued::integer
            - coalesce(previous_is_session_continued, false)::integer
        ) as change_continued

    from resessionised
    where metric_date not in (select recount_days.metric_date from recount_days)
    group by recommended_by, metric_date

),

changed_keys as (

    select
        metric_date,
        engine
    from send_changes

    union

    select
        metric_date,
        engine
    from continuation_changes

),

moved as (

    select
        changed_keys.metric_date,
        changed_keys.engine,
        coalesce(stored.count_sends, 0) + coalesce(send_changes.change_sends, 0)
            as count_sends,
        coalesce(stored.count_reactions, 0) + coalesce(send_changes.change_reactions, 0)
            as count_reactions,
        coalesce(stored.count_likes, 0) + coalesce(send_changes.change_likes, 0)
            as count_likes,
        coalesce(stored.count_continued, 0)
        + coalesce(continuation_changes.change_continued, 0) as count_continued

    from changed_keys
    left join {{ this }} as stored
        on
            changed_keys.metric_date = stored.metric_date
            and changed_keys.engine = stored.engine
    left join send_changes
        on
            changed_keys.metric_date = send_changes.metric_date
            and changed_keys.engine = send_changes.engine
    left join continuation_changes
        on
            changed_keys.metric_date = continuation_changes.metric_date
            and changed_keys.engine = continuation_changes.engine

),

-- A day to recount as a range of sent_at. Rare (a reaction model built without this one),
-- so the reaction models keep no sent_at index for it: an index write per rescored row costs
-- every build, a scan of the two tables only the builds that recount.
day_sends as (

    select scored_reactions.*

    from recount_days
    inner join scored_reactions
        on
            scored_reactions.sent_at >= recount_days.metric_date::timestamp at time zone 'UTC'
            and scored_reactions.sent_at
            < (recount_days.metric_date + 1)::timestamp at time zone 'UTC'

),

day_sessionised as (

    select sessionised.*

    from recount_days
    inner join sessionised
        on
            sessionised.sent_at >= recount_days.metric_date::timestamp at time zone 'UTC'
            and sessionised.sent_at < (recount_days.metric_date + 1)::timestamp at time zone 'UTC'

),

{% else %}

day_sends as (

    select * from scored_reactions

),

day_sessionised as (

    select * from sessionised

),

{% endif %}

-- Sends and continuations are counted apart and joined per day and engine: a sessionised row
-- is a reacted send with the same sent_at and recommended_by, and joining the two per send
-- hashed one of the 10M-row tables.
sends_per_engine_and_day as (

    select
        recommended_by as engine,
        (sent_at at time zone 'UTC')::date as metric_date,
        count(*) as count_sends,
        count(*) filter (where is_reacted) as count_reactions,
        count(*) filter (where is_liked) as count_likes

    from day_sends
    group by recommended_by, (sent_at at time zone 'UTC')::date

),

continued_per_engine_and_day as (

    select
        recommended_by as engine,
        (sent_at at time zone 'UTC')::date as metric_date,
        count(*) as count_continued

    from day_sessionised
    where is_session_continued
    group by recommended_by, (sent_at at time zone 'UTC')::date

),

counted as (

    select
        sends_per_engine_and_day.metric_date,
        sends_per_engine_and_day.engine,
        sends_per_engine_and_day.count_sends,
        sends_per_engine_and_day.count_reactions,
        sends_per_engine_and_day.count_likes,
        coalesce(continued_per_engine_and_day.count_continued, 0) as count_continued

    from sends_per_engine_and_day
    left join continued_per_engine_and_day
        on
            sends_per_engine_and_day.metric_date = continued_per_engine_and_day.metric_date
            and sends_per_engine_and_day.engine = continued_per_engine_and_day.engine

),

per_engine_and_day as (

    select * from counted
    {%- if is_incremental() %}

    union all

    select * from moved
    {%- endif %}

),

final as (

    select
        metric_date,
        engine,
        count_sends::integer as count_sends,
        count_reactions::integer as count_reactions,
        count_likes::integer as count_likes,
        count_continued::integer as count_continued,
        (count_continued::double precision / count_sends) as continuation_rate,
        (count_likes::double precision / nullif(count_reactions, 0)) as like_rate,
        {{ build_timestamp() }} as computed_at

    from per_engine_and_day

)

select * from final
