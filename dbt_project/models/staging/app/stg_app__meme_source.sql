{# one select, no CTE: PostgreSQL does not inline a view whose query has a WITH into the
   queries reading it, which then could not use the app table's indexes through it #}
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

from {{ source('app', 'meme_source') }}
