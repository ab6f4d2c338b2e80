{#
    Every send (reacted or not) with the per-send values the meme formulas average:

    - lr_smoothed: like_sign (+1 like, -1 dislike) minus the user's running mean of like_sign
      to date (ordered by sent_at), counted once the user has var('min_user_reactions')
      reactions to date (the anchor's formula, over all history);
    - engagement: like +1; a dislike -1, but only -0.5 when it came within
      var('engagement_fast_dislike_max_seconds') of a text-heavy meme (caption of at least
      var('text_heavy_min_caption_chars') characters: probably "did not read"); an unreacted send
      before the user's last reacted send is a skip (-0.3); the user's open last sends count
      nothing. Debiased the same way as lr_smoothed.

    Incremental: a build recomputes, for each user with sends or reactions since the watermark,
    the rows from the earliest changed send (or the user's previously last reacted send, whose
    predecessors may just have become skips) onwards; earlier rows cannot change. The running
    sums and counts are stored per row, so the recomputed rows carry on from the last row
    before them instead of re-reading the user's history. A late reaction to an already counted
    send is a changed row like any other.
#}

{#
    Indexes: (user_id, sent_at, meme_id), unique, finds a user's last rows and the rows a build
    replaces: a send's sent_at never changes, so the key's rows are found by it with sent_at
    alongside, and one index serves what two did (one index write less per rescored row, one
    10M-row index build less per full build); (scored_at) the rows of a build, which the
    tests and the models downstream read (this model's watermark, max(changed_at) over those
    rows, is recorded by each build: macros/build_watermarks.sql). Each index costs every
    rescored row a write, so no more than these (a sent_at index served metrics_engine_daily's
    whole days, which it now reads only to recount a day after out-of-step builds). The key is
    still (user_id, meme_id), tested as such.
#}
{{
    config(
        materialized='incremental',
        unlogged=true,
        unique_key=['user_id', 'sent_at', 'meme_id'],
        incremental_strategy='sorted_delete_insert',
        on_schema_change='fail',
        post_hook=[
            "{{ declare_once(
                not_null=['user_id', 'meme_id', 'sent_at'],
                checks=['debiased_like is null or debiased_like between -2 and 2'],
            ) }}",
            "{{ index_once('user_id, sent_at, meme_id', unique=true) }}",
            "{{ index_once('scored_at') }}",
            "{{ analyze_once() }}",
            "{{ record_build_watermark('changed_at', 'scored_at') }}",
        ],
    )
}}

{#- false after a crash emptied this unlogged table: see macros/builds_incrementally.sql #}
{%- set builds_on_stored_rows = builds_incrementally() %}

with reactions as not materialized (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

memes as not materialized (

    select * from {{ ref('stg_app__meme') }}

),

{% if builds_on_stored_rows %}

changed_sends as (

    select
        user_id,
        sent_at

    {%- set watermark = latest_build_watermark(
        'changed_at', 'scored_at', var('incremental_lookback_minutes')
    ) %}
    from reactions
    where sent_at > {{ watermark }} or reacted_at > {{ watermark }}

),

changed_users as (

    select
        user_id,
        min(sent_at) as earliest_changed_sent_at

    from changed_sends
    group by user_id

),

previously_last_reacted as (

    select
        changed_users.user_id,
        last_reacted.sent_at as last_reacted_sent_at

    from changed_users
    inner join lateral (
        select scored.sent_at

        from {{ this }} as scored
        where scored.user_id = changed_users.user_id and scored.reaction_id is not null
        order by scored.sent_at desc
        limit 1
    ) as last_reacted on true

),

recompute_from as (

    select
        changed_users.user_id,
        least(
            changed_users.earliest_changed_sent_at,
            coalesce(previously_last_reacted.last_reacted_sent_at, '-infinity'::timestamptz)
        ) as recompute_from_sent_at

    from changed_users
    left join previously_last_reacted
        on changed_users.user_id = previously_last_reacted.user_id

),

-- the running sums and counts of the last row that is kept
prefix_state as (

    select
        recompute_from.user_id,
        recompute_from.recompute_from_sent_at,
        coalesce(last_kept.user_running_like_sum, 0) as prefix_like_sum,
        coalesce(last_kept.user_running_reaction_count, 0) as prefix_reaction_count,
        coalesce(last_kept.user_running_engagement_sum, 0) as prefix_engagement_sum,
        coalesce(last_kept.user_running_engagement_count, 0) as prefix_engagement_count,
        coalesce(last_kept.user_running_send_count, 0) as prefix_send_count

    from recompute_from
    left join lateral (
        select
            scored.user_running_like_sum,
            scored.user_running_reaction_count,
            scored.user_running_engagement_sum,
            scored.user_running_engagement_count,
            scored.user_running_send_count

        from {{ this }} as scored
        where
            scored.user_id = recompute_from.user_id
            and scored.sent_at < recompute_from.recompute_from_sent_at
        order by scored.sent_at desc, scored.meme_id desc
        limit 1
    ) as last_kept on true

),

user_sends as (

    select
        user_tail.*,
        prefix_state.recompute_from_sent_at,
        prefix_state.prefix_like_sum,
        prefix_state.prefix_reaction_count,
        prefix_state.prefix_engagement_sum,
        prefix_state.prefix_engagement_count,
        prefix_state.prefix_send_count

    from prefix_state
    -- lateral: each user's tail is a range of the app's (user_id, sent_at) index; as a join
    -- the planner sorted all 10M reactions for a merge join instead
    cross join lateral (
        select reactions.*

        from reactions
        where
            reactions.user_id = prefix_state.user_id
            and reactions.sent_at >= prefix_state.recompute_from_sent_at
        -- keeps the subquery from being flattened back into that join
        offset 0  -- noqa: AM09
    ) as user_tail

),

{% else %}

user_sends as (

    select
        *,
        '-infinity'::timestamptz as recompute_from_sent_at,
        0 as prefix_like_sum,
        0 as prefix_reaction_count,
        0::double precision as prefix_engagement_sum,
        0 as prefix_engagement_count,
        0 as prefix_send_count

    from reactions

),

{% endif %}

valued as (

    select
        user_sends.user_id,
        user_sends.meme_id,
        meme.meme_source_id,
        user_sends.recommended_by,
        user_sends.sent_at,
        user_sends.reaction_id,
        user_sends.reacted_at,
        user_sends.is_liked,
        user_sends.is_disliked,
        user_sends.is_reacted,
        user_sends.recompute_from_sent_at,
        user_sends.prefix_like_sum,
        user_sends.prefix_reaction_count,
        user_sends.prefix_engagement_sum,
        user_sends.prefix_engagement_count,
        user_sends.prefix_send_count,
        {{ seconds_between('user_sends.sent_at', 'user_sends.reacted_at') }}
            as reaction_time_sec,
        -- an integer: as numeric (a literal 1.0), the running sums and the means below were
        -- numeric arithmetic, 12% of this model's time
        case
            when user_sends.is_liked then 1
            when user_sends.is_disliked then -1
        end as like_sign,
        meme.is_text_heavy,
        user_sends.sent_at < last_reaction.sent_at as is_before_last_reaction

    from user_sends
    -- The meme's source and whether its caption is text-heavy, computed per meme (memoized)
    -- below the sort of the windows: joined as a table, the flag was computed above it and
    -- every send carried its meme's whole caption through the sort (a full select at full
    -- size with half the memes captioned, 69 characters on average: 27.4-28.8 s against
    -- 24.1-24.3 s).
    inner join lateral (
        select
            memes.meme_source_id,
            coalesce(length(memes.caption), 0) >= {{ var('text_heavy_min_caption_chars') }}
                as is_text_heavy

        from memes
        where memes.meme_id = user_sends.meme_id
        -- keeps the subquery, and so the flag's computation, from being flattened upwards
        offset 0  -- noqa: AM09
    ) as meme on true
    -- The user's last reacted send, read back from the end of the user's range of the app's
    -- (user_id, sent_at) index and memoized per user (the rows come in user order). As a
    -- window over each user's rows (max(sent_at) filter (where is_reacted) over the
    -- partition) it buffered every row of the partition and read it back: 18.3-20.5 s for
    -- the full select at full size against 15.2 s. In an incremental build the user's tail
    -- holds the previously last reacted send and every changed one, so the latest reacted
    -- send is the same, read from the whole history or from the tail.
    left join lateral (
        select reacted.sent_at

        from reactions as reacted
        where reacted.user_id = user_sends.user_id and reacted.is_reacted
        order by reacted.sent_at desc
        limit 1
    ) as last_reaction on true

),

engagement_valued as (

    select
        *,
        case
            when is_liked then {{ var('engagement_like_value') }}
            when
                is_disliked
                and is_text_heavy
                and reaction_time_sec
                between {{ var('reaction_time_min_seconds') }}
                and {{ var('engagement_fast_dislike_max_seconds') }}
                then {{ var('engagement_fast_dislike_value') }}
            when is_disliked then {{ var('engagement_dislike_value') }}
            when is_before_last_reaction then {{ var('engagement_skip_value') }}
        end::double precision as engagement_value

    from valued

),

running_sums as (

    select
        *,
        prefix_like_sum + coalesce(sum(like_sign) over user_to_date, 0)
            as user_running_like_sum,
        prefix_reaction_count + count(like_sign) over user_to_date
            as user_running_reaction_count,
        prefix_engagement_sum + coalesce(sum(engagement_value) over user_to_date, 0)
            as user_running_engagement_sum,
        prefix_engagement_count + count(engagement_value) over user_to_date
            as user_running_engagement_count,
        prefix_send_count + count(*) over user_to_date as user_running_send_count

    from engagement_valued
    window user_to_date as (
        partition by user_id
        order by sent_at, meme_id
        rows between unbounded preceding and current row
    )

),

running as (

    select
        *,
        user_running_like_sum::double precision / nullif(user_running_reaction_count, 0)
            as user_running_like_mean,
        user_running_engagement_sum / nullif(user_running_engagement_count, 0)
            as user_running_engagement_mean

    from running_sums

),

rescored as (

    select
        user_id,
        meme_id,
        meme_source_id,
        recommended_by,
        sent_at,
        reaction_id,
        reacted_at,
        is_liked,
        is_disliked,
        is_reacted,
        reaction_time_sec,
        engagement_value,
        case
            when
                like_sign is not null
                and user_running_reaction_count >= {{ var('min_user_reactions') }}
                then (like_sign - user_running_like_mean)::double precision
        end as debiased_like,
        case
            when
                engagement_value is not null
                and user_running_engagement_count >= {{ var('min_user_reactions') }}
                then (engagement_value - user_running_engagement_mean)::double precision
        end as debiased_engagement,
        user_running_like_sum::integer as user_running_like_sum,
        user_running_reaction_count::integer as user_running_reaction_count,
        user_running_engagement_sum::double precision as user_running_engagement_sum,
        user_running_engagement_count::integer as user_running_engagement_count,
        user_running_send_count::integer as user_running_send_count,
        greatest(sent_at, reacted_at) as changed_at,
        {{ build_timestamp() }} as scored_at

    from running
    where sent_at >= recompute_from_sent_at

),

{% if builds_on_stored_rows %}

{#- every column of a row except its build stamp: a row is written when one of them changed #}
{%- set compared_columns = [
    'meme_source_id', 'recommended_by', 'sent_at', 'reaction_id', 'reacted_at', 'is_liked',
    'is_disliked', 'is_reacted', 'reaction_time_sec', 'engagement_value', 'debiased_like',
    'debiased_engagement', 'user_running_like_sum', 'user_running_reaction_count',
    'user_running_engagement_sum', 'user_running_engagement_count', 'user_running_send_count',
    'changed_at',
] %}

-- The stored rows the recomputed ones replace: each user's tail from the same sent_at, one
-- range of the key index per user (one index lookup per recomputed row took 1.3 s for 330k
-- rows at full size).
replaced_tails as (

    select replaced_tail.*

    from prefix_state
    cross join lateral (
        select
            replaced.user_id,
            replaced.meme_id,
            {%- for column in compared_columns %}
            replaced.{{ column }},
            {%- endfor %}
            replaced.scored_at

        from {{ this }} as replaced
        where
            replaced.user_id = prefix_state.user_id
            and replaced.sent_at >= prefix_state.recompute_from_sent_at
        -- keeps the subquery from being flattened into a join over the whole table
        offset 0  -- noqa: AM09
    ) as replaced_tail

),

-- What each replaced row counted, so that int_meme_reaction_stats can move its sums by the
-- difference instead of re-reading every reaction of the memes a build touches. A recomputed
-- row equal to the stored one is not rewritten (four in ten at full size: the tail a user's
-- new reactions left as it was), which saves its delete and insert under three indexes; the
-- models reading a build's rows count each by its difference, to which it would add nothing.
final as (

    select
        rescored.*,
        previous.scored_at as previous_scored_at,
        previous.is_liked as previous_is_liked,
        previous.is_disliked as previous_is_disliked,
        previous.reaction_time_sec as previous_reaction_time_sec,
        previous.debiased_like as previous_debiased_like,
        previous.debiased_engagement as previous_debiased_engagement

    from rescored
    left join replaced_tails as previous
        on
            rescored.user_id = previous.user_id
            and rescored.sent_at = previous.sent_at
            and rescored.meme_id = previous.meme_id
    where {{ columns_differ('rescored', 'previous', compared_columns) }}

)

{% else %}

-- No row replaced a counted one as far as this build knows: previous_scored_at is the build
-- itself, which tells an incremental int_meme_reaction_stats to recount these memes whole.
final as (

    select
        rescored.*,
        {{ build_timestamp() }} as previous_scored_at,
        null::boolean as previous_is_liked,
        null::boolean as previous_is_disliked,
        null::double precision as previous_reaction_time_sec,
        null::double precision as previous_debiased_like,
        null::double precision as previous_debiased_engagement

    from rescored

)

{% endif %}

select * from final
