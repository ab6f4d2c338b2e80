{#
    Fails for every row where the boolean SQL `expression` is not true (false or null),
    e.g. `rank between 1 and {{ var('candidates_per_user') }}`.

    When the table under the test holds a validated CHECK constraint declaring this very
    expression (macros/declare_once.sql), PostgreSQL has refused every row that breaks it,
    so the rows are not read: the condition below is a constant, evaluated once. Anything
    else (a view, a table without the declaration) is checked row by row.
#}
{% test expression_is_true(model, expression, column_name=none) %}

{%- set relation = enforcing_relation(model) %}

with violations as (

    select *
    from {{ model }}
    where
        not coalesce(({{ expression }}), false)
        {%- if relation is not none %}
        and not exists (
            select 1
            from pg_constraint as declared
            where
                declared.conrelid = to_regclass('{{ relation | replace("'", "''") }}')
                and declared.contype = 'c'
                and declared.convalidated
                and declared.conname = '{{ expression_check_name(expression) }}'
        )
        {%- endif %}

)

select * from violations

{% endtest %}
