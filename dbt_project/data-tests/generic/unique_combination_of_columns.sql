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

-- Grouped over the keys in order: hashing them spilled to disk, as the planner expects
-- few distinct keys where every key is distinct (the scores' 10M keys alone: 25 s hashed,
-- 14 s sorted; a full build waits for that test before any model downstream of the scores).
duplicated as (

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as count_rows

    from (
        select {{ combination_of_columns | join(', ') }}
        from {{ model }}
        {%- if relation is not none %}
        -- a constant condition: with the index in place the grouping below never runs
        where not (select key_index.is_enforced from key_index)
        {%- endif %}
        order by {{ combination_of_columns | join(', ') }}
    ) as keys_in_order
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1

)

select * from duplicated

{% endtest %}

