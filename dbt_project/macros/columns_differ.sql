{#
    Whether a recomputed row differs from the stored one in any of `columns`, nulls compared as
    values: `(new.a, new.b, ...) is distinct from (stored.a, stored.b, ...)`. The incremental
    models that write only the rows a build changed filter on it.
#}
{% macro columns_differ(new, stored, columns) -%}
    (
        {%- for column in columns %}
        {{ new }}.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    ) is distinct from (
        {%- for column in columns %}
        {{ stored }}.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}
