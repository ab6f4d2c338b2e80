{#
    Stats per meme source (the anchor's meme_source_stats): reactions and sends of its memes,
    how many memes it gave and how many of them were sent, and its newest meme's age.
#}

with meme_sources as not materialized (

    select * from {{ ref('stg_app__meme_source') }}

),

memes as not materialized (

    select * from {{ ref('stg_app__meme') }}

),

reaction_stats as not materialized (

    select * from {{ ref('int_meme_reaction_stats') }}

),

per_source as (

    select
        memes.meme_source_id,
        coalesce(sum(reaction_stats.nlikes), 0) as nlikes,
        coalesce(sum(reaction_stats.ndislikes), 0) as ndislikes,
        coalesce(sum(reaction_stats.nmemes_sent), 0) as nmemes_sent_events,
        count(*) as nmemes_parsed,
        count(*) filter (where reaction_stats.nmemes_sent > 0) as nmemes_sent,
        min(
            floor({{ seconds_between('memes.published_at', build_timestamp()) }} / 86400)
        ) as latest_meme_age

    from memes
    left join reaction_stats
        on memes.meme_id = reaction_stats.meme_id
    group by memes.meme_source_id

),

final as (

    select
        meme_sources.meme_source_id,
        meme_sources.source_type,
        coalesce(per_source.nlikes, 0)::integer as nlikes,
        coalesce(per_source.ndislikes, 0)::integer as ndislikes,
        coalesce(per_source.nmemes_sent_events, 0)::integer as nmemes_sent_events,
        coalesce(per_source.nmemes_parsed, 0)::integer as nmemes_parsed,
        coalesce(per_source.nmemes_sent, 0)::integer as nmemes_sent,
        greatest(per_source.latest_meme_age, 0)::integer as latest_meme_age,
        -- the source's like rate with a 1-like/1-dislike prior (0.5 for an unrated source)
        (
            (coalesce(per_source.nlikes, 0) + 1.0)
            / (coalesce(per_source.nlikes, 0) + coalesce(per_source.ndislikes, 0) + 2.0)
        )::double precision as like_rate_smoothed,
        {{ build_timestamp() }} as updated_at

    from meme_sources
    left join per_source
        on meme_sources.meme_source_id = per_source.meme_source_id

)

select * from final
