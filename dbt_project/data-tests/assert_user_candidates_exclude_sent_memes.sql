{#
    No user_candidates row may be a meme its user was already sent when the build started
    (any user_meme_reaction row, reacted or not). Sends after built_at are the bot's to drop.
#}

-- Dagster shows this test as an asset check of user_candidates
{{ config(meta={'dagster': {'ref': {'name': 'user_candidates'}}}) }}

-- the lists this build wrote: the others were tested by the builds that wrote them
with user_candidates as (

    {{ rows_of_latest_build(ref('user_candidates'), 'built_at') }}

),

reactions as (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

-- a lookup per candidate in the reactions' (user_id, meme_id) key: a join hashed the 282k
-- candidates of a build against a scan of all 10M reactions (1.5 s against 0.3 s)
already_sent as (

    select
        user_candidates.user_id,
        user_candidates.meme_id,
        user_candidates.rank,
        sent.sent_at,
        user_candidates.built_at

    from user_candidates
    cross join lateral (
        select reactions.sent_at

        from reactions
        where
            reactions.user_id = user_candidates.user_id
            and reactions.meme_id = user_candidates.meme_id
            and reactions.sent_at <= user_candidates.built_at
        -- a pair is sent at most once; the limit keeps this a lookup per candidate
        limit 1  -- noqa: AM09
    ) as sent

)

select * from already_sent
