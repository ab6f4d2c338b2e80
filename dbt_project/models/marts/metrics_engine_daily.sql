{#
    Each engine's continuation rate per UTC day of sending: the share of the memes it placed
    after which the session went on (the user reacted to them and then to another meme in the
    same session). An unreacted send counts as a stop. Also the engine's like rate.
#}

with scored_reactions as (

    select * from {{ ref('int_reactions_scored') }}

),

sessionised as (

    select * from {{ ref('int_reactions_sessionised') }}

),

sends as (

    select
        scored_reactions.recommended_by as engine,
        (scored_reactions.sent_at at time zone 'UTC')::date as metric_date,
        scored_reactions.is_reacted,
        scored_reactions.is_liked,
        coalesce(sessionised.is_session_continued, false) as is_session_continued

    from scored_reactions
    left join sessionised
        on
            scored_reactions.user_id = sessionised.user_id
            and scored_reactions.meme_id = sessionised.meme_id

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
        (count_likes::double precision / nullif(count_reactions, 0)) as like_rate

    from per_engine_and_day

)

select * from final
