{#
    Each user's ranks are exactly 1..n: the bot pages through them by rank.
#}

with user_candidates as (

    select * from {{ ref('user_candidates') }}

),

per_user as (

    select
        user_id,
        count(*) as count_candidates,
        min(rank) as min_rank,
        max(rank) as max_rank,
        count(distinct rank) as count_distinct_ranks

    from user_candidates
    group by user_id

),

gapped as (

    select * from per_user
    where
        min_rank <> 1
        or max_rank <> count_candidates
        or count_distinct_ranks <> count_candidates

)

select * from gapped
