{#
    Stats per meme: every 'ok' meme, plus any other meme that was ever sent, with 0 defaults.
    Formulas follow the anchor bot (reference section 3), but lr_smoothed is computed over the
    whole history (the anchor's 3-hour incremental version zeroed inactive memes).
#}

with memes as (

    select * from {{ ref('stg_app__meme') }}

),

reactions as (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

deep_links as (

    select * from {{ ref('stg_app__user_deep_link_log') }}

),

raw_impressions as (

    select * from {{ ref('int_meme_raw_impressions') }}

),

lr_smoothed as (

    select * from {{ ref('int_meme_lr_smoothed') }}

),

reaction_counts as (

    select
        meme_id,
        count(*) filter (where is_liked) as nlikes,
        count(*) filter (where is_disliked) as ndislikes,
        count(*) as nmemes_sent,
        percentile_cont(0.5) within group (
            order by extract(epoch from reacted_at - sent_at)::double precision
        ) filter (
            where reacted_at - sent_at
            between interval '1 second' * {{ var('reaction_time_min_seconds') }}
            and interval '1 second' * {{ var('reaction_time_max_seconds') }}
        ) as median_reaction_time_sec

    from reactions
    group by meme_id

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
        coalesce(reaction_counts.nlikes, 0)::integer as nlikes,
        coalesce(reaction_counts.ndislikes, 0)::integer as ndislikes,
        coalesce(reaction_counts.nmemes_sent, 0)::integer as nmemes_sent,
        greatest(
            0, floor(extract(epoch from {{ build_timestamp() }} - memes.published_at) / 86400)
        )::integer as age_days,
        coalesce(raw_impressions.raw_impr_rank, 0) as raw_impr_rank,
        coalesce(reaction_counts.median_reaction_time_sec, 99999)::double precision
            as sec_to_react,
        coalesce(invites.invited_count, 0)::integer as invited_count,
        coalesce(lr_smoothed.lr_smoothed, 0)::double precision as lr_smoothed

    from memes
    left join reaction_counts
        on memes.meme_id = reaction_counts.meme_id
    left join raw_impressions
        on memes.meme_id = raw_impressions.meme_id
    left join invites
        on memes.meme_id = invites.meme_id
    left join lr_smoothed
        on memes.meme_id = lr_smoothed.meme_id
    where memes.status = 'ok' or reaction_counts.meme_id is not null

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
