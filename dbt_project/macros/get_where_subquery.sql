{#
    dbt's filter for a test's `where` config, with one addition: a filter on a build's stamp,
    `stamp = (select max(stamp) from schema.table)`, is sent with the newest stamp as a
    literal, read when the test runs. Why: the planner sizes `stamp = (subquery)` from the
    column's number of distinct values, so once autovacuum has analyzed a table written by one
    or two builds it expects half the table and scans 10M rows to test the 200k of the latest
    build; against a literal it reads the column's statistics (a stamp newer than them is rare)
    and takes the stamp's index. The rows selected are the same either way.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if not where -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- set newest_stamp_filter = modules.re.fullmatch(
        '\\s*(\\w+)\\s*=\\s*\\(\\s*select\\s+max\\(\\s*(\\w+)\\s*\\)\\s+from\\s+([\\w.]+)\\s*\\)\\s*',
        where,
        modules.re.IGNORECASE,
    ) -%}
    {%- if execute and newest_stamp_filter
        and newest_stamp_filter.group(1) == newest_stamp_filter.group(2) -%}
        {%- set where = newest_stamp_filter.group(1) ~ ' = ' ~ newest_value_literal(
            newest_stamp_filter.group(3), newest_stamp_filter.group(1)
        ) -%}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {%- do return(filtered) -%}
{%- endmacro %}


{#
    max(column) of a relation as an untyped literal, which takes the column's type, or `null`
    (matching nothing, as `= (select max(...))` of an empty table does).
#}
{% macro newest_value_literal(relation, column) -%}
    {%- set query -%}
        select max({{ column }})::text from {{ relation }}
    {%- endset -%}
    {%- set newest = run_query(query).columns[0].values()[0] -%}
    {{- 'null' if newest is none else "'" ~ (newest | replace("'", "''")) ~ "'" -}}
{%- endmacro %}
