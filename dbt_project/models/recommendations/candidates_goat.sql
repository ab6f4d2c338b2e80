{#
    Engine 'goat' (the anchor's, with float arithmetic throughout and its HEAD quality gates:
    at least var('goat_min_reactions') reactions, lr_smoothed >= var('goat_min_lr_smoothed'),
    published at least var('goat_min_age_days') days before the build). Global score: net like
    rate x lr_smoothed x reaction rate x bonuses for a 2-10 s reaction time, an invite, a top
    quartile by views x the source's reaction rate; scored source_affinity x that.
#}

with servable_memes as not materialized (

    select * from {{ ref('int_servable_memes') }}

),

meme_stats as not materialized (

    select * from {{ ref('meme_stats') }}

),

meme_source_stats as not materialized (

    select * from {{ ref('meme_source_stats') }}

),

ranked_memes as (

    select
        servable_memes.meme_id,
        servable_memes.meme_source_id,
        servable_memes.language_code,
        scores.base_score,
        row_number() over (
            partition by servable_memes.language_code
            order by scores.base_score desc, servable_memes.meme_id desc
        ) as language_position

    from servable_memes
    inner join meme_stats
        on servable_memes.meme_id = meme_stats.meme_id
    inner join meme_source_stats
        on servable_memes.meme_source_id = meme_source_stats.meme_source_id
    cross join
        lateral (
            select
                (meme_stats.nlikes - meme_stats.ndislikes)::double precision
                / (meme_stats.nmemes_sent + 1.0)
                * meme_stats.lr_smoothed
                * (meme_stats.nlikes + meme_stats.ndislikes)::double precision
                / (meme_stats.nmemes_sent + 1.0)
                * case when meme_stats.sec_to_react between 2 and 10 then 1.0 else 0.6 end
                * case when meme_stats.invited_count > 0 then 1.0 else 0.8 end
                * case when meme_stats.raw_impr_rank < 1 then 1.0 else 0.8 end
                * (meme_source_stats.nlikes + meme_source_stats.ndislikes)::double precision
                / (meme_source_stats.nmemes_sent_events + 1.0) as base_score
        ) as scores
    where
        meme_stats.nlikes + meme_stats.ndislikes >= {{ var('goat_min_reactions') }}
        and meme_stats.lr_smoothed >= {{ var('goat_min_lr_smoothed') }}
        and meme_stats.age_days >= {{ var('goat_min_age_days') }}

),

{{- engine_candidates('goat', score_expression='affinity.source_affinity * pool.base_score') }}
