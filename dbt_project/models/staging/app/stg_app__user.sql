with source as (

    select * from {{ source('app', 'user') }}

),

renamed as (

    select
        id as user_id,
        nickname,
        type as user_type,
        inviter_id as inviter_user_id,
        created_at,
        last_active_at,
        blocked_bot_at

    from source

)

select * from renamed
