{#
    The rows a relation's latest build wrote: those whose build stamp is the newest. For tests
    of a table rebuilt piecewise (a user's list is replaced whole), whose older rows were
    tested by the builds that wrote them.
#}
{% macro rows_of_latest_build(relation, stamp_column) -%}
    select * from {{ relation }}
    where {{ stamp_column }} = (select max({{ stamp_column }}) from {{ relation }})
{%- endmacro %}
