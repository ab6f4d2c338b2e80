{#
    One row per ghost user of `model` in the given window ('warn' or 'error'): with
    `warn_if` / `error_if` on the count, the test warns above one number of ghosts and errors
    above another.
#}
{% test ghost_user_count(model, ghost_window) %}

with ghosts as (

    select * from {{ model }}
    where ghost_window = '{{ ghost_window }}'

)

select * from ghosts

{% endtest %}
