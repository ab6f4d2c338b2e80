{# one select, no CTE: PostgreSQL does not inline a view whose query has a WITH into the
   queries reading it, which then could not use the app table's indexes through it #}
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

from {{ source('app', 'user_tg') }}
