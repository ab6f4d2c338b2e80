{#
    Fails for every row where the boolean SQL `expression` is not true (false or null),
    e.g. `rank between 1 and {{ var('candidates_per_user') }}`.
#}
{% test expression_is_true(model, expression, column_name=none) %}

with violations as (

    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)

)

select * from violations

{% endtest %}
