{# one select, no CTE: PostgreSQL does not inline a view whose query has a WITH into the
   queries reading it, which then could not use the app table's indexes through it #}
select
    id as meme_id,
    meme_source_id,
    raw_meme_id,
    status,
    status_reason,
    type as meme_type,
    telegram_file_id,
    caption,
    language_code,
    content_url,
    content_sha256,
    perceptual_hash,
    width,
    height,
    duplicate_of as duplicate_of_meme_id,
    published_at,
    created_at,
    updated_at

from {{ source('app', 'meme') }}
