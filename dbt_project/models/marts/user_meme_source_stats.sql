{#
    A user's reactions per meme source: the personal source affinity the engines use.
    Only reacted rows count; one row per user and source the user reacted to.
#}

with reactions as (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

memes as (

    select * from {{ ref('stg_app__meme') }}

),

per_user_and_source as (

    select
        reactions.user_id,
        memes.meme_source_id,
        count(*) filter (where reactions.is_liked)::integer as nlikes,
        count(*) filter (where reactions.is_disliked)::integer as ndislikes

    from reactions
    inner join memes
        on reactions.meme_id = memes.meme_id
    where reactions.is_reacted
    group by reactions.user_id, memes.meme_source_id

),

final as (

    select
        *,
        {{ build_timestamp() }} as updated_at

    from per_user_and_source

)

select * from final
