{#
    The rows a relation's latest build wrote: those whose build stamp is the newest. For tests
    of a table rebuilt piecewise (a user's list is replaced whole), whose older rows were
    tested by the builds that wrote them. The stamp is read first and sent as a literal, for
    the reason given in `get_where_subquery`.
#}
{% macro rows_of_latest_build(relation, stamp_column) -%}
    select * from {{ relation }}
    {% if execute -%}
        where {{ stamp_column }} = {{ newest_value_literal(relation, stamp_column) }}
    {%- else -%}
        where {{ stamp_column }} = (select max({{ stamp_column }}) from {{ relation }})
    {%- endif %}
{%- endmacro %}
