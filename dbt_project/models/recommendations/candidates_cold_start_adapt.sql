{#
    Engine 'cold_start_adapt' (the anchor's): adapts to a new user's first reactions. Over the
    user's last var('cold_start_adapt_recent_sends') sends, each source gets +1 per like and
    -0.5 per dislike (unlike the anchor, an unreacted send counts nothing: it may just be the
    open last meme); memes with more than one like and at least
    var('cold_start_adapt_min_sends') sends, ranked by lr_smoothed, are scored
    greatest(source weight + 0.5, 0.1) x lr_smoothed.
#}

with servable_memes as not materialized (

    select * from {{ ref('int_servable_memes') }}

),

meme_stats as not materialized (

    select * from {{ ref('meme_stats') }}

),

scored_reactions as not materialized (

    select * from {{ ref('int_reactions_scored') }}

),

cold_start_users as not materialized (

    select * from {{ ref('int_candidate_users') }}
    where needs_build and nmemes_sent >= 1 and {{ engine_serves_user('cold_start_adapt') }}

),

-- Each user's last sends, read backwards through the (user_id, sent_at, meme_id) index of the
-- scores: a join read all 10M scores for the few thousand users with a short history (2.4 GB
-- for 400k rows, most of this engine's full-build time).
recent_sends as (

    select
        cold_start_users.user_id,
        recent.meme_source_id,
        recent.is_liked,
        recent.is_disliked

    from cold_start_users
    cross join lateral (
        select
            scored_reactions.meme_source_id,
            scored_reactions.is_liked,
            scored_reactions.is_disliked

        from scored_reactions
        where scored_reactions.user_id = cold_start_users.user_id
        order by scored_reactions.sent_at desc, scored_reactions.meme_id desc
        limit {{ var('cold_start_adapt_recent_sends') }}
    ) as recent

),

user_source_weights as (

    select
        user_id,
        meme_source_id,
        sum(case when is_liked then 1.0 when is_disliked then -0.5 else 0 end) as source_weight

    from recent_sends
    group by user_id, meme_source_id

),

ranked_memes as (

    select
        servable_memes.meme_id,
        servable_memes.meme_source_id,
        servable_memes.language_code,
        meme_stats.lr_smoothed as base_score,
        row_number() over (
            partition by servable_memes.language_code
            order by meme_stats.lr_smoothed desc, servable_memes.meme_id desc
        ) as language_position

    from servable_memes
    inner join meme_stats
        on servable_memes.meme_id = meme_stats.meme_id
    where
        meme_stats.nlikes > 1
        and meme_stats.nmemes_sent >= {{ var('cold_start_adapt_min_sends') }}

),

{{- engine_candidates(
    'cold_start_adapt',
    score_expression='greatest(coalesce(user_source_weights.source_weight, 0) + 0.5, 0.1)'
    ~ ' * pool.base_score',
    user_source_weights='user_source_weights',
) }}
