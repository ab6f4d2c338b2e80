{# one select, no CTE: PostgreSQL does not inline a view whose query has a WITH into the
   queries reading it, which then could not use the app table's indexes through it #}
select
    id as meme_raw_telegram_id,
    meme_source_id,
    post_id,
    url,
    date as posted_at,
    content,
    out_links,
    mentions,
    hashtags,
    forwarded,
    forwarded_url,
    media,
    views as count_views,
    link_preview,
    created_at,
    updated_at

from {{ source('app', 'meme_raw_telegram') }}
