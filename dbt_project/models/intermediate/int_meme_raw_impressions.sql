{#
    How widely each meme was seen at its source: the raw post's views and its quartile among
    the source's memes (0 = the top 25% by views ... 3 = the bottom 25%). Memes without a view
    count (local files, uploads) get quartile 0, like the anchor bot.

    A table, not a view: its tests and meme_stats each recomputed the ranking over every meme
    (1-3 s apiece at full size).
#}

{{ config(materialized='table') }}

with memes as not materialized (

    select * from {{ ref('stg_app__meme') }}

),

meme_sources as not materialized (

    select * from {{ ref('stg_app__meme_source') }}

),

raw_telegram as not materialized (

    select * from {{ ref('stg_app__meme_raw_telegram') }}

),

meme_views as (

    select
        memes.meme_id,
        memes.meme_source_id,
        raw_telegram.count_views as raw_views

    from memes
    inner join meme_sources
        on memes.meme_source_id = meme_sources.meme_source_id
    left join raw_telegram
        on
            meme_sources.source_type = 'telegram'
            and memes.raw_meme_id = raw_telegram.meme_raw_telegram_id

),

ranked as (

    select
        meme_id,
        row_number() over (
            partition by meme_source_id order by raw_views desc, meme_id
        ) as views_position_in_source,
        count(*) over (partition by meme_source_id) as count_memes_with_views_in_source

    from meme_views
    where raw_views is not null

),

final as (

    select
        meme_views.meme_id,
        meme_views.meme_source_id,
        meme_views.raw_views,
        coalesce(
            floor(
                4.0 * (ranked.views_position_in_source - 1)
                / ranked.count_memes_with_views_in_source
            )::integer,
            0
        ) as raw_impr_rank

    from meme_views
    left join ranked
        on meme_views.meme_id = ranked.meme_id

)

select * from final
