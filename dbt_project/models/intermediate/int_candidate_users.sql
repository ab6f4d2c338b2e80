{#
    Who gets a prepared feed, and whose feed this build rebuilds.

    Eligible: users who have not blocked the bot, created before the build, and active (a send)
    or created in the last var('candidate_active_days') days. Everyone else is served by
    cold_start_candidates and the bot's own unseen fallback until their first new send, after
    which the next build makes them a list.

    needs_build: the engines and user_candidates only compute these users, so the cost of a
    build follows what changed, not the size of the user base. On the first build or
    `--full-refresh`, everybody eligible; otherwise the eligible users whose list
    (recommendations.user_candidates as the previous build left it: read without a ref, which
    would be a cycle) is missing, who were sent a meme since that build (their list is being
    consumed), who hold a candidate that is no longer servable, or whose list is older than
    var('candidate_max_age_hours') times 1 to 2 (a per-user hash, so lists built together do not
    all expire in the same build).

    A reaction alone does not rebuild a list: the bot sends the next meme with each reaction, so
    a user reacting in the feed is sent memes anyway, and a late reaction to an old message
    (a user scrolling back) leaves the list as unconsumed as it was. Such reactions reach the
    list through the statistics at its next rebuild. Rebuilding on every reaction made an
    incremental build rewrite 4x the lists at full size (benchmarks/dbt_scale: 11,302 lists
    where 2,825 users had new sends).
#}

-- fresh statistics: the candidate models plan their joins on this table right away; unlogged,
-- as it is rebuilt whole by every build and read only by it
{{ config(materialized='table', unlogged=true, post_hook=['analyze {{ this }}']) }}

-- read only when a previous build exists:
-- depends_on: {{ ref('int_servable_memes') }}
-- depends_on: {{ ref('stg_app__meme') }}
-- depends_on: {{ ref('stg_app__user_meme_reaction') }}

{%- set previous_candidates = prior_build_relation('user_candidates') %}
{%- set rebuild_everyone = flags.FULL_REFRESH or previous_candidates is none %}

with users as not materialized (

    select * from {{ ref('stg_app__user') }}

),

-- the incremental per-user counts themselves, not the user_stats mart on top of them: the
-- engines wait for this model, and the mart and its tests added a step before it
user_stats as not materialized (

    select * from {{ ref('int_user_reaction_stats') }}

),

eligible_users as (

    select
        users.user_id,
        coalesce(user_stats.nmemes_sent, 0) as nmemes_sent,
        coalesce(users.user_type in ('moderator', 'admin'), false) as is_moderator,
        greatest(users.created_at, user_stats.last_sent_at) as last_active_at

    from users
    left join user_stats
        on users.user_id = user_stats.user_id
    where
        users.blocked_bot_at is null
        and users.created_at <= {{ build_timestamp() }}
        and greatest(users.created_at, user_stats.last_sent_at)
        >= {{ build_timestamp() }} - interval '1 day' * {{ var('candidate_active_days') }}

),

{% if rebuild_everyone %}

rebuild_reasons as (

    select
        user_id,
        'full build' as rebuild_reason

    from eligible_users

),

{% else %}

servable_memes as not materialized (

    select * from {{ ref('int_servable_memes') }}

),

memes as not materialized (

    select * from {{ ref('stg_app__meme') }}

),

reactions as not materialized (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

-- When each previous list was built: a list is written whole, so its first row tells, and a
-- partial index holds the first rows. Grouping all 6M rows per user took 3 CPU seconds.
previous_lists as (

    select
        previous_candidates.user_id,
        previous_candidates.built_at

    from {{ previous_candidates }} as previous_candidates
    where previous_candidates.rank = 1

),

-- Memes that may have been withdrawn while a kept list holds them. Every build rebuilds the
-- lists holding a meme withdrawn before it, and builds lists from servable memes only, so
-- only a meme whose row changed since the previous build that wrote lists (less the
-- lookback, for a withdrawal committed during that build) can sit in a kept list; a build
-- that failed before writing its lists leaves that time, and so the window, where it was.
-- This also takes memes ingested unservable in that time, which no list holds; app.meme
-- keeps no status history to tell them apart. When there are none, the lists are not read at
-- all (a window of 2 x var('candidate_max_age_hours') took the few hundred memes ingested in
-- two days, and a pass over all 6M list rows, 1.3 s at full size, every build). The bot skips
-- unservable memes when it reads a list (bot/feed.py): a withdrawal that left updated_at
-- alone only leaves a list one meme shorter until it expires.
recently_changed_unservable_memes as (

    {%- set previous_lists_build = max_timestamp_literal(
        previous_candidates, 'built_at', var('incremental_lookback_minutes')
    ) %}

    select memes.meme_id
    from memes
    where memes.updated_at > {{ previous_lists_build }}

    except

    select servable_memes.meme_id from servable_memes

),

-- the lists holding such a meme: one pass over the list rows probing those few hundred memes
-- (0.9 CPU seconds at full size), where joining every list row to the servable memes and
-- grouping took 1.4 with parallel workers
lists_holding_unservable as (

    select distinct previous_candidates.user_id

    from {{ previous_candidates }} as previous_candidates
    inner join recently_changed_unservable_memes
        on previous_candidates.meme_id = recently_changed_unservable_memes.meme_id

),

sent_since_previous_build as (

    select distinct user_id
    from reactions
    where sent_at > {{ previous_lists_build }}

),

rebuild_reasons as (

    select
        eligible_users.user_id,
        case
            when previous_lists.user_id is null then 'no list'
            when sent_since_previous_build.user_id is not null then 'new sends'
            when lists_holding_unservable.user_id is not null then 'unservable candidate'
            when
                previous_lists.built_at
                < {{ build_timestamp() }} - interval '1 hour'
                * {{ var('candidate_max_age_hours') }}
                * (1 + {{ hash_uniform('eligible_users.user_id::text') }})
                then 'expired'
        end as rebuild_reason

    from eligible_users
    left join previous_lists
        on eligible_users.user_id = previous_lists.user_id
    left join sent_since_previous_build
        on eligible_users.user_id = sent_since_previous_build.user_id
    left join lists_holding_unservable
        on eligible_users.user_id = lists_holding_unservable.user_id

),

{% endif %}

final as (

    select
        eligible_users.user_id::bigint as user_id,
        eligible_users.nmemes_sent::integer as nmemes_sent,
        case
            when eligible_users.nmemes_sent >= {{ var('maturity_mature_min_sends') }} then 'mature'
            when eligible_users.nmemes_sent >= {{ var('maturity_growing_min_sends') }} then 'growing'
            else 'cold_start'
        end::text as maturity_stage,
        eligible_users.is_moderator,
        eligible_users.last_active_at,
        rebuild_reasons.rebuild_reason is not null as needs_build,
        rebuild_reasons.rebuild_reason::text as rebuild_reason

    from eligible_users
    left join rebuild_reasons
        on eligible_users.user_id = rebuild_reasons.user_id

)

select * from final
