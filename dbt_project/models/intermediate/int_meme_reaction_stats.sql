{#
    The reaction figures of each meme ever sent, from int_reactions_scored: counts, the median
    reaction time, lr_smoothed and engagement_score (the per-send values averaged; 0 with fewer
    than var('min_meme_reactions') counted sends).

    Incremental by difference: each row int_reactions_scored rewrote since this model's
    watermark carries the values of the version it replaced, so a meme's sums and counts move by
    (new - previous) and nothing else of the meme is read. A meme whose rows include a replaced
    version this model never counted (int_reactions_scored built twice in between, or fully
    rebuilt) is recounted from all its rows. A meme without recent reactions keeps its figures
    (the anchor's 3-hour version zeroed them).

    The median reaction time (percentile_cont(0.5) of the times within the noise bounds) stays
    exact without the meme holding every time: it holds its sorted times around the median
    (the median window: var('median_window_min_half_width') times on each side of the middle,
    or var('median_window_half_width_share') of all its times if that is more; all of them
    when it has fewer) and how many lie below and above it. A new time outside the window's
    bounds moves a count; one within them is put in place. A meme whose median would leave its
    window (times piling up on one side over many builds), or that loses a time equal to a
    bound, is recounted from all its rows, which centres its window again.
#}

{#
    Why a window: holding every time, an incremental build rewrote the whole sorted list of
    every meme with a new reaction, 65 MB at full size for 100k new reactions (the popular
    memes hold most of the 10M times); weighted by sends, a meme's window holds 224 times where
    its list held 1,405 (the table 90 MB instead of 183 MB).
    The pre-hooks: a full build aggregates every send per meme; through an index that is a
    random heap read per row (77 s at full size), in table order and a sort 18 s. An
    incremental build sees the few rows of its CTEs as one, and would read each recounted
    meme's rows by a walk of a whole index that does not lead with meme_id (215 ms a meme;
    101 s for 461 memes at full size); hash joins read the table once for any number of them
    (3.3 s), and not at all when no meme needs a recount.
    The post-hooks: the windows are stored uncompressed; measured floats do not compress and
    the attempt cost each rewrite time for nothing.
#}
{{
    config(
        materialized='incremental',
        unique_key='meme_id',
        incremental_strategy='sorted_delete_insert',
        on_schema_change='fail',
        pre_hook=[
            "{% if is_incremental() %}set local enable_nestloop = off"
            ~ "{% else %}set local enable_indexscan = off{% endif %}",
        ],
        post_hook=[
            "{{ index_once('meme_id', unique=true) }}",
            "{{ storage_once('median_window_times_sec', 'external') }}",
        ],
    )
}}

{%- set reaction_time_in_range -%}
between {{ var('reaction_time_min_seconds') }} and {{ var('reaction_time_max_seconds') }}
{%- endset %}

with scored_reactions as not materialized (

    select * from {{ ref('int_reactions_scored') }}

),

{% if is_incremental() %}
{%- set watermark = incremental_watermark('scored_at') %}

rescored_rows as (

    select
        *,
        -- a row rewritten with the time it had (a user's later rows are rescored together)
        -- neither adds nor removes one
        -- (a missing time is never in range: false, not NULL, which the sides below need)
        coalesce(
            reaction_time_sec is distinct from previous_reaction_time_sec
            and (reaction_time_sec {{ reaction_time_in_range }}),
            false
        ) as adds_reaction_time,
        coalesce(
            reaction_time_sec is distinct from previous_reaction_time_sec
            and (previous_reaction_time_sec {{ reaction_time_in_range }}),
            false
        ) as removes_reaction_time

    from scored_reactions
    where scored_at > {{ watermark }}

),

-- where each added or removed time falls against the meme's window: below its low bound
-- (-1), within the bounds (0) or above its high bound (1); a meme new here holds every time
changed_rows as (

    select
        rescored_rows.*,
        case
            when not rescored_rows.adds_reaction_time then null
            when rescored_rows.reaction_time_sec < held.median_window_low_sec then -1
            when rescored_rows.reaction_time_sec > held.median_window_high_sec then 1
            else 0
        end as added_time_side,
        case
            when not rescored_rows.removes_reaction_time then null
            when rescored_rows.previous_reaction_time_sec < held.median_window_low_sec then -1
            when rescored_rows.previous_reaction_time_sec > held.median_window_high_sec then 1
            else 0
        end as removed_time_side,
        -- a time equal to a bound may be held below or above the window as well as in it
        coalesce(
            rescored_rows.removes_reaction_time
            and rescored_rows.previous_reaction_time_sec in (
                held.median_window_low_sec, held.median_window_high_sec
            ),
            false
        ) as removes_a_bound

    from rescored_rows
    left join {{ this }} as held
        on rescored_rows.meme_id = held.meme_id

),

changed_memes as (

    select
        meme_id,
        -- a replaced version written after this model's last build was never counted here
        coalesce(bool_or(previous_scored_at > {{ watermark }}), false)
        or bool_or(removes_a_bound) as has_uncounted_or_bound_removal,
        count(*) filter (where is_liked)
        - count(*) filter (where previous_is_liked) as delta_nlikes,
        count(*) filter (where is_disliked)
        - count(*) filter (where previous_is_disliked) as delta_ndislikes,
        count(*) filter (where previous_scored_at is null) as delta_nmemes_sent,
        coalesce(sum(debiased_like), 0)
        - coalesce(sum(previous_debiased_like), 0) as delta_sum_debiased_like,
        count(debiased_like) - count(previous_debiased_like) as delta_count_debiased_reactions,
        coalesce(sum(debiased_engagement), 0)
        - coalesce(sum(previous_debiased_engagement), 0) as delta_sum_debiased_engagement,
        count(debiased_engagement)
        - count(previous_debiased_engagement) as delta_count_debiased_engagements,
        count(added_time_side) - count(removed_time_side) as delta_reaction_time_count,
        count(*) filter (where added_time_side = -1)
        - count(*) filter (where removed_time_side = -1) as delta_times_below_window,
        count(*) filter (where added_time_side = 1)
        - count(*) filter (where removed_time_side = 1) as delta_times_above_window,
        coalesce(
            array_agg(reaction_time_sec order by reaction_time_sec) filter (
                where added_time_side = 0
            ),
            '{}'
        ) as added_window_times,
        coalesce(
            array_agg(previous_reaction_time_sec order by previous_reaction_time_sec) filter (
                where removed_time_side = 0
            ),
            '{}'
        ) as removed_window_times,
        max(scored_at) as scored_at

    from changed_rows
    group by meme_id

),

-- the counts each changed meme would hold, and whether its median stays in its window
-- (every column of changed_memes carried on: the planner sees a CTE's rows as few, and a join
-- back to changed_memes was a nested loop over 93k x 93k rows at full size)
meme_changes as (

    select
        changed_memes.*,
        changed_memes.has_uncounted_or_bound_removal
        or (
            moved_counts.reaction_time_count > 0
            and (
                moved_counts.reaction_times_below_window
                >= (moved_counts.reaction_time_count + 1) / 2
                or moved_counts.reaction_times_above_window
                >= (moved_counts.reaction_time_count + 1) / 2
            )
        ) as needs_recount,
        moved_counts.reaction_time_count,
        moved_counts.reaction_times_below_window,
        moved_counts.reaction_times_above_window

    from changed_memes
    left join {{ this }} as held
        on changed_memes.meme_id = held.meme_id
    cross join lateral (
        select
            coalesce(held.reaction_time_count, 0)
            + changed_memes.delta_reaction_time_count as reaction_time_count,
            coalesce(held.reaction_times_below_window, 0)
            + changed_memes.delta_times_below_window as reaction_times_below_window,
            coalesce(held.reaction_times_above_window, 0)
            + changed_memes.delta_times_above_window as reaction_times_above_window
    ) as moved_counts

),

{% endif %}

{{ rows_to_recount('recounted_rows', 'scored_reactions', 'meme_changes', 'meme_id') }}

recounted_lists as (

    select
        meme_id,
        count(*) filter (where is_liked) as nlikes,
        count(*) filter (where is_disliked) as ndislikes,
        count(*) as nmemes_sent,
        coalesce(sum(debiased_like), 0) as sum_debiased_like,
        count(debiased_like) as count_debiased_reactions,
        coalesce(sum(debiased_engagement), 0) as sum_debiased_engagement,
        count(debiased_engagement) as count_debiased_engagements,
        coalesce(
            array_agg(reaction_time_sec order by reaction_time_sec) filter (
                where reaction_time_sec {{ reaction_time_in_range }}
            ),
            '{}'
        ) as sorted_times,
        max(scored_at) as scored_at

    from recounted_rows
    group by meme_id

),

-- the window centred on the middle of all the times; unbounded on a side it reaches the end of
recounted as (

    select
        recounted_lists.meme_id,
        recounted_lists.nlikes,
        recounted_lists.ndislikes,
        recounted_lists.nmemes_sent,
        recounted_lists.sum_debiased_like,
        recounted_lists.count_debiased_reactions,
        recounted_lists.sum_debiased_engagement,
        recounted_lists.count_debiased_engagements,
        window_bounds.time_count as reaction_time_count,
        window_bounds.first_position - 1 as reaction_times_below_window,
        window_bounds.time_count - window_bounds.last_position as reaction_times_above_window,
        case
            when window_bounds.first_position > 1
                then recounted_lists.sorted_times[window_bounds.first_position]
            else '-infinity'
        end as median_window_low_sec,
        case
            when window_bounds.last_position < window_bounds.time_count
                then recounted_lists.sorted_times[window_bounds.last_position]
            else 'infinity'
        end as median_window_high_sec,
        recounted_lists.sorted_times[
            window_bounds.first_position:window_bounds.last_position
        ] as median_window_times_sec,
        recounted_lists.scored_at

    from recounted_lists
    cross join
        lateral (
            select
                cardinality(recounted_lists.sorted_times) as time_count,
                greatest(
                    {{ var('median_window_min_half_width') }},
                    ceil(
                        cardinality(recounted_lists.sorted_times)
                        * {{ var('median_window_half_width_share') }}
                    )
                )::integer as half_width
        ) as window_size
    cross join lateral (
        select
            window_size.time_count,
            greatest(1, (window_size.time_count + 1) / 2 - window_size.half_width)
                as first_position,
            least(window_size.time_count, window_size.time_count / 2 + 1 + window_size.half_width)
                as last_position
    ) as window_bounds

),

{% if is_incremental() %}

-- the figures this model holds, moved by the difference
moved as (

    select
        meme_changes.meme_id,
        coalesce(previous.nlikes, 0) + meme_changes.delta_nlikes as nlikes,
        coalesce(previous.ndislikes, 0) + meme_changes.delta_ndislikes as ndislikes,
        coalesce(previous.nmemes_sent, 0) + meme_changes.delta_nmemes_sent as nmemes_sent,
        coalesce(previous.sum_debiased_like, 0)
        + meme_changes.delta_sum_debiased_like as sum_debiased_like,
        coalesce(previous.count_debiased_reactions, 0)
        + meme_changes.delta_count_debiased_reactions as count_debiased_reactions,
        coalesce(previous.sum_debiased_engagement, 0)
        + meme_changes.delta_sum_debiased_engagement as sum_debiased_engagement,
        coalesce(previous.count_debiased_engagements, 0)
        + meme_changes.delta_count_debiased_engagements as count_debiased_engagements,
        meme_changes.reaction_time_count,
        meme_changes.reaction_times_below_window,
        meme_changes.reaction_times_above_window,
        coalesce(previous.median_window_low_sec, '-infinity') as median_window_low_sec,
        coalesce(previous.median_window_high_sec, 'infinity') as median_window_high_sec,
        case
            when meme_changes.added_window_times = meme_changes.removed_window_times
                then held.sorted_times
            -- the most common case, one new time: put it in place (width_bucket is a binary
            -- search of the sorted times), no sort
            when
                cardinality(meme_changes.removed_window_times) = 0
                and cardinality(meme_changes.added_window_times) = 1
                then
                    held.sorted_times[1:one_new.count_before]
                    || meme_changes.added_window_times
                    || held.sorted_times[
                        one_new.count_before + 1:cardinality(held.sorted_times)
                    ]
            -- new times only: a plain sort is 10x cheaper per meme than the multiset
            -- difference below
            when cardinality(meme_changes.removed_window_times) = 0
                then
                    array(
                        select added.reaction_time_sec
                        from
                            unnest(held.sorted_times || meme_changes.added_window_times)
                                as added (reaction_time_sec)
                        order by added.reaction_time_sec
                    )
            else
                array(
                    select kept.reaction_time_sec
                    from (
                        (
                            select unnest(held.sorted_times) as reaction_time_sec
                            except all
                            select unnest(meme_changes.removed_window_times)
                        )
                        union all
                        select unnest(meme_changes.added_window_times)
                    ) as kept
                    order by kept.reaction_time_sec
                )
        end as median_window_times_sec,
        meme_changes.scored_at

    from meme_changes
    left join {{ this }} as previous
        on meme_changes.meme_id = previous.meme_id
    -- the window's times, and how many of them a single new time follows
    cross join
        lateral (
            select coalesce(previous.median_window_times_sec, '{}') as sorted_times
        ) as held
    cross join
        lateral (
            select
                width_bucket(meme_changes.added_window_times[1], held.sorted_times)
                    as count_before
        ) as one_new
    where not meme_changes.needs_recount

),

per_meme as (

    select * from recounted
    union all
    select * from moved

),

{% else %}

per_meme as (

    select * from recounted

),

{% endif %}

-- percentile_cont(0.5) of all the times, computed as PostgreSQL does (NULL when there are
-- none) from the window, which holds the middle one or two
medians as (

    select
        per_meme.*,
        per_meme.median_window_times_sec[middle.lower_index]
        + (
            per_meme.median_window_times_sec[middle.upper_index]
            - per_meme.median_window_times_sec[middle.lower_index]
        ) * 0.5 as median_reaction_time_sec

    from per_meme
    cross join lateral (
        select
            (per_meme.reaction_time_count + 1) / 2
            - per_meme.reaction_times_below_window as lower_index,
            per_meme.reaction_time_count / 2 + 1
            - per_meme.reaction_times_below_window as upper_index
    ) as middle

),

final as (

    select
        meme_id,
        nlikes::integer as nlikes,
        ndislikes::integer as ndislikes,
        nmemes_sent::integer as nmemes_sent,
        coalesce(median_reaction_time_sec, 99999)::double precision as sec_to_react,
        case
            when count_debiased_reactions >= {{ var('min_meme_reactions') }}
                then sum_debiased_like / count_debiased_reactions
            else 0
        end::double precision as lr_smoothed,
        count_debiased_reactions::integer as count_debiased_reactions,
        case
            when count_debiased_engagements >= {{ var('min_meme_reactions') }}
                then sum_debiased_engagement / count_debiased_engagements
            else 0
        end::double precision as engagement_score,
        count_debiased_engagements::integer as count_debiased_engagements,
        sum_debiased_like::double precision as sum_debiased_like,
        sum_debiased_engagement::double precision as sum_debiased_engagement,
        reaction_time_count::integer as reaction_time_count,
        reaction_times_below_window::integer as reaction_times_below_window,
        reaction_times_above_window::integer as reaction_times_above_window,
        median_window_low_sec::double precision as median_window_low_sec,
        median_window_high_sec::double precision as median_window_high_sec,
        median_window_times_sec::double precision[] as median_window_times_sec,
        scored_at

    from medians

)

select * from final
