with source as (

    select * from {{ source('app', 'user_language') }}

),

renamed as (

    select
        user_id,
        language_code,
        created_at

    from source

)

select * from renamed
