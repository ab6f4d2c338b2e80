{#
    The reaction figures of each meme ever sent, from int_reactions_scored: counts, the median
    reaction time, lr_smoothed and engagement_score (the per-send values averaged; 0 with fewer
    than var('min_meme_reactions') counted sends).

    Incremental: memes with a row rescored since the watermark are recomputed from all their
    rows, so a meme without recent reactions keeps its figures (the anchor's 3-hour version
    zeroed them).
#}

{#
    The pre-hook: a full build reads every send grouped by meme; through the meme_id index
    that is 10M random reads (77 s at full size), in table order plus a sort 18 s. An
    incremental build reads the changed memes either way at about the same speed.
#}
{{
    config(
        materialized='incremental',
        unique_key='meme_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook=[
            "{% if is_incremental() %}select 1{% else %}set local enable_indexscan = off{% endif %}",
        ],
        post_hook=[
            "{{ index_once('meme_id', unique=true) }}",
        ],
    )
}}

with scored_reactions as (

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
