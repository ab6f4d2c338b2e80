{#
    The not_null test (dbt's, dispatched here first): fails for every row whose column is
    null. When the column of the table under the test is declared NOT NULL
    (macros/declare_once.sql), PostgreSQL has refused every null, so the rows are not read:
    the condition below is a constant, evaluated once. Anything else (a view, an expression,
    a column without the declaration) is checked row by row as dbt does.
#}
{% macro postgres__test_not_null(model, column_name) %}

{%- set relation = enforcing_relation(model) %}
{%- set column_list = '*' if should_store_failures() else column_name %}

select {{ column_list }}
from {{ model }}
where
    {{ column_name }} is null
    {%- if relation is not none %}
    and not coalesce((
        select declared.attnotnull
        from pg_attribute as declared
        where
            declared.attrelid = to_regclass('{{ relation | replace("'", "''") }}')
            and declared.attname = '{{ column_name | replace("'", "''") }}'
    ), false)
    {%- endif %}

{% endmacro %}
