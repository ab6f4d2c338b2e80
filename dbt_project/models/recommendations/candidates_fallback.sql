{#
    Engine "fallback": makes sure a user's list is never empty while any servable meme is
    unsent. Unsent memes of the user's languages first (engine 'fallback'), then those of
    other languages (engine 'fallback_other_language'), each by meme_stats.quality_score.

    Only users of this build (int_candidate_users.needs_build) whose engines offer fewer than
    var('candidates_per_user') distinct memes get fallback rows: user_candidates places the
    fallback after every engine candidate, so nobody else's list could reach them. Each such
    user takes the head of the quality
    ranking of each of the user's languages, long enough to hold var('candidates_per_user')
    unsent memes (macros/unsent_ranking_heads.sql). Only a user whose languages hold fewer
    unsent memes than that also reads the head of the ranking over all languages, so the
    result has min(candidates_per_user, unsent servable memes) rows per user and the usual
    user reads one head, not two.
#}

with servable_memes as not materialized (

    select * from {{ ref('int_servable_memes') }}

),

meme_stats as not materialized (

    select * from {{ ref('meme_stats') }}

),

-- The import CTEs read more than once stay inlined: a materialized CTE has no column
-- statistics, and the planner's default guesses for its joins were off by 300x and picked
-- sorts of tens of millions of rows.
user_languages as not materialized (

    select * from {{ ref('stg_app__user_language') }}

),

{% set blend_engines = var('blend_engines') %}

-- Distinct memes the engines offer each user of the build: user_candidates places the
-- fallback after all of them, so it only ever reaches users with fewer than a list's worth.
-- Materialized: both reads of candidate_users below inline it, and it was counted twice.
engine_candidate_counts as materialized (

    select
        engine_candidates.user_id,
        count(distinct engine_candidates.meme_id) as count_memes

    from (
        {%- for engine in blend_engines %}
        select
            user_id,
            meme_id

        from {{ ref('candidates_' ~ engine) }}
        {%- if not loop.last %}

        union all
        {% endif %}
        {%- endfor %}
    ) as engine_candidates
    group by engine_candidates.user_id

),

-- The users of this build whose engines cannot fill their list (most users' engines offer
-- several times a list).
candidate_users as not materialized (

    select int_candidate_users.*

    from {{ ref('int_candidate_users') }} as int_candidate_users
    left join engine_candidate_counts
        on int_candidate_users.user_id = engine_candidate_counts.user_id
    where
        int_candidate_users.needs_build
        and coalesce(engine_candidate_counts.count_memes, 0) < {{ var('candidates_per_user') }}

),

ranked_memes as (

    select
        servable_memes.meme_id,
        servable_memes.language_code,
        meme_stats.quality_score,
        row_number() over (
            partition by servable_memes.language_code
            order by meme_stats.quality_score desc, servable_memes.meme_id desc
        ) as language_position,
        row_number() over (
            order by meme_stats.quality_score desc, servable_memes.meme_id desc
        ) as overall_position

    from servable_memes
    inner join meme_stats
        on servable_memes.meme_id = meme_stats.meme_id

),

user_sends as not materialized (

    select * from {{ ref('int_candidate_user_sends') }}

),

language_ranking as (

    select
        meme_id,
        language_code,
        language_position,
        quality_score

    from ranked_memes

),

overall_ranking as (

    select
        meme_id,
        '*'::text as language_code,
        overall_position,
        quality_score,
        language_code as meme_language_code

    from ranked_memes

),

language_heads as (

    select
        user_languages.user_id,
        user_languages.language_code,
        {{ var('candidates_per_user') }} + candidate_users.nmemes_sent as max_prefix,
        {{ var('candidates_per_user') }} as pool_size

    from user_languages
    inner join candidate_users
        on user_languages.user_id = candidate_users.user_id

),

{{ unsent_ranking_heads(
    'language_pool', 'language_ranking', 'language_heads', 'user_sends', ['quality_score'],
) }},

language_pool_counts as (

    select
        user_id,
        count(*) as unsent_in_languages

    from language_pool
    group by user_id

),

-- Users whose languages hold fewer unsent memes than a list (or who have no language): the
-- only ones whose fallback reaches into the other languages.
other_language_heads as (

    select
        candidate_users.user_id,
        '*'::text as language_code,
        {{ var('candidates_per_user') }} + candidate_users.nmemes_sent as max_prefix,
        {{ var('candidates_per_user') }} as pool_size

    from candidate_users
    left join language_pool_counts
        on candidate_users.user_id = language_pool_counts.user_id
    where coalesce(language_pool_counts.unsent_in_languages, 0) < {{ var('candidates_per_user') }}

),

other_language_user_sends as (

    select user_sends.*

    from user_sends
    where user_sends.user_id in (select other_language_heads.user_id from other_language_heads)

),

{{ unsent_ranking_heads(
    'overall_pool', 'overall_ranking', 'other_language_heads', 'other_language_user_sends',
    ['quality_score', 'meme_language_code'], position_column='overall_position',
) }},

scored as (

    select
        user_id,
        meme_id,
        true as is_user_language,
        'fallback' as engine,
        quality_score as score

    from language_pool

    union all

    -- memes of the user's languages in this head are all in language_pool already
    select
        overall_pool.user_id,
        overall_pool.meme_id,
        false as is_user_language,
        'fallback_other_language' as engine,
        overall_pool.quality_score as score

    from overall_pool
    left join user_languages
        on
            overall_pool.user_id = user_languages.user_id
            and overall_pool.meme_language_code = user_languages.language_code
    where user_languages.user_id is null

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
                is_user_language desc,
                score desc,
                {{ per_user_tiebreak('user_id', 'meme_id') }}
        )::integer as engine_rank

    from scored

),

final as (

    select * from ranked
    where engine_rank <= {{ var('candidates_per_user') }}

)

select * from final
