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

with scored_reactions as (

    select * from {{ ref('int_reactions_scored') }}

),

sessionised as (

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

day_sends as (

    select scored_reactions.*

    from scored_reactions
    where
        (scored_reactions.sent_at at time zone 'UTC')::date in (
            select changed_days.metric_date from changed_days
        )

),

day_sessionised as (

    select sessionised.*

    from sessionised
    where
        (sessionised.sent_at at time zone 'UTC')::date in (
            select changed_days.metric_date from changed_days
        )

),

{% else %}

day_sends as (

    select * from scored_reactions

),

day_sessionised as (

    select * from sessionised

),

{% endif %}

sends as (

    select
        day_sends.recommended_by as engine,
        (day_sends.sent_at at time zone 'UTC')::date as metric_date,
        day_sends.is_reacted,
        day_sends.is_liked,
        coalesce(day_sessionised.is_session_continued, false) as is_session_continued

    from day_sends
    left join day_sessionised
        on
            day_sends.user_id = day_sessionised.user_id
            and day_sends.meme_id = day_sessionised.meme_id

),

per_engine_and_day as (

    select
        metric_date,
        engine,
        count(*) as count_sends,
        count(*) filter (where is_reacted) as count_reactions,
        count(*) filter (where is_liked) as count_likes,
        count(*) filter (where is_session_continued) as count_continued

    from sends
    group by metric_date, engine

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
