{#
    Each user's ranks are exactly 1..n, n <= var('candidates_per_user'): the bot pages through
    them by rank. Also the list's uniqueness on (user_id, rank) and the range of rank, in the
    same pass (n distinct ranks for n rows starting at 1 leave no repeat, gap or rank above n).
#}

-- the lists this build wrote (a list is rebuilt whole): the others were tested when written
with user_candidates as (

    {{ rows_of_latest_build(ref('user_candidates'), 'built_at') }}

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
        or max_rank > {{ var('candidates_per_user') }}

)

select * from gapped
