{#
    Stats per meme: every 'ok' meme, plus any other meme that was ever sent, with 0 defaults.
    Formulas follow the anchor bot (reference section 3). The reaction figures come from the
    incremental int_meme_reaction_stats, computed over the whole history, so a meme without
    recent reactions keeps its lr_smoothed and engagement_score (the anchor's 3-hour version
    zeroed them); the cheap parts (age, views rank, invites) are recomputed every build.
#}

with memes as not materialized (

    select * from {{ ref('stg_app__meme') }}

),

deep_links as not materialized (

    select * from {{ ref('stg_app__user_deep_link_log') }}

),

raw_impressions as not materialized (

    select * from {{ ref('int_meme_raw_impressions') }}

),

reaction_stats as not materialized (

    select * from {{ ref('int_meme_reaction_stats') }}

),

-- share links are `s_<sharing user id>_<meme id>`; opening one's own link is no invite
share_link_opens as (

    select
        user_id,
        split_part(deep_link, '_', 2)::bigint as sharing_user_id,
        split_part(deep_link, '_', 3)::bigint as meme_id

    from deep_links
    where deep_link ~ '^s_[0-9]{1,18}_[0-9]{1,18}$'

),

invites as (

    select
        meme_id,
        count(distinct user_id) as invited_count

    from share_link_opens
    where user_id <> sharing_user_id
    group by meme_id

),

joined as (

    select
        memes.meme_id,
        coalesce(reaction_stats.nlikes, 0)::integer as nlikes,
        coalesce(reaction_stats.ndislikes, 0)::integer as ndislikes,
        coalesce(reaction_stats.nmemes_sent, 0)::integer as nmemes_sent,
        greatest(
            0, floor({{ seconds_between('memes.published_at', build_timestamp()) }} / 86400)
        )::integer as age_days,
        coalesce(raw_impressions.raw_impr_rank, 0) as raw_impr_rank,
        coalesce(reaction_stats.sec_to_react, 99999)::double precision as sec_to_react,
        coalesce(invites.invited_count, 0)::integer as invited_count,
        coalesce(reaction_stats.lr_smoothed, 0)::double precision as lr_smoothed,
        coalesce(reaction_stats.engagement_score, 0)::double precision as engagement_score

    from memes
    left join reaction_stats
        on memes.meme_id = reaction_stats.meme_id
    left join raw_impressions
        on memes.meme_id = raw_impressions.meme_id
    left join invites
        on memes.meme_id = invites.meme_id
    where memes.status = 'ok' or reaction_stats.meme_id is not null

),

final as (

    select
        *,
        -- the general, non-personal quality: bias-free lr_smoothed plus a like rate with a
        -- 1-like/1-dislike prior (0.5 for an unseen meme)
        (lr_smoothed + (nlikes + 1.0) / (nlikes + ndislikes + 2.0))::double precision
            as quality_score,
        {{ build_timestamp() }} as updated_at

    from joined

)

select * from final
