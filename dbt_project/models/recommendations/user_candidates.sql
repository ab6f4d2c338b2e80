{#
    The bot's per-user feed: the engines blended by the user's maturity stage.

    - main engines (tier 1): the i-th candidate of an engine gets blend position i / weight,
      where exploration's weight is var('exploration_share')[stage] and lr_smoothed's is the
      rest, so exploration takes about that share of the list while both have candidates and
      either fills the list when the other runs out;
    - fallback (tier 2) follows every main-engine candidate: the user's languages first, then
      other languages, so the list is never empty while an unseen servable meme exists;
    - a meme appears once per user (the best-placed engine keeps it); rank is 1..n per user.
#}

with lr_smoothed_candidates as (

    select * from {{ ref('candidates_lr_smoothed') }}

),

exploration_candidates as (

    select * from {{ ref('candidates_exploration') }}

),

fallback_candidates as (

    select * from {{ ref('candidates_fallback') }}

),

user_stats as (

    select * from {{ ref('user_stats') }}

),

user_stages as (

    select
        user_id,
        case
            when nmemes_sent >= {{ var('maturity_mature_min_sends') }} then 'mature'
            when nmemes_sent >= {{ var('maturity_growing_min_sends') }} then 'growing'
            else 'cold_start'
        end as maturity_stage

    from user_stats

),

user_exploration_shares as (

    select
        user_id,
        case maturity_stage
            {%- for stage, share in var('exploration_share').items() %}
            when '{{ stage }}' then {{ share }}
            {%- endfor %}
        end::double precision as exploration_share

    from user_stages

),

engine_candidates as (

    select
        lr_smoothed_candidates.user_id,
        lr_smoothed_candidates.meme_id,
        lr_smoothed_candidates.engine,
        lr_smoothed_candidates.score,
        1 as blend_tier,
        lr_smoothed_candidates.engine_rank
        / greatest(1 - coalesce(user_exploration_shares.exploration_share, 0), 1e-6)
            as blend_position

    from lr_smoothed_candidates
    left join user_exploration_shares
        on lr_smoothed_candidates.user_id = user_exploration_shares.user_id

    union all

    select
        exploration_candidates.user_id,
        exploration_candidates.meme_id,
        exploration_candidates.engine,
        exploration_candidates.score,
        1 as blend_tier,
        exploration_candidates.engine_rank
        / greatest(coalesce(user_exploration_shares.exploration_share, 0), 1e-6)
            as blend_position

    from exploration_candidates
    left join user_exploration_shares
        on exploration_candidates.user_id = user_exploration_shares.user_id

    union all

    select
        user_id,
        meme_id,
        engine,
        score,
        2 as blend_tier,
        engine_rank::double precision as blend_position

    from fallback_candidates

),

deduplicated as (

    select
        *,
        row_number() over (
            partition by user_id, meme_id
            order by blend_tier, blend_position, engine
        ) as engine_preference

    from engine_candidates

),

ranked as (

    select
        user_id,
        meme_id,
        engine,
        score,
        row_number() over (
            partition by user_id
            order by
                blend_tier,
                blend_position,
                {{ per_user_tiebreak('user_id', 'meme_id') }}
        ) as candidate_rank

    from deduplicated
    where engine_preference = 1

),

final as (

    select
        user_id::bigint as user_id,
        meme_id::bigint as meme_id,
        engine::text as engine,
        score::double precision as score,
        candidate_rank::integer as rank,
        {{ build_timestamp() }} as built_at

    from ranked
    where candidate_rank <= {{ var('candidates_per_user') }}

)

select * from final
