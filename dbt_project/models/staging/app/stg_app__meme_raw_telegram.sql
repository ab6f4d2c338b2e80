with source as (

    select * from {{ source('app', 'meme_raw_telegram') }}

),

renamed as (

    select
        id as meme_raw_telegram_id,
        meme_source_id,
        post_id,
        url,
        date as posted_at,
        content,
        out_links,
        mentions,
        hashtags,
        forwarded,
        forwarded_url,
        media,
        views as count_views,
        link_preview,
        created_at,
        updated_at

    from source

)

select * from renamed
