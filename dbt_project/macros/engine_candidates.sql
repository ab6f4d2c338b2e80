{#
    The shared tail of a candidate engine. The model defines `ranked_memes` (meme_id,
    meme_source_id, language_code, base_score, language_position: 1..n per language by the
    engine's global order) and calls this macro, which:

    1. gives each user, per language the user reads, the first
       least(var('engine_pool_size') + memes sent, var('engine_pool_max_slots')) positions
       (a user was sent at most that many of the head, so the pool still holds
       var('engine_pool_size') unsent memes): bounded work per user, no user x meme product;
    2. drops every meme the user was sent;
    3. scores the pool with `score_expression`, which may use `pool.*` and `source_affinity`
       (the user's like rate on the meme's source with a 1/1 prior: 0.5 when unrated) and, when
       `user_source_weights` names a CTE (user_id, meme_source_id, source_weight), that;
    4. keeps the top var('engine_candidates_per_user') per user, ties broken per user.

    `max_user_sends` limits the engine to users sent fewer memes (cold-start engines).
#}
{% macro engine_candidates(
    engine, score_expression='pool.base_score', user_source_weights=none, max_user_sends=none
) %}

user_languages as (

    select * from {{ ref('stg_app__user_language') }}

),

user_stats as (

    select * from {{ ref('user_stats') }}

),

reactions as (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

user_meme_source_stats as (

    select * from {{ ref('user_meme_source_stats') }}

),

user_pool_slots as materialized (

    select
        user_languages.user_id,
        user_languages.language_code,
        slots.language_position

    from user_languages
    inner join user_stats
        on
            user_languages.user_id = user_stats.user_id
            {%- if max_user_sends is not none %}
            and user_stats.nmemes_sent < {{ max_user_sends }}
            {%- endif %}
    cross join lateral generate_series(
        1,
        least(
            {{ var('engine_pool_size') }} + user_stats.nmemes_sent,
            {{ var('engine_pool_max_slots') }}
        )
    ) as slots (language_position)

),

head as materialized (

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

),

pool as (

    select head.*

    from head
    left join reactions
        on head.user_id = reactions.user_id and head.meme_id = reactions.meme_id
    where reactions.meme_id is null

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
            (coalesce(user_meme_source_stats.nlikes, 0) + 1.0)
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
