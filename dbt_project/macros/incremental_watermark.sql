{#
    The watermark of an incremental model as a timestamptz literal: max(column) of the existing
    table minus `lookback_minutes`, '-infinity' when the table is empty. Read at compile time,
    so the filter it feeds is a plain constant the planner can match against an index.
#}
{% macro incremental_watermark(column, lookback_minutes=0) -%}
    {%- if execute and is_incremental() -%}
        {%- set query -%}
            select coalesce(
                max({{ column }}) - interval '1 minute' * {{ lookback_minutes }},
                '-infinity'::timestamptz
            )::text
            from {{ this }}
        {%- endset -%}
        {%- set watermark = run_query(query).columns[0].values()[0] -%}
        '{{ watermark }}'::timestamptz
    {%- else -%}
        '-infinity'::timestamptz
    {%- endif -%}
{%- endmacro %}
