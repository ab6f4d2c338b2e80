{#
    The shared tail of a candidate engine. The model defines `ranked_memes` (meme_id,
    meme_source_id, language_code, base_score, language_position: 1..n per language by the
    engine's global order) and calls this macro, which, for each user this build rebuilds
    (int_candidate_users.needs_build) and each language the user reads (a head):

    1. takes the first var('engine_pool_size') memes of the ranking the user was not sent,
       reading at most var('engine_pool_max_slots') positions into it (and no further than
       the pool size plus the user's sends: every send inside the head must be skipped). The
       pool is larger than the engine's share so that a per-user re-scoring, and the per-user
       tie-break among equal scores, have memes to choose from;
    2. scores the pool with `score_expression`, which may use the pool's columns (those of
       `ranked_memes` named above, and user_id; no others are carried into the pool) and
       `affinity.source_affinity` (the user's like rate on the meme's source with a 1/1
       prior: 0.5 when unrated) and, when `user_source_weights` names a CTE (user_id,
       meme_source_id, source_weight), `user_source_weights.source_weight` (null for a source
       the CTE has no row for);
    3. keeps the top `candidate_limit` of each head, then of each user (a user with several
       languages has a head per language), ties broken per user: var('engine_candidates_per_user'),
       or fewer where the engine's share of the user's list is small (engine_candidate_limit).

    How: each ranking is one row of arrays in position order, and a head is a slice of them,
    unnested, scored and cut to its top inside one lateral subquery per head (a top-N sort of
    about pool-size rows). The memes the user was sent inside the ranking are one sorted array
    per head, and a pool row is found among them by binary search (width_bucket). Work per
    head follows the pool and the user's sends in the ranking, not the catalogue or the
    user's history. The previous form, every pool row of every head sorted by user and score
    and an anti-join for the heads holding sends, took 10.1-12.2 s of an engine's full-build
    select where this takes 7.9-9.4 (candidates_best_uploaded_memes, 58.5k heads, 1.9M
    candidates).

    Only users whose maturity stage gives the engine a weight in seeds/engine_weights.csv get
    its candidates (and moderators get less_seen's): giving an engine a weight in another
    stage is all it takes to build it for that stage too.
#}
{% macro engine_candidates(engine, score_expression='pool.base_score', user_source_weights=none) %}

{%- set uses_affinity = 'affinity.' in score_expression %}
{%- set pool_size = var('engine_pool_size') %}
{%- set max_position = var('engine_pool_max_slots') %}

-- Only the users whose blend can use the engine: a candidate no blend picks is wasted work.
-- Not materialized although read twice: a materialized CTE has no column statistics,
-- and the planner's default guesses for its joins were off by 300x and picked sorts of
-- tens of millions of rows.
candidate_users as not materialized (

    select
        candidate_user.*,
        {{ engine_candidate_limit(engine, 'candidate_user') }} as candidate_limit

    from {{ ref('int_candidate_users') }} as candidate_user
    where candidate_user.needs_build and {{ engine_serves_user(engine) }}

),

user_languages as (

    select * from {{ ref('stg_app__user_language') }}

),

user_sends as not materialized (

    select * from {{ ref('int_candidate_user_sends') }}

),

{% if uses_affinity -%}
-- Each user's source affinities as two arrays sorted by source, joined once per head: a pool
-- row finds its source by binary search (width_bucket). A hash join of the 7.8M pool rows of
-- a full build to 2.8M (user, source) rows spilled to disk and missed the cache on every
-- probe (12 of an engine's 42 s).
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

{% if user_source_weights -%}
-- the model's per-user source weights as sorted arrays, looked up like the affinities
user_source_weight_arrays as (

    select
        user_id,
        array_agg(meme_source_id::double precision order by meme_source_id) as weight_source_ids,
        array_agg(source_weight::double precision order by meme_source_id) as source_weights

    from {{ user_source_weights }}
    group by user_id

),

{% endif -%}

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
    where language_position <= {{ max_position }}

),

-- one row per language: element i of each array is the meme at position i
rankings as (

    select
        language_code,
        array_agg(meme_id order by language_position) as meme_ids,
        array_agg(meme_source_id order by language_position) as meme_source_ids,
        array_agg(base_score order by language_position) as base_scores

    from ranked_memes_typed
    group by language_code

),

-- The sends of the ranking's memes. The `in` first keeps only the sends of ranked memes: a
-- CTE's columns have no statistics, so the planner took the ranking's meme_id for 200
-- distinct values, and hashed the 6.6M sends of a full build rather than the ranking's few
-- thousand memes (2.0 s against 1.3 s per engine).
sends_in_ranking as materialized (

    select
        user_sends.user_id,
        user_sends.meme_id,
        ranked_memes_typed.language_code

    from user_sends
    inner join ranked_memes_typed
        on user_sends.meme_id = ranked_memes_typed.meme_id
    where user_sends.meme_id in (select ranked_memes_typed.meme_id from ranked_memes_typed)

),

-- per head, the memes sent inside the ranking, sorted for the binary search
head_sends as (

    select
        user_id,
        language_code,
        array_agg(meme_id order by meme_id) as sent_meme_ids

    from sends_in_ranking
    group by user_id, language_code

),

heads as (

    select
        user_languages.user_id,
        candidate_users.candidate_limit,
        -- the pool's memes and the user's sends inside them lie within this many positions
        least(
            {{ pool_size }} + coalesce(cardinality(head_sends.sent_meme_ids), 0), {{ max_position }}
        ) as head_length,
        head_sends.sent_meme_ids,
        rankings.meme_ids,
        rankings.meme_source_ids,
        rankings.base_scores
        {%- if uses_affinity %},
        user_source_affinities.source_ids,
        user_source_affinities.affinities
        {%- endif %}
        {%- if user_source_weights %},
        user_source_weight_arrays.weight_source_ids,
        user_source_weight_arrays.source_weights
        {%- endif %}

    from user_languages
    inner join candidate_users
        on user_languages.user_id = candidate_users.user_id
    inner join rankings
        on user_languages.language_code = rankings.language_code
    left join head_sends
        on
            user_languages.user_id = head_sends.user_id
            and user_languages.language_code = head_sends.language_code
    {%- if uses_affinity %}
    left join user_source_affinities
        on user_languages.user_id = user_source_affinities.user_id
    {%- endif %}
    {%- if user_source_weights %}
    left join user_source_weight_arrays
        on user_languages.user_id = user_source_weight_arrays.user_id
    {%- endif %}

),

head_tops as (

    select
        heads.user_id,
        heads.candidate_limit,
        head_top.meme_id,
        head_top.score

    from heads
    cross join lateral (
        select
            pool.meme_id,
            (
                {{ score_expression }}
            )::double precision as score

        from (
            select
                heads.user_id,
                head.meme_id,
                head.meme_source_id,
                head.base_score

            from unnest(
                heads.meme_ids[1:heads.head_length],
                heads.meme_source_ids[1:heads.head_length],
                heads.base_scores[1:heads.head_length]
            ) as head (meme_id, meme_source_id, base_score)
            -- not sent: the last sent meme id <= this one is another meme (or none is)
            where
                heads.sent_meme_ids[coalesce(width_bucket(head.meme_id, heads.sent_meme_ids), 0)]
                is distinct from head.meme_id
            -- unnest returns the slice in position order: the first unsent memes
            limit {{ pool_size }}
        ) as pool
        {%- if uses_affinity %}
        -- a 1/1 prior: 0.5 for a source the user never rated
        {{ sorted_array_lookup(
            'affinity', 'source_affinity', 'pool.meme_source_id::double precision',
            'heads.source_ids', 'heads.affinities', default='0.5::double precision',
        ) }}
        {%- endif %}
        {%- if user_source_weights %}
        {{ sorted_array_lookup(
            'user_source_weights', 'source_weight', 'pool.meme_source_id::double precision',
            'heads.weight_source_ids', 'heads.source_weights',
        ) }}
        {%- endif %}
        order by score desc nulls last, {{ per_user_tiebreak('heads.user_id', 'pool.meme_id') }}
        limit heads.candidate_limit
    ) as head_top

),

ranked as (

    select
        *,
        row_number() over (
            partition by user_id
            order by score desc nulls last, {{ per_user_tiebreak('user_id', 'meme_id') }}
        )::integer as engine_rank

    from head_tops

),

final as (

    select
        user_id::bigint as user_id,
        meme_id::bigint as meme_id,
        '{{ engine }}'::text as engine,
        score,
        engine_rank

    from ranked
    where engine_rank <= candidate_limit

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


{#
    How many candidates `engine` offers a user of int_candidate_users (columns of `users`):
    var('engine_share_slack') times the engine's share of the list in the user's maturity
    stage (its weight over the stage's total in seeds/engine_weights.csv, times
    var('candidates_per_user')), rounded up, and at most var('engine_candidates_per_user'). The
    blend places an engine's i-th candidate at (i - 1 + offset) / weight, so the list reaches
    an engine's candidates beyond its share only when repeats of memes other engines placed
    first leave gaps: with a slack of 2, more than half of its candidates would have to be
    such repeats before the list changes, and then the other engines fill in as when one runs
    out. Candidates past that were sorted, stored and read by the blend for nothing: at full
    size the engines wrote 16.0M rows for 6.2M list rows, 11.4M with this limit, and every
    list stayed the same.

    Moderators get less_seen's full var('engine_candidates_per_user') (user_candidates gives
    them var('moderator_least_sent_share') of the list). Literals read from the seed when the
    model runs, as in engine_serves_user; a unit test's seed is a CTE, read by a subquery.
#}
{% macro engine_candidate_limit(engine, users) -%}
    {%- set most = var('engine_candidates_per_user') | int -%}
    {%- set slack = var('engine_share_slack') -%}
    {%- set list_length = var('candidates_per_user') -%}
    {%- set read_shares = execute and not (ref('engine_weights') | string).startswith('__dbt__cte__') -%}
    {%- set share_query -%}
        select
            engine_weights.maturity_stage,
            engine_weights.weight / stage_weights.total_weight as share

        from {{ ref('engine_weights') }} as engine_weights
        inner join (
            select
                maturity_stage,
                sum(weight) as total_weight

            from {{ ref('engine_weights') }}
            where weight > 0
            group by maturity_stage
        ) as stage_weights
            on engine_weights.maturity_stage = stage_weights.maturity_stage
        where engine_weights.engine = '{{ engine }}' and engine_weights.weight > 0
    {%- endset -%}
    {%- set branches = [] -%}
    {%- if engine == 'less_seen' -%}
        {%- do branches.append('when ' ~ users ~ '.is_moderator then ' ~ most) -%}
    {%- endif -%}
    {%- if read_shares -%}
        {%- for stage, share in run_query(share_query).rows -%}
            {%- do branches.append(
                'when ' ~ users ~ ".maturity_stage = '" ~ (stage | replace("'", "''")) ~ "' then "
                ~ ([most, (slack * list_length * share) | round(0, 'ceil') | int] | min)
            ) -%}
        {%- endfor -%}
    {%- else -%}
        {%- do branches.append(
            'when ' ~ users ~ '.maturity_stage is not null then coalesce(('
            ~ ' select least(' ~ most ~ ', ceil(' ~ slack ~ ' * ' ~ list_length
            ~ ' * shares.share))::integer from (' ~ share_query ~ ') as shares'
            ~ ' where shares.maturity_stage = ' ~ users ~ '.maturity_stage), ' ~ most ~ ')'
        ) -%}
    {%- endif -%}
    {%- if branches | length > 0 -%}
        (case
            {%- for branch in branches %}
            {{ branch }}
            {%- endfor %}
            else {{ most }}
        end)
    {%- else -%}
        {{ most }}
    {%- endif -%}
{%- endmacro %}


{#
    A lateral subquery `alias` with one column `column`: the element of the array `values` at
    the position of `key` in the sorted array `keys`, found by binary search (width_bucket
    gives the position of the last key <= `key`), or `default` when `keys` does not hold `key`.
    Per row a lookup in arrays carried on the row's head, where a join to a (user, key) table
    would hash or probe millions of rows.
#}
{% macro sorted_array_lookup(alias, column, key, keys, values, default=none) -%}
cross join lateral (
            select
                case
                    when {{ keys }}[found.position] = {{ key }} then {{ values }}[found.position]
                    {%- if default is not none %}
                    else {{ default }}
                    {%- endif %}
                end as {{ column }}

            from (select width_bucket({{ key }}, {{ keys }}) as position) as found
        ) as {{ alias }}
{%- endmacro %}

{#
    A post-hook of every model in models/recommendations: indexes an engine's table (and the
    fallback's) by user_id and analyzes it, for user_candidates, which reads each user's
    candidates through these indexes (a lateral subquery per user). Nothing for the other
    models of the folder. The table is rebuilt whole by each build, so the index is too
    (0.1-0.7 s per engine in a full build, on the engines' parallel stage).
#}
{% macro engine_candidates_index() -%}
    {%- if model.name.startswith('candidates_') -%}
        create index on {{ this }} (user_id);
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
