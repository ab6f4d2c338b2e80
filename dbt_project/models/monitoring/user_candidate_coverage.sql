{#
    Whether each user's prepared feed covers what the user could still be sent: a user is
    starved when user_candidates has no row for them although unsent servable memes exist,
    the "memes ended" screen the design forbids. Checks the users whose list this build made
    (int_candidate_users.needs_build): the others' lists are as checked when they were made.
    Their unsent memes are counted beside the engines (int_candidate_user_unsent_counts), so
    that only the lists themselves are counted here, after the build's last model.
#}

with unsent_counts as not materialized (

    select * from {{ ref('int_candidate_user_unsent_counts') }}

),

-- these users' lists through the key index (user_id leads): a join grouped all 6M rows
user_candidates as not materialized (

    select user_candidates.*

    from {{ ref('user_candidates') }} as user_candidates
    where user_candidates.user_id = any(array(select unsent_counts.user_id from unsent_counts))

),

candidate_counts as (

    select
        user_id,
        count(*) as count_candidates,
        count(*) filter (where engine not like 'fallback%') as count_main_engine_candidates

    from user_candidates
    group by user_id

),

joined as (

    select
        unsent_counts.user_id,
        coalesce(candidate_counts.count_candidates, 0)::integer as count_candidates,
        coalesce(candidate_counts.count_main_engine_candidates, 0)::integer
            as count_main_engine_candidates,
        unsent_counts.count_unsent_memes,
        unsent_counts.count_unsent_memes_in_user_languages

    from unsent_counts
    left join candidate_counts
        on unsent_counts.user_id = candidate_counts.user_id

),

final as (

    select
        *,
        count_candidates = 0 and count_unsent_memes > 0 as is_starved,
        count_candidates < least({{ var('candidates_per_user') }}, count_unsent_memes)
            as is_short,
        {{ build_timestamp() }} as checked_at

    from joined

)

select * from final
