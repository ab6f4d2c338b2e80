{# one select, no CTE: PostgreSQL does not inline a view whose query has a WITH into the
   queries reading it, which then could not use the app table's indexes through it #}
select
    user_id,
    language_code,
    created_at

from {{ source('app', 'user_language') }}
