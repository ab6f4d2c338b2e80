{#
    Engine "fallback": makes sure a user's list is never empty while any servable meme is
    unsent. Unsent memes of the user's languages first (engine 'fallback'), then those of
    other languages (engine 'fallback_other_language'), each by meme_stats.quality_score.

    Each user of this build (int_candidate_users.needs_build) takes the head of two quality
    rankings, one per language of the user and one over all memes, each long enough to hold
    var('candidates_per_user') unsent memes, so the result has min(candidates_per_user,
    unsent servable memes) rows per user.
#}

with servable_memes as (

    select * from {{ ref('int_servable_memes') }}

),

meme_stats as (

    select * from {{ ref('meme_stats') }}

),

user_languages as (

    select * from {{ ref('stg_app__user_language') }}

),

candidate_users as (

    select * from {{ ref('int_candidate_users') }}
    where needs_build

),

ranked_memes as (

    select
        servable_memes.meme_id,
        servable_memes.language_code,
        meme_stats.quality_score,
        row_number() over (
            partition by servable_memes.language_code
            order by meme_stats.quality_score desc, servable_memes.meme_id desc
        ) as language_position,
        row_number() over (
            order by meme_stats.quality_score desc, servable_memes.meme_id desc
        ) as overall_position

    from servable_memes
    inner join meme_stats
        on servable_memes.meme_id = meme_stats.meme_id

),

user_sends as (

    select * from {{ ref('int_candidate_user_sends') }}

),

-- Each user reads two heads: of their languages' ranking and of the overall one. A head
-- holds var('candidates_per_user') unsent memes once it is that long plus the user's sends
-- among its first candidates_per_user + nmemes_sent positions (no more of them can be sent).
user_heads as (

    select
        user_languages.user_id,
        user_languages.language_code,
        {{ var('candidates_per_user') }} + candidate_users.nmemes_sent as max_prefix

    from user_languages
    inner join candidate_users
        on user_languages.user_id = candidate_users.user_id

    union all

    select
        user_id,
        '*' as language_code,
        {{ var('candidates_per_user') }} + nmemes_sent as max_prefix

    from candidate_users

),

-- the positions of each meme in both rankings, keyed like user_heads
meme_positions as (

    select
        meme_id,
        language_code,
        language_position as position

    from ranked_memes

    union all

    select
        meme_id,
        '*' as language_code,
        overall_position as position

    from ranked_memes

),

-- joined on the meme first: the planner otherwise pairs every user with every ranked meme
sends_in_rankings as materialized (

    select
        user_sends.user_id,
        user_sends.meme_id,
        meme_positions.language_code,
        meme_positions.position

    from user_sends
    inner join meme_positions
        on user_sends.meme_id = meme_positions.meme_id

),

sent_in_heads as materialized (

    select
        sends_in_rankings.user_id,
        sends_in_rankings.meme_id,
        sends_in_rankings.language_code

    from sends_in_rankings
    inner join user_heads
        on
            sends_in_rankings.user_id = user_heads.user_id
            and sends_in_rankings.language_code = user_heads.language_code
    where sends_in_rankings.position <= user_heads.max_prefix

),

head_slots as (

    select
        user_heads.user_id,
        user_heads.language_code,
        slots.position

    from user_heads
    left join (
        select
            user_id,
            language_code,
            count(*) as count_sent

        from sent_in_heads
        group by user_id, language_code
    ) as sent_counts
        on
            user_heads.user_id = sent_counts.user_id
            and user_heads.language_code = sent_counts.language_code
    cross join lateral generate_series(
        1, {{ var('candidates_per_user') }} + coalesce(sent_counts.count_sent, 0)
    ) as slots (position)

),

pool as (

    select distinct
        head_slots.user_id,
        meme_positions.meme_id

    from head_slots
    inner join meme_positions
        on
            head_slots.language_code = meme_positions.language_code
            and head_slots.position = meme_positions.position

),

unseen as (

    select pool.*

    from pool
    left join sent_in_heads
        on pool.user_id = sent_in_heads.user_id and pool.meme_id = sent_in_heads.meme_id
    where sent_in_heads.meme_id is null

),

scored as (

    select
        unseen.user_id,
        unseen.meme_id,
        user_languages.user_id is not null as is_user_language,
        case
            when user_languages.user_id is not null then 'fallback'
            else 'fallback_other_language'
        end as engine,
        ranked_memes.quality_score as score

    from unseen
    inner join ranked_memes
        on unseen.meme_id = ranked_memes.meme_id
    left join user_languages
        on
            unseen.user_id = user_languages.user_id
            and ranked_memes.language_code = user_languages.language_code

),

ranked as (

    select
        user_id,
        meme_id,
        engine,
        score,
        row_number() over (
            partition by user_id
            order by
                is_user_language desc,
                score desc,
                {{ per_user_tiebreak('user_id', 'meme_id') }}
        )::integer as engine_rank

    from scored

),

final as (

    select * from ranked
    where engine_rank <= {{ var('candidates_per_user') }}

)

select * from final
