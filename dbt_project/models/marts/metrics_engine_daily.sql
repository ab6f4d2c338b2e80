{#
    Each engine's continuation rate per UTC day of sending: the share of the memes it placed
    after which the session went on (the user reacted to them and then to another meme in the
    same session). An unreacted send counts as a stop. Also the engine's like rate.

    Incremental per day: the days of the sends rescored (a new send or reaction) or
    re-sessionised (a later reaction continues an earlier meme's session) since the watermark
    are recomputed from all their sends; other days cannot change.
#}

{{
    config(
        materialized='incremental',
        unique_key=['metric_date', 'engine'],
        incremental_strategy='delete+insert',
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

-- Found through the indexes on the build stamps; a handful of days per build.
changed_days as (

    select distinct (sent_at at time zone 'UTC')::date as metric_date
    from scored_reactions
    where scored_at > {{ incremental_watermark('computed_at') }}

    union

    select distinct (sent_at at time zone 'UTC')::date as metric_date
    from sessionised
    where sessionised_at > {{ incremental_watermark('computed_at') }}

),

-- A day as a range of sent_at, which the indexes on sent_at read; a filter on the date
-- expression reads all 10M rows.
day_sends as (

    select scored_reactions.*

    from changed_days
    inner join scored_reactions
        on
            scored_reactions.sent_at >= changed_days.metric_date::timestamp at time zone 'UTC'
            and scored_reactions.sent_at
            < (changed_days.metric_date + 1)::timestamp at time zone 'UTC'

),

day_sessionised as (

    select sessionised.*

    from changed_days
    inner join sessionised
        on
            sessionised.sent_at >= changed_days.metric_date::timestamp at time zone 'UTC'
            and sessionised.sent_at < (changed_days.metric_date + 1)::timestamp at time zone 'UTC'

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

per_engine_and_day as (

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

final as (

    select
        metric_date,
        engine,
        count_sends::integer as count_sends,
        count_reactions::integer as count_reactions,
        count_continued::integer as count_continued,
        (count_continued::double precision / count_sends) as continuation_rate,
        (count_likes::double precision / nullif(count_reactions, 0)) as like_rate,
        {{ build_timestamp() }} as computed_at

    from per_engine_and_day

)

select * from final
