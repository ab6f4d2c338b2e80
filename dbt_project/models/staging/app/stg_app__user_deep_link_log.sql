{# one select, no CTE: PostgreSQL does not inline a view whose query has a WITH into the
   queries reading it, which then could not use the app table's indexes through it #}
select
    id as user_deep_link_log_id,
    user_id,
    deep_link,
    created_at as opened_at

from {{ source('app', 'user_deep_link_log') }}
