{#
    lr_smoothed per meme: a like rate with each user's bias removed (the anchor bot's formula,
    computed over all history).

    1. like_sign = +1 for a like, -1 for a dislike (unreacted sends are ignored);
    2. the user's running mean of like_sign to date (ordered by sent_at, current row included);
    3. only rows where the user's running count >= var('min_user_reactions'):
       debiased_like = like_sign - running mean (range -2..2);
    4. per meme the average; memes with fewer than var('min_meme_reactions') such rows get 0.
#}

with reactions as (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

signed as (

    select
        user_id,
        meme_id,
        sent_at,
        case when is_liked then 1.0 else -1.0 end as like_sign

    from reactions
    where is_reacted

),

user_running_means as (

    select
        *,
        avg(like_sign) over user_to_date as user_running_like_mean,
        count(*) over user_to_date as user_running_count

    from signed
    window user_to_date as (
        partition by user_id
        order by sent_at, meme_id
        rows between unbounded preceding and current row
    )

),

debiased as (

    select
        meme_id,
        like_sign - user_running_like_mean as debiased_like

    from user_running_means
    where user_running_count >= {{ var('min_user_reactions') }}

),

per_meme as (

    select
        meme_id,
        avg(debiased_like) as mean_debiased_like,
        count(*) as count_debiased_reactions

    from debiased
    group by meme_id

),

final as (

    select
        meme_id,
        case
            when count_debiased_reactions >= {{ var('min_meme_reactions') }}
                then mean_debiased_like::double precision
            else 0::double precision
        end as lr_smoothed,
        count_debiased_reactions::integer as count_debiased_reactions

    from per_meme

)

select * from final
