{#
    The head of a ranking a user has not been sent: the bounded read candidates_fallback makes
    per user. The engines read theirs in macros/engine_candidates.sql (a per-head lateral that
    stops at exactly the pool size and finds sends by binary search); the fallback still uses
    this form.

    Emits CTEs (end the model's previous CTE with a comma; the last one is `name`):

    - `ranked`: a CTE of memes in order, one row per (ranking key, position): meme_id, the key
      column (a language, or '*' for one ranking over all), the position column (1..n per key)
      and the `columns` the caller needs;
    - `heads`: a CTE of (user_id, the key column, max_prefix, pool_size): the user reads the
      ranking of that key no further than max_prefix positions, for pool_size unsent memes;
    - `sends`: a CTE of (user_id, meme_id), the memes the users were sent;
    - `max_position`: a bound on every head's max_prefix, if there is one (reads fewer sends);
    - `columns`: the columns of `ranked` to carry, besides the meme, key and position;
    - `head_columns`: the columns of `heads` to carry (a per-user value each row uses: joined
      once per head instead of once per row).

    `name` then holds, for every head, at least the first pool_size memes of its ranking the
    user was not sent (fewer when max_prefix ends first): user_id, meme_id, the key and position
    columns, `columns` and `head_columns`. At least, not exactly: the head is pool_size
    positions plus the user's sends within max_prefix, so a user whose sends lie after the
    first pool_size unsent memes gets those sends' count more (the fallback keeps only its top
    candidates_per_user by score, the ranking's own order).

    How: a head of pool_size unsent memes is pool_size positions long plus the user's sends
    inside it. All such sends are within the first pool_size + (the user's sends) positions, so
    max_prefix = pool_size + nmemes_sent is always enough, and the sends counted within it
    bound the length from above. Work per user follows what the user saw of this ranking, not
    the size of the catalogue or of the user's history.

    Each ranking is one row of arrays in position order, and a head is a slice of them: the
    memes of a position are read by subscript instead of joining every (user, position) slot
    to the ranking, and the slots are never written out. In a full build (62k users, 7.8M
    pool rows per engine) the materialised slots and their join took about 10 s of an
    engine's 42; the slices take about 5 (candidates_lr_smoothed alone: 33.7 -> 27.4 s).
#}
{% macro unsent_ranking_heads(
    name, ranked, heads, sends, columns, head_columns=[],
    key_column='language_code', position_column='language_position', max_position=none
) %}

-- Joined on the meme first: the planner otherwise pairs every user with every ranked meme.
-- The `in` first keeps only the sends of ranked memes: a CTE's columns have no statistics, so
-- the planner took the ranking's meme_id for 200 distinct values, and hashed the 6.6M sends of
-- a full build rather than the ranking's few thousand memes (2.0 s against 1.3 s per engine).
{{ name }}_sends_in_ranking as materialized (

    select
        {{ sends }}.user_id,
        {{ sends }}.meme_id,
        {{ ranked }}.{{ key_column }},
        {{ ranked }}.{{ position_column }}

    from {{ sends }}
    inner join {{ ranked }}
        on {{ sends }}.meme_id = {{ ranked }}.meme_id
    where
        {{ sends }}.meme_id in (
            select {{ ranked }}.meme_id from {{ ranked }}
            {%- if max_position is not none %}
            where {{ ranked }}.{{ position_column }} <= {{ max_position }}
            {%- endif %}
        )
        {%- if max_position is not none %}
        and {{ ranked }}.{{ position_column }} <= {{ max_position }}
        {%- endif %}

),

{{ name }}_sent_in_heads as materialized (

    select
        {{ name }}_sends_in_ranking.user_id,
        {{ name }}_sends_in_ranking.meme_id,
        {{ name }}_sends_in_ranking.{{ key_column }}

    from {{ name }}_sends_in_ranking
    inner join {{ heads }}
        on
            {{ name }}_sends_in_ranking.user_id = {{ heads }}.user_id
            and {{ name }}_sends_in_ranking.{{ key_column }} = {{ heads }}.{{ key_column }}
    where {{ name }}_sends_in_ranking.{{ position_column }} <= {{ heads }}.max_prefix

),

-- one row per key: element i of each array is the meme at position i
{{ name }}_rankings as (

    select
        {{ key_column }},
        array_agg(meme_id order by {{ position_column }}) as meme_ids
        {%- for column in columns %},
        array_agg({{ column }} order by {{ position_column }}) as {{ column }}_values
        {%- endfor %}

    from {{ ranked }}
    {%- if max_position is not none %}
    where {{ position_column }} <= {{ max_position }}
    {%- endif %}
    group by {{ key_column }}

),

{{ name }}_lengths as (

    select
        {{ heads }}.user_id,
        {{ heads }}.{{ key_column }},
        least(
            {{ heads }}.pool_size + coalesce(sent_counts.count_sent, 0), {{ heads }}.max_prefix
        ) as head_length,
        sent_counts.count_sent is not null as has_sends
        {%- for column in head_columns %},
        {{ heads }}.{{ column }}
        {%- endfor %}

    from {{ heads }}
    left join (
        select
            user_id,
            {{ key_column }},
            count(*) as count_sent

        from {{ name }}_sent_in_heads
        group by user_id, {{ key_column }}
    ) as sent_counts
        on
            {{ heads }}.user_id = sent_counts.user_id
            and {{ heads }}.{{ key_column }} = sent_counts.{{ key_column }}

),

-- Two branches, so that only the heads holding a send pay for looking each meme up among the
-- sends (4 of an engine's 27 s in a full build, where most heads hold none).
{{ name }} as (
    {%- for with_sends in [false, true] %}

    select
        {{ name }}_lengths.user_id,
        {{ name }}_lengths.{{ key_column }},
        head.meme_id,
        head.{{ position_column }}
        {%- for column in columns %},
        head.{{ column }}
        {%- endfor %}
        {%- for column in head_columns %},
        {{ name }}_lengths.{{ column }}
        {%- endfor %}

    from {{ name }}_lengths
    inner join {{ name }}_rankings
        on {{ name }}_lengths.{{ key_column }} = {{ name }}_rankings.{{ key_column }}
    cross join lateral unnest(
        {{ name }}_rankings.meme_ids[1:{{ name }}_lengths.head_length]
        {%- for column in columns %},
        {{ name }}_rankings.{{ column }}_values[1:{{ name }}_lengths.head_length]
        {%- endfor %}
    ) with ordinality as head (
        meme_id{% for column in columns %}, {{ column }}{% endfor %}, {{ position_column }}
    )
    {%- if with_sends %}
    left join {{ name }}_sent_in_heads
        on
            {{ name }}_lengths.user_id = {{ name }}_sent_in_heads.user_id
            and head.meme_id = {{ name }}_sent_in_heads.meme_id
    where {{ name }}_lengths.has_sends and {{ name }}_sent_in_heads.meme_id is null
    {%- else %}
    where not {{ name }}_lengths.has_sends
    {%- endif %}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

)

{% endmacro %}
