{#
    The moment this dbt invocation started, as a timestamptz literal: every model of one build
    stamps the same updated_at / built_at and computes ages against the same instant, so a
    build is deterministic and its outputs agree with each other.
#}
{% macro build_timestamp() -%}
    {%- if run_started_at is not none -%}
        '{{ run_started_at.isoformat() }}'::timestamptz
    {%- else -%}
        now()
    {%- endif -%}
{%- endmacro %}
