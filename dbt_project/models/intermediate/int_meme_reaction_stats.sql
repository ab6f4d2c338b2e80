{#
    The reaction figures of each meme ever sent, from int_reactions_scored: counts, the median
    reaction time, lr_smoothed and engagement_score (the per-send values averaged; 0 with fewer
    than var('min_meme_reactions') counted sends).

    Incremental: memes with a row rescored since the watermark are recomputed from all their
    rows, so a meme without recent reactions keeps its figures (the anchor's 3-hour version
    zeroed them).
#}

{#
    The pre-hook: the rows are aggregated per meme, so they must arrive grouped by meme. Through
    the meme_id index that is a random heap read per row (77 s for a full build at full size,
    38 s for an incremental build after 100k reactions, which touch most memes); a sequential
    read, a hash semi-join to the changed memes and a sort take 18 s and 12 s.
#}
{{
    config(
        materialized='incremental',
        unique_key='meme_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook=["set local enable_indexscan = off", "set local enable_bitmapscan = off"],
        post_hook=[
            "{{ index_once('meme_id', unique=true) }}",
        ],
    )
}}

with scored_reactions as not materialized (

    select * from {{ ref('int_reactions_scored') }}

),

{{ rows_of_changed_keys('meme_reactions', 'scored_reactions', 'meme_id', 'scored_at', 'scored_at') }}

per_meme as (

    select
        meme_id,
        count(*) filter (where is_liked) as nlikes,
        count(*) filter (where is_disliked) as ndislikes,
        count(*) as nmemes_sent,
        percentile_cont(0.5) within group (order by reaction_time_sec) filter (
            where reaction_time_sec
            between {{ var('reaction_time_min_seconds') }}
            and {{ var('reaction_time_max_seconds') }}
        ) as median_reaction_time_sec,
        avg(debiased_like) as mean_debiased_like,
        count(debiased_like) as count_debiased_reactions,
        avg(debiased_engagement) as mean_debiased_engagement,
        count(debiased_engagement) as count_debiased_engagements,
        max(scored_at) as scored_at

    from meme_reactions
    group by meme_id

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
                then mean_debiased_like
            else 0
        end::double precision as lr_smoothed,
        count_debiased_reactions::integer as count_debiased_reactions,
        case
            when count_debiased_engagements >= {{ var('min_meme_reactions') }}
                then mean_debiased_engagement
            else 0
        end::double precision as engagement_score,
        count_debiased_engagements::integer as count_debiased_engagements,
        scored_at

    from per_meme

)

select * from final
