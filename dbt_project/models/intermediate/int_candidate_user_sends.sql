{#
    Every send of the users whose lists this build makes (int_candidate_users.needs_build):
    what the engines must not offer them again. A narrow copy, read once per engine, instead of
    the wide reaction table of every user. Unlogged: rebuilt whole by every build and read only
    by it (a crash empties it until the next build, which rebuilds it anyway).
#}

{#
    The pre-hook: the reactions a build reads are cached, so a random read costs about what
    a sequential one does. At the default cost (4x) the planner scanned all 10M reactions for
    the 370k sends of an incremental build's 2.8k users (1.9 s); at 1.1 it reads them by user
    through the key (0.3 s), and still scans the table when a full build asks for every user.
    The post-hooks: a unique index on the key, which the key test checks instead of grouping
    6.6M rows (the engines wait for that test); the rows are written in key order (a full
    build merges the reactions' key index with the users), so the index is built from sorted
    rows (full size: 3.8 s to write and 1.6 s to index, against 2.3 s to write and a 5.9 s
    test). Then fresh statistics, as the candidate models plan their joins on this table
    right away.
#}
{{
    config(
        materialized='table',
        unlogged=true,
        pre_hook=['set local random_page_cost = 1.1'],
        post_hook=[
            "{{ index_once('user_id, meme_id', unique=true) }}",
            'analyze {{ this }}',
        ],
    )
}}

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
    order by reactions.user_id, reactions.meme_id

)

select * from final
