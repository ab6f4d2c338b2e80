{# one select, no CTE: PostgreSQL does not inline a view whose query has a WITH into the
   queries reading it, which then could not use the app table's indexes through it #}
select
    id as user_id,
    nickname,
    type as user_type,
    inviter_id as inviter_user_id,
    created_at,
    last_active_at,
    blocked_bot_at

from {{ source('app', 'user') }}
