with source as (

    select * from {{ source('app', 'meme_source') }}

),

renamed as (

    select
        id as meme_source_id,
        type as source_type,
        url,
        status,
        language_code,
        added_by as added_by_user_id,
        data,
        parsed_at,
        created_at,
        updated_at

    from source

)

select * from renamed
