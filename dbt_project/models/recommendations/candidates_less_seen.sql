{#
    Engine 'less_seen': the least-sent memes first (the anchor's moderator low-sent pool,
    ordered by sends then id), scored 1 / (1 + sends). Moderators get
    var('moderator_least_sent_share') of their list from it.
#}

with servable_memes as not materialized (

    select * from {{ ref('int_servable_memes') }}

),

meme_stats as not materialized (

    select * from {{ ref('meme_stats') }}

),

ranked_memes as (

    select
        servable_memes.meme_id,
        servable_memes.meme_source_id,
        servable_memes.language_code,
        1.0 / (1 + meme_stats.nmemes_sent) as base_score,
        row_number() over (
            partition by servable_memes.language_code
            order by meme_stats.nmemes_sent, servable_memes.meme_id
        ) as language_position

    from servable_memes
    inner join meme_stats
        on servable_memes.meme_id = meme_stats.meme_id

),

{{- engine_candidates('less_seen') }}
