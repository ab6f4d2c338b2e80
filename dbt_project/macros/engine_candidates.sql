{#
    The shared tail of a candidate engine. The model defines `ranked_memes` (meme_id,
    meme_source_id, language_code, base_score, language_position: 1..n per language by the
    engine's global order) and calls this macro, which, for each user this build rebuilds
    (int_candidate_users.needs_build) and each language the user reads:

    1. takes the first var('engine_pool_size') unsent memes of the ranking
       (macros/unsent_ranking_heads.sql), reading at most var('engine_pool_max_slots')
       positions into it. The pool is larger than the engine's share so that a per-user
       re-scoring, and the per-user tie-break among equal scores, have memes to choose from;
    2. scores the pool with `score_expression`, which may use the pool's columns (those of
       `ranked_memes` named above, and user_id; no others are carried into the pool) and
       `affinity.source_affinity` (the user's like rate on the meme's source with a 1/1
       prior: 0.5 when unrated) and, when `user_source_weights` names a CTE (user_id,
       meme_source_id, source_weight), that;
    3. keeps the top var('engine_candidates_per_user') per user, ties broken per user.

    Only users whose maturity stage gives the engine a weight in seeds/engine_weights.csv get
    its candidates (and moderators get less_seen's): giving an engine a weight in another
    stage is all it takes to build it for that stage too.
#}
{% macro engine_candidates(engine, score_expression='pool.base_score', user_source_weights=none) %}

{%- set uses_affinity = 'affinity.' in score_expression %}
{%- set pool_size = var('engine_pool_size') %}

-- Only the users whose blend can use the engine: a candidate no blend picks is wasted work.
-- Not materialized although read twice: a materialized CTE has no column statistics,
-- and the planner's default guesses for its joins were off by 300x and picked sorts of
-- tens of millions of rows.
candidate_users as not materialized (

    select * from {{ ref('int_candidate_users') }}
    where needs_build and {{ engine_serves_user(engine) }}

),

user_languages as (

    select * from {{ ref('stg_app__user_language') }}

),

-- The sends of every user this build rebuilds: the heads keep the engine's users. Joined to
-- the engine's users here, the sends were estimated at under a hundred rows for 400k, and the
-- planner hashed them instead of the few thousand memes of the ranking.
user_sends as not materialized (

    select * from {{ ref('int_candidate_user_sends') }}

),

{% if uses_affinity -%}
-- Each user's source affinities as two arrays sorted by source, joined once per head and
-- carried on its pool rows: a pool row finds its source by binary search (width_bucket). A
-- hash join of the 7.8M pool rows of a full build to 2.8M (user, source) rows spilled to disk
-- and missed the cache on every probe (12 of an engine's 42 s).
-- Only the users of this build, through the (user_id, meme_source_id) index: a join (hash
-- joins only, see dbt_project.yml) read all 4.3M rows at full size for 170k.
user_source_affinities as (

    select
        user_meme_source_stats.user_id,
        array_agg(
            user_meme_source_stats.meme_source_id::double precision
            order by user_meme_source_stats.meme_source_id
        ) as source_ids,
        array_agg(
            (user_meme_source_stats.nlikes + 1.0::double precision)
            / (user_meme_source_stats.nlikes + user_meme_source_stats.ndislikes + 2.0::double precision)
            order by user_meme_source_stats.meme_source_id
        ) as affinities

    from {{ ref('user_meme_source_stats') }} as user_meme_source_stats
    where user_meme_source_stats.user_id = any(array(select user_id from candidate_users))
    group by user_meme_source_stats.user_id

),

{% endif -%}

user_heads as (

    select
        user_languages.user_id,
        user_languages.language_code,
        least(
            {{ pool_size }} + candidate_users.nmemes_sent, {{ var('engine_pool_max_slots') }}
        ) as max_prefix,
        {{ pool_size }} as pool_size
        {%- if uses_affinity %},
        user_source_affinities.source_ids,
        user_source_affinities.affinities
        {%- endif %}

    from user_languages
    inner join candidate_users
        on user_languages.user_id = candidate_users.user_id
    {%- if uses_affinity %}
    left join user_source_affinities
        on user_languages.user_id = user_source_affinities.user_id
    {%- endif %}

),

-- The base score as double precision: a model's literal (1.0 / (1 + n)) makes it numeric, and
-- numeric values carried through the pool's arrays cost 2 of the 12-13 s of a full build's
-- engine select; the score is a double precision anyway.
ranked_memes_typed as (

    select
        meme_id,
        meme_source_id,
        language_code,
        base_score::double precision as base_score,
        language_position

    from ranked_memes

),

{{ unsent_ranking_heads(
    'pool', 'ranked_memes_typed', 'user_heads', 'user_sends', ['meme_source_id', 'base_score'],
    head_columns=['source_ids', 'affinities'] if uses_affinity else [],
    max_position=var('engine_pool_max_slots'),
) }},

scored as (

    select
        pool.user_id,
        pool.meme_id,
        '{{ engine }}' as engine,
        (
            {{ score_expression }}
        )::double precision as score

    from pool
    {%- if user_source_weights %}
    left join {{ user_source_weights }}
        on
            pool.user_id = {{ user_source_weights }}.user_id
            and pool.meme_source_id = {{ user_source_weights }}.meme_source_id
    {%- endif %}
    {%- if uses_affinity %}
    -- the last source id <= the meme's: the meme's own if the user rated it
    cross join lateral (
        select
            width_bucket(
                pool.meme_source_id::double precision, pool.source_ids
            ) as source_index
    ) as source_lookup
    -- a 1/1 prior: 0.5 for a source the user never rated
    cross join lateral (
        select
            case
                when
                    pool.source_ids[source_lookup.source_index] = pool.meme_source_id
                    then pool.affinities[source_lookup.source_index]
                else 0.5::double precision
            end as source_affinity
    ) as affinity
    {%- endif %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by user_id
            order by score desc nulls last, {{ per_user_tiebreak('user_id', 'meme_id') }}
        )::integer as engine_rank

    from scored

),

final as (

    select
        user_id::bigint as user_id,
        meme_id::bigint as meme_id,
        engine::text as engine,
        score,
        engine_rank

    from ranked
    where engine_rank <= {{ var('engine_candidates_per_user') }}

)

select * from final

{% endmacro %}


{#
    Whether a user of int_candidate_users is served by `engine`: the user's maturity stage gives
    the engine a weight in seeds/engine_weights.csv, or the engine is less_seen and the user a
    moderator (user_candidates gives moderators their least-sent share at every stage).

    The stages are read from the seed when the model runs and written in as literals: as a
    subquery the planner guessed one weight row and 0.5% of the users (311 of 62k at full
    size), and planned the per-user pools for a few hundred rows where there were millions.
#}
{% macro engine_serves_user(engine) -%}
    {#- a unit test's fixed rows are a CTE of the test's query, which run_query cannot read #}
    {%- set read_stages = execute and not (ref('engine_weights') | string).startswith('__dbt__cte__') -%}
    {%- if read_stages -%}
        {%- set stages_query -%}
            select distinct maturity_stage from {{ ref('engine_weights') }}
            where engine = '{{ engine }}' and weight > 0
            order by maturity_stage
        {%- endset -%}
        {%- set stages = run_query(stages_query).columns[0].values() -%}
    {%- endif -%}
    (
        {%- if not read_stages %}
        maturity_stage in (
            select engine_weights.maturity_stage from {{ ref('engine_weights') }} as engine_weights
            where engine_weights.engine = '{{ engine }}' and engine_weights.weight > 0
        )
        {%- elif stages | length > 0 %}
        maturity_stage in (
            {%- for stage in stages %}
            '{{ stage | replace("'", "''") }}'{{ ',' if not loop.last }}
            {%- endfor %}
        )
        {%- else %}
        false
        {%- endif %}
        {%- if engine == 'less_seen' %}
        or is_moderator
        {%- endif %}
    )
{%- endmacro %}
