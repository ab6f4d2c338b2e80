{#
    The memes the bot may send: status 'ok' with a non-empty telegram_file_id. The one place
    that defines "servable" for the engines, cold start and monitoring.
#}

with memes as not materialized (

    select * from {{ ref('stg_app__meme') }}

),

final as (

    select
        meme_id,
        meme_source_id,
        language_code,
        published_at

    from memes
    where status = 'ok' and telegram_file_id <> ''

)

select * from final
