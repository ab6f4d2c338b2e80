{#
    The feed of users who have no user_candidates rows yet (new since the last build), per
    language: that language's servable memes first (engine 'cold_start'), then every other
    servable meme (engine 'cold_start_other_language'), each by general quality.

    Languages: every language of a servable meme or of a user, plus '*', the list for any
    other language (no language preference: every meme by quality).
#}

with servable_memes as not materialized (

    select * from {{ ref('int_servable_memes') }}

),

user_languages as not materialized (

    select * from {{ ref('stg_app__user_language') }}

),

meme_stats as not materialized (

    select * from {{ ref('meme_stats') }}

),

rated_memes as (

    select
        servable_memes.meme_id,
        servable_memes.language_code,
        servable_memes.published_at,
        meme_stats.quality_score

    from servable_memes
    inner join meme_stats
        on servable_memes.meme_id = meme_stats.meme_id

),

-- Only these can make a list of n = var('cold_start_candidates_per_language'): a language's
-- n best own memes and, for a language with k < n of its own, the n - k best others, which
-- lie within the first n + k < 2n memes overall. Pairing every language with all 176k memes
-- and sorting each took 7 s at full size.
head_memes as (

    select *
    from (
        select
            *,
            row_number() over (
                partition by language_code
                order by quality_score desc, published_at desc, meme_id desc
            ) as language_position,
            row_number() over (
                order by quality_score desc, published_at desc, meme_id desc
            ) as overall_position

        from rated_memes
    ) as positioned
    where
        language_position <= {{ var('cold_start_candidates_per_language') }}
        or overall_position <= 2 * {{ var('cold_start_candidates_per_language') }}

),

languages as (

    select language_code from rated_memes
    where language_code is not null
    union
    select language_code from user_languages
    union
    select '*' as language_code

),

language_meme_pairs as (

    select
        languages.language_code,
        head_memes.meme_id,
        head_memes.quality_score,
        head_memes.published_at,
        coalesce(
            languages.language_code = '*'
            or head_memes.language_code = languages.language_code,
            false
        ) as is_own_language

    from languages
    cross join head_memes

),

ranked as (

    select
        language_code,
        meme_id,
        case
            when is_own_language then 'cold_start' else 'cold_start_other_language'
        end as engine,
        quality_score as score,
        row_number() over (
            partition by language_code
            order by is_own_language desc, quality_score desc, published_at desc, meme_id desc
        ) as candidate_rank

    from language_meme_pairs

),

final as (

    select
        language_code::text as language_code,
        meme_id::bigint as meme_id,
        engine::text as engine,
        score::double precision as score,
        candidate_rank::integer as rank,
        {{ build_timestamp() }} as built_at

    from ranked
    where candidate_rank <= {{ var('cold_start_candidates_per_language') }}

)

select * from final
