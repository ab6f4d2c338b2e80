{#
    Every candidate is servable: status 'ok' and a telegram_file_id (as of the build).
#}

-- Dagster shows this test as an asset check of user_candidates
{{ config(meta={'dagster': {'ref': {'name': 'user_candidates'}}}) }}

with user_candidates as (

    select * from {{ ref('user_candidates') }}

),

memes as (

    select * from {{ ref('stg_app__meme') }}

),

unservable as (

    select
        user_candidates.user_id,
        user_candidates.meme_id,
        memes.status,
        memes.telegram_file_id

    from user_candidates
    inner join memes
        on user_candidates.meme_id = memes.meme_id
    where
        (memes.status <> 'ok' or memes.telegram_file_id is null)
        and memes.updated_at <= user_candidates.built_at

)

select * from unservable
