{#
    How many servable memes each user of this build (int_candidate_users.needs_build) was not
    sent yet, in any language and in the user's languages: what user_candidate_coverage holds
    each new list against. Apart from user_candidates, so that it is counted while the engines
    run: after user_candidates only its own rows are left to count (a full build spent 13 s
    after the list's tests in the coverage model, most of it here).
#}

-- fresh statistics for the coverage model's join, which runs right after the lists
{{ config(materialized='table', unlogged=true, post_hook=['analyze {{ this }}']) }}

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
-- 10M reactions scanned the table
user_sends as not materialized (

    select * from {{ ref('int_candidate_user_sends') }}

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

final as (

    select
        users.user_id,
        (
            servable_total.count_memes - coalesce(sent_servable.count_sent, 0)
        )::integer as count_unsent_memes,
        (
            coalesce(servable_in_user_languages.count_memes, 0)
            - coalesce(sent_servable.count_sent_in_user_languages, 0)
        )::integer as count_unsent_memes_in_user_languages

    from users
    cross join servable_total
    left join servable_in_user_languages
        on users.user_id = servable_in_user_languages.user_id
    left join sent_servable
        on users.user_id = sent_servable.user_id

)

select * from final
