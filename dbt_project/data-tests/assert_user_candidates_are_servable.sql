{#
    Every candidate of the latest build is servable: status 'ok' and a telegram_file_id (as of
    the build). Lists of earlier builds were checked by those builds; a meme withdrawn since is
    not a fault of the list (updated_at after built_at), and int_candidate_users rebuilds the
    lists holding one.
#}

-- Dagster shows this test as an asset check of user_candidates
{{ config(meta={'dagster': {'ref': {'name': 'user_candidates'}}}) }}

with user_candidates as (

    {{ rows_of_latest_build(ref('user_candidates'), 'built_at') }}

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
