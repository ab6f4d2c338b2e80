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

already_sent as (

    select
        user_candidates.user_id,
        user_candidates.meme_id,
        user_candidates.rank,
        reactions.sent_at,
        user_candidates.built_at

    from user_candidates
    inner join reactions
        on
            user_candidates.user_id = reactions.user_id
            and user_candidates.meme_id = reactions.meme_id
    where reactions.sent_at <= user_candidates.built_at

)

select * from already_sent
