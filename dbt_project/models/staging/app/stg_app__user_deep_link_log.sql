with source as (

    select * from {{ source('app', 'user_deep_link_log') }}

),

renamed as (

    select
        id as user_deep_link_log_id,
        user_id,
        deep_link,
        created_at as opened_at

    from source

)

select * from renamed
