{#
    The relation a model left in the database at the end of the previous build, or none (first
    build, or while dbt parses). For models that plan their work from what the last build
    produced, without a ref(): a ref to a model downstream of the caller would be a cycle.
#}
{% macro prior_build_relation(model_name) -%}
    {%- if not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set nodes = graph.nodes.values()
        | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', model_name)
        | list -%}
    {%- if nodes | length != 1 -%}
        {{- exceptions.raise_compiler_error('prior_build_relation: no model ' ~ model_name) -}}
    {%- endif -%}
    {%- set node = nodes[0] -%}
    {{- return(adapter.get_relation(
        database=node.database, schema=node.schema, identifier=node.alias
    )) -}}
{%- endmacro %}

