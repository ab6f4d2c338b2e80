{#
    A user's sends, likes and dislikes per meme source: the personal source affinity the
    engines use. One row per user and source the user was sent a meme from.

    Incremental by difference, as int_meme_reaction_stats: each row int_reactions_scored
    rewrote since this model's watermark carries the version it replaced, so a pair's counts
    move by (new - previous) and nothing else of the pair is read. Recomputing each changed
    pair from all its sends read 6-8x the rows a build changed (8 s of a 100k-reaction build at
    full size). A pair whose rows include a replaced version this model never counted
    (int_reactions_scored built twice in between) is recounted from all its rows.

    Only pairs whose counts move are written (a new send always moves one): about half the
    pairs a build's rescored rows touch only had their running sums rescored (83k of 152k per
    100k events at full size). updated_at is the newest scored_at the pair counted; its maximum,
    the watermark, is then the scores' latest build whenever that build sent or changed a
    reaction. A build that moved no count leaves the watermark behind: the next one reads those
    rescored rows again, and their differences are zero again, or they are recounted.

    The pre-hook: an incremental build reads the rows of the latest scores, newer than the
    planner's statistics; it guessed 1.4M rows for 190k at full size and scanned the whole
    table instead of the (scored_at, changed_at) index (2 s against 0.15 s). Analyzing the
    scores after each build fixed that but turned the scores' tests, which filter on a
    scored_at known only at run time, into full scans.

    A full build groups the 10M scores in order (a sort, then one pass that emits the pairs in
    the order the table is written in): hashing them spilled 4.3M groups in 21 batches and then
    sorted the pairs anyway (select 12.4 s against 7.3 s).
    The updated_at index: the tests check the rows of the latest build (updated_at = its max),
    which otherwise took a scan of the whole table each (2-4 s apiece at full size).
#}

{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'meme_source_id'],
        incremental_strategy='sorted_delete_insert',
        on_schema_change='fail',
        pre_hook=[
            "{% if is_incremental() %}set local enable_seqscan = off"
            ~ "{% else %}set local enable_hashagg = off{% endif %}",
        ],
        post_hook=[
            "{{ index_once('user_id, meme_source_id', unique=true) }}",
            "{{ index_once('updated_at') }}",
        ],
    )
}}

with scored_reactions as not materialized (

    select * from {{ ref('int_reactions_scored') }}

),

{% if is_incremental() %}
{%- set watermark = incremental_watermark('updated_at') %}

changed_pairs as (

    select
        user_id,
        meme_source_id,
        -- a replaced version written after this model's last build was never counted here
        coalesce(bool_or(previous_scored_at > {{ watermark }}), false) as needs_recount,
        count(*) filter (where previous_scored_at is null) as delta_nmemes_sent,
        count(*) filter (where is_liked)
        - count(*) filter (where previous_is_liked) as delta_nlikes,
        count(*) filter (where is_disliked)
        - count(*) filter (where previous_is_disliked) as delta_ndislikes,
        max(scored_at) as updated_at

    from scored_reactions
    where scored_at > {{ watermark }}
    group by user_id, meme_source_id

),

{% endif %}

{{ rows_to_recount('recounted_rows', 'scored_reactions', 'changed_pairs', ['user_id', 'meme_source_id']) }}

recounted as (

    select
        user_id,
        meme_source_id,
        count(*) as nmemes_sent,
        count(*) filter (where is_liked) as nlikes,
        count(*) filter (where is_disliked) as ndislikes,
        max(scored_at) as updated_at

    from recounted_rows
    group by user_id, meme_source_id

),

{% if is_incremental() %}

-- the counts this model holds, moved by the difference
moved as (

    select
        changed_pairs.user_id,
        changed_pairs.meme_source_id,
        coalesce(previous.nmemes_sent, 0) + changed_pairs.delta_nmemes_sent as nmemes_sent,
        coalesce(previous.nlikes, 0) + changed_pairs.delta_nlikes as nlikes,
        coalesce(previous.ndislikes, 0) + changed_pairs.delta_ndislikes as ndislikes,
        changed_pairs.updated_at

    from changed_pairs
    left join {{ this }} as previous
        on
            changed_pairs.user_id = previous.user_id
            and changed_pairs.meme_source_id = previous.meme_source_id
    where
        not changed_pairs.needs_recount
        and (
            changed_pairs.delta_nmemes_sent <> 0
            or changed_pairs.delta_nlikes <> 0
            or changed_pairs.delta_ndislikes <> 0
        )

),

per_user_and_source as (

    select * from recounted
    union all
    select * from moved

),

{% else %}

per_user_and_source as (

    select * from recounted

),

{% endif %}

final as (

    select
        user_id,
        meme_source_id,
        nmemes_sent::integer as nmemes_sent,
        nlikes::integer as nlikes,
        ndislikes::integer as ndislikes,
        updated_at

    from per_user_and_source

)

select * from final
{%- if not is_incremental() %}
-- a user's rows together: the engines read the few thousand users of an incremental build
-- through the (user_id, meme_source_id) index, which in the hash aggregate's order touched
-- every page of the table (0.7 s per engine at full size)
order by user_id, meme_source_id
{%- endif %}
