{#
    Fails for every combination of `combination_of_columns` that occurs more than once:
    the unique test for composite keys (user_id + meme_id, user_id + rank, ...).
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with duplicated as (

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as count_rows

    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1

)

select * from duplicated

{% endtest %}
