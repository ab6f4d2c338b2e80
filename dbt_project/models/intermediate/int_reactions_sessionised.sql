{#
    Reacted rows with the user's session: a new session starts at the user's first reaction
    and whenever the gap since the previous reaction (by reacted_at) is at least
    var('session_gap_minutes'). Unreacted sends are not part of any session.
#}

with reactions as (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

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

    from reactions
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
        min(reacted_at) over (partition by user_id, session_number) as session_started_at,
        is_session_start,
        recommended_by,
        reaction_id,
        is_liked,
        sent_at,
        reacted_at,
        reaction_time_sec,
        sec_since_previous_reaction

    from numbered

)

select * from final
