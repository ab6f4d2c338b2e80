{#
    The head of a ranking a user has not been sent: the bounded read every candidate model
    (the engines through engine_candidates, and candidates_fallback) makes per user.

    Emits CTEs (end the model's previous CTE with a comma; the last one is `name`):

    - `ranked`: a CTE of memes in order, one row per (ranking key, position): meme_id, the key
      column (a language, or '*' for one ranking over all), the position column (1..n per key)
      and whatever else the caller needs;
    - `heads`: a CTE of (user_id, the key column, max_prefix, pool_size): the user reads the
      ranking of that key no further than max_prefix positions, for pool_size unsent memes;
    - `sends`: a CTE of (user_id, meme_id), the memes the users were sent;
    - `max_position`: a bound on every head's max_prefix, if there is one (reads fewer sends).

    `name` then holds, for every head, the first pool_size memes of its ranking the user was
    not sent (fewer when max_prefix ends first): user_id and every column of `ranked`.

    How: a head of pool_size unsent memes is pool_size positions long plus the user's sends
    inside it. All such sends are within the first pool_size + (the user's sends) positions, so
    max_prefix = pool_size + nmemes_sent is always enough, and counting the sends inside it
    gives the exact length. Work per user follows what the user saw of this ranking, not the
    size of the catalogue or of the user's history.
#}
{% macro unsent_ranking_heads(
    name, ranked, heads, sends,
    key_column='language_code', position_column='language_position', max_position=none
) %}

-- Joined on the meme first: the planner otherwise pairs every user with every ranked meme.
{{ name }}_sends_in_ranking as materialized (

    select
        {{ sends }}.user_id,
        {{ sends }}.meme_id,
        {{ ranked }}.{{ key_column }},
        {{ ranked }}.{{ position_column }}

    from {{ sends }}
    inner join {{ ranked }}
        on {{ sends }}.meme_id = {{ ranked }}.meme_id
    {%- if max_position is not none %}
    where {{ ranked }}.{{ position_column }} <= {{ max_position }}
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

{{ name }}_slots as materialized (

    select
        {{ heads }}.user_id,
        {{ heads }}.{{ key_column }},
        slots.position

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
    cross join lateral generate_series(
        1,
        least({{ heads }}.pool_size + coalesce(sent_counts.count_sent, 0), {{ heads }}.max_prefix)
    ) as slots (position)

),

{{ name }} as (

    select
        {{ name }}_slots.user_id,
        {{ ranked }}.*

    from {{ name }}_slots
    inner join {{ ranked }}
        on
            {{ name }}_slots.{{ key_column }} = {{ ranked }}.{{ key_column }}
            and {{ name }}_slots.position = {{ ranked }}.{{ position_column }}
    left join {{ name }}_sent_in_heads
        on
            {{ name }}_slots.user_id = {{ name }}_sent_in_heads.user_id
            and {{ ranked }}.meme_id = {{ name }}_sent_in_heads.meme_id
    where {{ name }}_sent_in_heads.meme_id is null

)

{% endmacro %}
