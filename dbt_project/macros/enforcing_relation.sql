{#
    The table under a test's `model`: the relation itself, or the one a `where` config filters
    (`(select * from <relation> where ...) dbt_subquery`, see get_where_subquery); none for
    anything else, which is then tested row by row.
#}
{% macro enforcing_relation(model) -%}
    {%- if model is not string and model.identifier is defined -%}
        {%- do return(model) -%}
    {%- endif -%}
    {%- set filtered = modules.re.fullmatch(
        '\\(select \\* from ("[^"]+"\\."[^"]+"\\."[^"]+") where .*\\) dbt_subquery',
        model | string,
        modules.re.DOTALL,
    ) -%}
    {%- do return(filtered.group(1) if filtered else none) -%}
{%- endmacro %}
