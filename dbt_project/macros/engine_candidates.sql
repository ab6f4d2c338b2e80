{#
    The shared tail of a candidate engine. The model defines `ranked_memes` (meme_id,
    meme_source_id, language_code, base_score, language_position: 1..n per language by the
    engine's global order) and calls this macro, which, for each user this build rebuilds
    (int_candidate_users.needs_build) and each language the user reads:

    1. reads the head of the ranking just long enough to hold var('engine_pool_size') memes
       the user was not sent: the pool size plus the user's sends found in the first
       pool size + nmemes_sent positions (no more of them can be sent), at most
       var('engine_pool_max_slots'). Work per user is bounded and follows what the user saw
       of this ranking, not the size of the catalogue or of the user's history;
    2. drops the memes the user was sent (those sends are all inside that prefix);
    3. scores the pool with `score_expression`, which may use `pool.*` and `source_affinity`
       (the user's like rate on the meme's source with a 1/1 prior: 0.5 when unrated) and, when
       `user_source_weights` names a CTE (user_id, meme_source_id, source_weight), that;
    4. keeps the top var('engine_candidates_per_user') per user, ties broken per user.

    `max_user_sends` limits the engine to users sent fewer memes (cold-start engines).
#}
{% macro engine_candidates(
    engine, score_expression='pool.base_score', user_source_weights=none, max_user_sends=none
) %}

candidate_users as (

    select * from {{ ref('int_candidate_users') }}
    where
        needs_build
        {%- if max_user_sends is not none %}
        and nmemes_sent < {{ max_user_sends }}
        {%- endif %}

),

user_languages as (

    select * from {{ ref('stg_app__user_language') }}

),

user_sends as (

    select * from {{ ref('int_candidate_user_sends') }}

),

-- only the users of this build: the whole table is hashed otherwise
user_meme_source_stats as materialized (

    select user_meme_source_stats.*

    from {{ ref('user_meme_source_stats') }} as user_meme_source_stats
    inner join candidate_users
        on user_meme_source_stats.user_id = candidate_users.user_id

),

user_language_prefixes as (

    select
        user_languages.user_id,
        user_languages.language_code,
        least(
            {{ var('engine_pool_size') }} + candidate_users.nmemes_sent,
            {{ var('engine_pool_max_slots') }}
        ) as max_prefix

    from user_languages
    inner join candidate_users
        on user_languages.user_id = candidate_users.user_id

),

-- Sends of memes in the part of the ranking any user may read, joined on the meme first
-- (the planner otherwise pairs every user with every ranked meme of the language).
sends_in_ranking as materialized (

    select
        user_sends.user_id,
        user_sends.meme_id,
        ranked_memes.language_code,
        ranked_memes.language_position

    from user_sends
    inner join ranked_memes
        on user_sends.meme_id = ranked_memes.meme_id
    where ranked_memes.language_position <= {{ var('engine_pool_max_slots') }}

),

sent_in_prefix as materialized (

    select
        sends_in_ranking.user_id,
        sends_in_ranking.meme_id,
        sends_in_ranking.language_code

    from sends_in_ranking
    inner join user_language_prefixes
        on
            sends_in_ranking.user_id = user_language_prefixes.user_id
            and sends_in_ranking.language_code = user_language_prefixes.language_code
    where sends_in_ranking.language_position <= user_language_prefixes.max_prefix

),

sent_in_prefix_counts as (

    select
        user_id,
        language_code,
        count(*) as count_sent

    from sent_in_prefix
    group by user_id, language_code

),

user_pool_slots as materialized (

    select
        user_language_prefixes.user_id,
        user_language_prefixes.language_code,
        slots.language_position

    from user_language_prefixes
    left join sent_in_prefix_counts
        on
            user_language_prefixes.user_id = sent_in_prefix_counts.user_id
            and user_language_prefixes.language_code = sent_in_prefix_counts.language_code
    cross join lateral generate_series(
        1,
        least(
            {{ var('engine_pool_size') }} + coalesce(sent_in_prefix_counts.count_sent, 0),
            user_language_prefixes.max_prefix
        )
    ) as slots (language_position)

),

pool as (

    select
        user_pool_slots.user_id,
        ranked_memes.meme_id,
        ranked_memes.meme_source_id,
        ranked_memes.base_score

    from user_pool_slots
    inner join ranked_memes
        on
            user_pool_slots.language_code = ranked_memes.language_code
            and user_pool_slots.language_position = ranked_memes.language_position
    left join sent_in_prefix
        on
            user_pool_slots.user_id = sent_in_prefix.user_id
            and ranked_memes.meme_id = sent_in_prefix.meme_id
    where sent_in_prefix.meme_id is null

),

scored as (

    select
        pool.user_id,
        pool.meme_id,
        '{{ engine }}' as engine,
        (
            {{ score_expression }}
        )::double precision as score

    from pool
    left join user_meme_source_stats
        on
            pool.user_id = user_meme_source_stats.user_id
            and pool.meme_source_id = user_meme_source_stats.meme_source_id
    {%- if user_source_weights %}
    left join {{ user_source_weights }}
        on
            pool.user_id = {{ user_source_weights }}.user_id
            and pool.meme_source_id = {{ user_source_weights }}.meme_source_id
    {%- endif %}
    cross join lateral (
        select
            (coalesce(user_meme_source_stats.nlikes, 0) + 1.0::double precision)
            / (
                coalesce(user_meme_source_stats.nlikes, 0)
                + coalesce(user_meme_source_stats.ndislikes, 0)
                + 2.0
            ) as source_affinity
    ) as affinity

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
