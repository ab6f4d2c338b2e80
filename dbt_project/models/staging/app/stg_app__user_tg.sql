with source as (

    select * from {{ source('app', 'user_tg') }}

),

renamed as (

    select
        id as user_id,
        username,
        first_name,
        last_name,
        is_premium,
        language_code as interface_language_code,
        deep_link,
        created_at,
        updated_at

    from source

)

select * from renamed
