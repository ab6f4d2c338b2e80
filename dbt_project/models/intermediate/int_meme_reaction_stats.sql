{#
    The reaction figures of each meme ever sent, from int_reactions_scored: counts, the median
    reaction time, lr_smoothed and engagement_score (the per-send values averaged; 0 with fewer
    than var('min_meme_reactions') counted sends).

    Incremental by difference: each row int_reactions_scored rewrote since this model's
    watermark carries the values of the version it replaced, so a meme's sums and counts move by
    (new - previous) and its sorted in-range reaction times lose the previous ones and gain the
    new ones; nothing else of the meme is read. A meme whose rows include a replaced version
    this model never counted (int_reactions_scored built twice in between, or fully rebuilt) is
    recounted from all its rows. A meme without recent reactions keeps its figures (the anchor's
    3-hour version zeroed them).
#}

{#
    The pre-hook: a full build aggregates every send per meme; through an index that is a
    random heap read per row (77 s at full size), in table order and a sort 18 s.
    The post-hooks: reaction_times_sec is stored uncompressed. An incremental build rewrites
    the lists of every meme with a new reaction, 65 MB at full size for 100k new reactions
    (the popular memes hold most of the 10M times), and measured floats do not compress: the
    attempt cost 0.35 s per write for nothing.
#}
{{
    config(
        materialized='incremental',
        unique_key='meme_id',
        incremental_strategy='sorted_delete_insert',
        on_schema_change='fail',
        pre_hook=[
            "{% if is_incremental() %}select 1{% else %}set local enable_indexscan = off{% endif %}",
        ],
        post_hook=[
            "{{ index_once('meme_id', unique=true) }}",
            "{{ storage_once('reaction_times_sec', 'external') }}",
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

changed_rows as (

    select
        *,
        -- a row rewritten with the time it had (a user's later rows are rescored together)
        -- neither adds nor removes one
        (
            reaction_time_sec is distinct from previous_reaction_time_sec
            and (reaction_time_sec {{ reaction_time_in_range }})
        ) as adds_reaction_time,
        (
            reaction_time_sec is distinct from previous_reaction_time_sec
            and (previous_reaction_time_sec {{ reaction_time_in_range }})
        ) as removes_reaction_time

    from scored_reactions
    where scored_at > {{ watermark }}

),

changed_memes as (

    select
        meme_id,
        -- a replaced version written after this model's last build was never counted here
        coalesce(bool_or(previous_scored_at > {{ watermark }}), false) as needs_recount,
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
        coalesce(
            array_agg(reaction_time_sec order by reaction_time_sec) filter (
                where adds_reaction_time
            ),
            '{}'
        ) as added_reaction_times,
        coalesce(
            array_agg(previous_reaction_time_sec order by previous_reaction_time_sec) filter (
                where removes_reaction_time
            ),
            '{}'
        ) as removed_reaction_times,
        max(scored_at) as scored_at

    from changed_rows
    group by meme_id

),

{% endif %}

{{ rows_to_recount('recounted_rows', 'scored_reactions', 'changed_memes', 'meme_id') }}

recounted as (

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
        ) as reaction_times_sec,
        max(scored_at) as scored_at

    from recounted_rows
    group by meme_id

),

{% if is_incremental() %}

-- the figures this model holds, moved by the difference
moved as (

    select
        changed_memes.meme_id,
        coalesce(previous.nlikes, 0) + changed_memes.delta_nlikes as nlikes,
        coalesce(previous.ndislikes, 0) + changed_memes.delta_ndislikes as ndislikes,
        coalesce(previous.nmemes_sent, 0) + changed_memes.delta_nmemes_sent as nmemes_sent,
        coalesce(previous.sum_debiased_like, 0)
        + changed_memes.delta_sum_debiased_like as sum_debiased_like,
        coalesce(previous.count_debiased_reactions, 0)
        + changed_memes.delta_count_debiased_reactions as count_debiased_reactions,
        coalesce(previous.sum_debiased_engagement, 0)
        + changed_memes.delta_sum_debiased_engagement as sum_debiased_engagement,
        coalesce(previous.count_debiased_engagements, 0)
        + changed_memes.delta_count_debiased_engagements as count_debiased_engagements,
        case
            when changed_memes.added_reaction_times = changed_memes.removed_reaction_times
                then held.sorted_times
            -- the most common case, one new reaction: put it in place (width_bucket is a
            -- binary search of the sorted times), no sort
            when
                cardinality(changed_memes.removed_reaction_times) = 0
                and cardinality(changed_memes.added_reaction_times) = 1
                then
                    held.sorted_times[1:one_new.count_before]
                    || changed_memes.added_reaction_times
                    || held.sorted_times[
                        one_new.count_before + 1:cardinality(held.sorted_times)
                    ]
            -- new reactions only: a plain sort is 10x cheaper per meme than the multiset
            -- difference below (8 s for 66k memes at full size)
            when cardinality(changed_memes.removed_reaction_times) = 0
                then
                    array(
                        select added.reaction_time_sec
                        from
                            unnest(held.sorted_times || changed_memes.added_reaction_times)
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
                            select unnest(changed_memes.removed_reaction_times)
                        )
                        union all
                        select unnest(changed_memes.added_reaction_times)
                    ) as kept
                    order by kept.reaction_time_sec
                )
        end as reaction_times_sec,
        changed_memes.scored_at

    from changed_memes
    left join {{ this }} as previous
        on changed_memes.meme_id = previous.meme_id
    -- the in-range times the meme held, and how many of them a single new time follows
    cross join
        lateral (
            select coalesce(previous.reaction_times_sec, '{}') as sorted_times
        ) as held
    cross join
        lateral (
            select
                width_bucket(changed_memes.added_reaction_times[1], held.sorted_times)
                    as count_before
        ) as one_new
    where not changed_memes.needs_recount

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

-- percentile_cont(0.5) of the sorted times, computed as PostgreSQL does (NULL when empty)
medians as (

    select
        per_meme.*,
        per_meme.reaction_times_sec[middle.lower_index]
        + (
            per_meme.reaction_times_sec[middle.upper_index]
            - per_meme.reaction_times_sec[middle.lower_index]
        ) * 0.5 as median_reaction_time_sec

    from per_meme
    cross join lateral (
        select
            (cardinality(per_meme.reaction_times_sec) + 1) / 2 as lower_index,
            cardinality(per_meme.reaction_times_sec) / 2 + 1 as upper_index
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
        reaction_times_sec::double precision[] as reaction_times_sec,
        scored_at

    from medians

)

select * from final
