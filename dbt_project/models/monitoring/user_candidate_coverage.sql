{#
    Whether each user's prepared feed covers what the user could still be sent: a user is
    starved when user_candidates has no row for them although unsent servable memes exist,
    the "memes ended" screen the design forbids. Checks the users whose list this build made
    (int_candidate_users.needs_build): the others' lists are as checked when they were made.
#}

with users as not materialized (

    select * from {{ ref('int_candidate_users') }}
    where needs_build

),

user_languages as not materialized (

    select * from {{ ref('stg_app__user_language') }}

),

servable_memes as not materialized (

    select * from {{ ref('int_servable_memes') }}

),

-- the sends of exactly these users, as the engines read them: a join of the users to all
-- 10M reactions scanned the table (0.9 s of this model's 1.7 s at full size)
user_sends as not materialized (

    select * from {{ ref('int_candidate_user_sends') }}

),

-- these users' lists through the primary key (user_id leads): a join grouped all 6M rows
user_candidates as not materialized (

    select user_candidates.*

    from {{ ref('user_candidates') }} as user_candidates
    where user_candidates.user_id = any(array(select users.user_id from users))

),

servable_per_language as (

    select
        language_code,
        count(*) as count_memes

    from servable_memes
    group by language_code

),

servable_total as (

    select count(*) as count_memes from servable_memes

),

servable_in_user_languages as (

    select
        user_languages.user_id,
        sum(servable_per_language.count_memes) as count_memes

    from user_languages
    inner join servable_per_language
        on user_languages.language_code = servable_per_language.language_code
    group by user_languages.user_id

),

sent_servable as (

    select
        user_sends.user_id,
        count(*) as count_sent,
        count(user_languages.user_id) as count_sent_in_user_languages

    from user_sends
    inner join servable_memes
        on user_sends.meme_id = servable_memes.meme_id
    left join user_languages
        on
            user_sends.user_id = user_languages.user_id
            and servable_memes.language_code = user_languages.language_code
    group by user_sends.user_id

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
        users.user_id,
        coalesce(candidate_counts.count_candidates, 0)::integer as count_candidates,
        coalesce(candidate_counts.count_main_engine_candidates, 0)::integer
            as count_main_engine_candidates,
        (
            servable_total.count_memes - coalesce(sent_servable.count_sent, 0)
        )::integer as count_unsent_memes,
        (
            coalesce(servable_in_user_languages.count_memes, 0)
            - coalesce(sent_servable.count_sent_in_user_languages, 0)
        )::integer as count_unsent_memes_in_user_languages

    from users
    cross join servable_total
    left join candidate_counts
        on users.user_id = candidate_counts.user_id
    left join servable_in_user_languages
        on users.user_id = servable_in_user_languages.user_id
    left join sent_servable
        on users.user_id = sent_servable.user_id

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
