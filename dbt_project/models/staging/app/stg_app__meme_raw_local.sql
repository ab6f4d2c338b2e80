{# one select, no CTE: PostgreSQL does not inline a view whose query has a WITH into the
   queries reading it, which then could not use the app table's indexes through it #}
select
    id as meme_raw_local_id,
    meme_source_id,
    relative_path,
    content_sha256,
    caption,
    language_code,
    date as added_at,
    created_at,
    updated_at

from {{ source('app', 'meme_raw_local') }}
