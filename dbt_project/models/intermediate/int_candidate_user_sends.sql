{#
    Every send of the users whose lists this build makes (int_candidate_users.needs_build):
    what the engines must not offer them again. A narrow copy, read once per engine, instead of
    the wide reaction table of every user.
#}

-- fresh statistics: the candidate models plan their joins on this table right away
{{ config(materialized='table', post_hook=['analyze {{ this }}']) }}

with candidate_users as not materialized (

    select * from {{ ref('int_candidate_users') }}
    where needs_build

),

reactions as not materialized (

    select * from {{ ref('stg_app__user_meme_reaction') }}

),

final as (

    select
        reactions.user_id,
        reactions.meme_id

    from reactions
    inner join candidate_users
        on reactions.user_id = candidate_users.user_id

)

select * from final
