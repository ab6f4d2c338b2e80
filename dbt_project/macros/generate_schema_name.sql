{#
    Models land in exactly the schema their folder sets in dbt_project.yml (staging,
    intermediate, marts, recommendations, monitoring), not in dbt's default
    "<target schema>_<custom schema>": the bot and Dagster read fixed schema names.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
