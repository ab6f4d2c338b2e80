{#
    The watermark of an incremental model as a timestamptz literal: max(column) of the existing
    table minus `lookback_minutes`, '-infinity' when the table is empty. Read at compile time,
    so the filter it feeds is a plain constant the planner can match against an index.
#}
{% macro incremental_watermark(column, lookback_minutes=0) -%}
    {%- if execute and is_incremental() -%}
        {{ max_timestamp_literal(this, column, lookback_minutes) }}
    {%- else -%}
        '-infinity'::timestamptz
    {%- endif -%}
{%- endmacro %}


{#
    The same watermark for a model whose every build stamps the rows it writes
    (`stamp_column`) and writes the newest source rows: max(column) over the rows of the latest
    build only. The build that wrote them recorded it (macros/build_watermarks.sql: the model
    has record_build_watermark as a post-hook); without a record it is computed from the rows
    of the latest build, which an index on the stamp finds without reading the whole table.
#}
{% macro latest_build_watermark(column, stamp_column, lookback_minutes=0) -%}
    {%- if execute and is_incremental() -%}
        {%- set recorded = recorded_build_watermark(stamp_column, lookback_minutes) -%}
        {%- if recorded is not none -%}
            {{ recorded }}
        {%- else -%}
            {%- set latest_build -%}
                ({{ rows_of_latest_build(this, stamp_column) }}) as latest_build
            {%- endset -%}
            {{ max_timestamp_literal(latest_build, column, lookback_minutes) }}
        {%- endif -%}
    {%- else -%}
        '-infinity'::timestamptz
    {%- endif -%}
{%- endmacro %}


{#
    max(column) of a relation as a timestamptz literal, minus `lookback_minutes`; '-infinity'
    when it is empty. Read at compile time, so the filter it feeds is a constant the planner can
    match against an index.
#}
{% macro max_timestamp_literal(relation, column, lookback_minutes=0) -%}
    {%- set query -%}
        select coalesce(
            max({{ column }}) - interval '1 minute' * {{ lookback_minutes }},
            '-infinity'::timestamptz
        )::text
        from {{ relation }}
    {%- endset -%}
    '{{ run_query(query).columns[0].values()[0] }}'::timestamptz
{%- endmacro %}
