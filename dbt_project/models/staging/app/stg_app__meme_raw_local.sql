with source as (

    select * from {{ source('app', 'meme_raw_local') }}

),

renamed as (

    select
        id as meme_raw_local_id,
        meme_source_id,
        relative_path,
        content_sha256,
        caption,
        language_code,
        date as added_at,
        created_at,
        updated_at

    from source

)

select * from renamed
