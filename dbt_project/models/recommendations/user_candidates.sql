{#
    The bot's per-user feed: the engines of var('blend_engines') blended by the user's maturity
    stage (cold_start < var('maturity_growing_min_sends') sends <= growing <
    var('maturity_mature_min_sends') <= mature) with the weights of seeds/engine_weights.csv.

    - The i-th candidate of an engine with weight w gets blend position (i - 1 + offset) / w,
      so each engine fills weight / (sum of weights) of the list while all have candidates and
      the others fill in when one runs out. The offset in [0, 1) is a hash of the user, the
      engine and the user's sends: deterministic for the same data, different per user (the
      anchor's blender used one fixed seed for everybody).
    - The best candidate of the stage's is_first_slot engine is rank 1 (the anchor's fixed_pos).
    - Moderators and admins: less_seen gets the weight that makes it
      var('moderator_least_sent_share') of the list.
    - The fallback (the user's languages, then other languages) follows every engine
      candidate, so the list is never empty while an unsent servable meme exists.
    - A meme appears once per user (the best-placed engine keeps it); rank is 1..n.

    Incremental per user: a build replaces the lists of int_candidate_users.needs_build and
    drops those of app users no longer eligible, in one transaction (the bot never sees a user
    without a list); every other list stays as the build that made it (built_at). The delete
    finds both through the key index's leading user_id (a `not in` over all 6M rows took
    0.9 s at full size); a user removed from app.user is a correction, which the next build
    handles with a full refresh (docs/ops.md).

    One parallel worker (the profile's connections have none, see memefeed/dbt_env.py): every
    other model of a build has finished when this one runs, so one of the two cores of the
    benchmark machine would otherwise sit idle. An incremental build selects into a temporary
    table, which can use it (the users are split between the two processes); a full build
    inserts into the contract's table, which PostgreSQL 15 plans without workers.

    Indexes: a unique index on the key (user_id, meme_id) serves the bot's read of one user's
    list (at most var('candidates_per_user') rows, sorted by rank) and the delete. It is built
    after a full build's insert rather than declared as the contract's primary key, which
    PostgreSQL maintains row by row during the insert (6.2M rows: 12.9 s with the key, 5.3 s
    without it and 2.3 s to build the index after); the key test checks the index. No unique
    index on (user_id, rank): every rebuilt list reuses ranks 1..n, so such an index finds each
    new row's key on a row this transaction just deleted and reads that row to see it is gone
    (0.7 s of the 2 s insert at full size, on the build's serial tail); the data test checks
    (user_id, rank) on the lists each build writes. The partial index on the first rows gives
    int_candidate_users each list's built_at without reading whole lists.
#}

-- the pre-hook's:
-- depends_on: {{ ref('stg_app__user') }}

{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=[
            "set local max_parallel_workers_per_gather = 1",
            "{% if is_incremental() %}
            delete from {{ this }}
            where user_id = any(array(
                select user_id from {{ ref('int_candidate_users') }} where needs_build
                union all
                select users.user_id from {{ ref('stg_app__user') }} as users
                where not exists (
                    select 1 from {{ ref('int_candidate_users') }} as candidate_users
                    where candidate_users.user_id = users.user_id
                )
            ))
            {% endif %}",
        ],
        post_hook=[
            "{{ index_once('user_id, meme_id', unique=true) }}",
            "{{ index_once('built_at') }}",
            "{{ index_once('user_id, built_at', where='rank = 1') }}",
        ],
    )
}}

{% set blend_engines = var('blend_engines') %}

with

{% for engine in blend_engines %}
candidates_{{ engine }} as (

    select * from {{ ref('candidates_' ~ engine) }}

),

{% endfor %}

fallback_candidates as not materialized (

    select * from {{ ref('candidates_fallback') }}

),

engine_weights as not materialized (

    select * from {{ ref('engine_weights') }}

),

candidate_users as not materialized (

    select * from {{ ref('int_candidate_users') }}
    where needs_build

),

user_profiles as not materialized (

    select
        user_id,
        nmemes_sent,
        maturity_stage,
        is_moderator

    from candidate_users

),

stage_weights as not materialized (

    select
        maturity_stage,
        engine,
        weight,
        is_first_slot

    from engine_weights
    where weight > 0

),

-- Each user's list is blended on its own (a lateral subquery per user): the user's candidate
-- rows come from the engines' user_id indexes (engine_candidates_index in
-- macros/engine_candidates.sql) and are deduplicated and ranked by two sorts of a few
-- hundred rows in memory. Blending every user in one statement sorted all 11.3M candidate
-- rows by (user_id, meme_id) on disk first (the select 14.7 s alone at full size; per user
-- 10.5 s, the index builds 1.5 s on the engines' parallel stage).
ranked as (

    select
        user_profiles.user_id,
        user_list.meme_id,
        user_list.engine,
        user_list.score,
        user_list.candidate_rank

    from user_profiles
    cross join lateral (
        select
            deduplicated.meme_id,
            deduplicated.engine,
            deduplicated.score,
            row_number() over (
                order by
                    deduplicated.blend_tier,
                    deduplicated.blend_position,
                    deduplicated.is_first_slot desc,
                    {{ per_user_tiebreak('user_profiles.user_id', 'deduplicated.meme_id') }}
            ) as candidate_rank

        from (
            select
                blended.*,
                row_number() over (
                    partition by blended.meme_id
                    order by
                        blended.blend_tier,
                        blended.blend_position,
                        blended.is_first_slot desc,
                        blended.engine
                ) as engine_preference

            from (
                select
                    engine_candidates.meme_id,
                    engine_candidates.engine,
                    engine_candidates.score,
                    1 as blend_tier,
                    case
                        when user_weights.is_first_slot and engine_candidates.engine_rank = 1
                            then 0
                        else
                            (
                                engine_candidates.engine_rank - 1
                                + {{ blend_offset(
                                    'user_profiles.user_id',
                                    'user_weights.engine',
                                    'user_profiles.nmemes_sent',
                                ) }}
                            )
                            / user_weights.weight
                    end as blend_position,
                    user_weights.is_first_slot and engine_candidates.engine_rank = 1
                        as is_first_slot

                from (
                    {% for engine in blend_engines %}
                    select
                        candidates.meme_id,
                        candidates.engine,
                        candidates.score,
                        candidates.engine_rank

                    from candidates_{{ engine }} as candidates
                    where candidates.user_id = user_profiles.user_id
                    {% if not loop.last %}

                    union all

                    {% endif %}
                    {% endfor %}
                ) as engine_candidates
                inner join (
                    -- the stage's weights; a moderator's less_seen weight makes it
                    -- var('moderator_least_sent_share') of the list
                    select
                        stage_weights.engine,
                        stage_weights.weight,
                        stage_weights.is_first_slot

                    from stage_weights
                    where
                        stage_weights.maturity_stage = user_profiles.maturity_stage
                        and not (user_profiles.is_moderator and stage_weights.engine = 'less_seen')

                    union all

                    select
                        'less_seen' as engine,
                        {{ var('moderator_least_sent_share') }}
                        / (1 - {{ var('moderator_least_sent_share') }})
                        * coalesce(
                            (
                                select sum(other_weights.weight)
                                from stage_weights as other_weights
                                where
                                    other_weights.maturity_stage = user_profiles.maturity_stage
                                    and other_weights.engine <> 'less_seen'
                            ),
                            1
                        ) as weight,
                        false as is_first_slot

                    where user_profiles.is_moderator
                ) as user_weights
                    on engine_candidates.engine = user_weights.engine

                union all

                select
                    fallback_candidates.meme_id,
                    fallback_candidates.engine,
                    fallback_candidates.score,
                    2 as blend_tier,
                    fallback_candidates.engine_rank::double precision as blend_position,
                    false as is_first_slot

                from fallback_candidates
                where fallback_candidates.user_id = user_profiles.user_id
            ) as blended
        ) as deduplicated
        where deduplicated.engine_preference = 1
    ) as user_list

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
