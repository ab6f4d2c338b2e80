{#
    A number in [0, 1) derived from an md5 of the given SQL text expression: stable for the same
    input and spread evenly, so "random" choices are reproducible from the data alone.
#}
{% macro hash_uniform(text_expression) -%}
    (('x' || substr(md5({{ text_expression }}), 1, 8))::bit(32)::bigint / 4294967296.0)
{%- endmacro %}
