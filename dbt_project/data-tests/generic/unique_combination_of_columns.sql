{#
    Fails for every combination of `combination_of_columns` that occurs more than once:
    the unique test for composite keys (user_id + meme_id, user_id + rank, ...).

    When the table has a valid unique index on exactly these columns, PostgreSQL has refused
    every write that would repeat a key, so there is nothing left to find: the test then only
    checks that the index is there (it fails, listing the duplicates, if it is not). Grouping
    every row again took 8-20 s per key of a 10M-row table in a full build and could not fail.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

{%- set relation = enforcing_relation(model) %}

with

{% if relation is not none -%}
key_index as (

    select exists (
        select 1
        from pg_index as key_index
        where
            key_index.indrelid = to_regclass('{{ relation }}')
            and key_index.indisunique
            and key_index.indisvalid
            and key_index.indpred is null
            and key_index.indexprs is null
            and (
                select array_agg(key_column.attname::text order by key_column.attname::text)
                from pg_attribute as key_column
                where
                    key_column.attrelid = key_index.indrelid
                    and key_column.attnum = any(key_index.indkey)
            ) = array[
                {%- for column in combination_of_columns | sort %}
                '{{ column }}'{{ ',' if not loop.last }}
                {%- endfor %}
            ]::text[]
    ) as is_enforced

),

{% endif -%}

{%- set leading_column = combination_of_columns[0] %}
{%- set other_columns = combination_of_columns[1:] %}

keys as not materialized (

    select {{ combination_of_columns | join(', ') }}
    from {{ model }}
    {%- if relation is not none %}
    -- a constant condition: with the index in place nothing below reads a row
    where not (select key_index.is_enforced from key_index)
    {%- endif %}

),

{% if other_columns | length > 0 -%}
-- The leading column's values holding a repeated key, grouped by that column alone: an index
-- of the table usually leads with it (the scores' (user_id, sent_at, meme_id)), so the rows
-- come in order and each group's distinct count is a small sort in memory. Grouping every
-- key took 16-18 s of the scores' 10M in a full build on the slowest benchmark machine (a
-- sort of all keys), this 6-12 s, and a full build waits for the test before any mart.
-- Materialized: the grouping below reads only the rows of these values.
leading_values_with_repeats as materialized (

    select {{ leading_column }}

    from keys
    group by {{ leading_column }}
    having
        count(*) <> count(distinct
            {%- if other_columns | length == 1 %} {{ other_columns[0] }}
            {%- else %} ({{ other_columns | join(', ') }})
            {%- endif %})

),

{% endif -%}

duplicated as (
    {%- for null_leading in ([false, true] if other_columns | length > 0 else [false]) %}

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as count_rows

    from keys
    {%- if other_columns | length > 0 and not null_leading %}
    -- a semi-join: with no such value (the usual case) the keys are not read again
    where {{ leading_column }} in (
        select leading_values_with_repeats.{{ leading_column }}
        from leading_values_with_repeats
    )
    {%- elif null_leading %}
    -- a null leading value groups on its own, which `in` never matches; the condition on
    -- leading_values_with_repeats is evaluated once, before any key is read
    where
        {{ leading_column }} is null
        and exists (
            select 1 from leading_values_with_repeats
            where leading_values_with_repeats.{{ leading_column }} is null
        )
    {%- endif %}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

)

select * from duplicated

{% endtest %}

