{#
    Each user's ranks are exactly 1..n: the bot pages through them by rank.
#}

with all_user_candidates as (

    select * from {{ ref('user_candidates') }}

),

-- the lists this build wrote (a list is rebuilt whole): the others were tested when written
user_candidates as (

    select all_user_candidates.*

    from all_user_candidates
    where
        all_user_candidates.built_at
        = (select max(latest.built_at) from all_user_candidates as latest)

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
