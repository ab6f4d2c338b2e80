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


{#
    Whether the latest build of a relation wrote all of its rows (a full build, or a build of
    an empty table): min = max of the build stamp, two descents of its index. False at parse
    time and for an empty relation.
#}
{% macro latest_build_wrote_every_row(relation, stamp_column) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set query -%}
        select min({{ stamp_column }}) = max({{ stamp_column }}) from {{ relation }}
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] == true) }}
{%- endmacro %}
