{#
    A number in [0, 1) derived from an md5 of the given SQL text expression: stable for the same
    input and spread evenly, so "random" choices are reproducible from the data alone.

    Double precision, exact for a 32-bit value over 2^32: as numeric (a literal 4294967296.0),
    every expression using it was numeric arithmetic: user_candidates' blend positions of 16M
    candidates at full size, a select of 47.9 s, then 32.8-39.9 s in double precision (the
    blend offsets have since moved to macros/blend_offset.sql).
#}
{% macro hash_uniform(text_expression) -%}
    (
        ('x' || substr(md5({{ text_expression }}), 1, 8))::bit(32)::bigint
        / 4294967296.0::double precision
    )
{%- endmacro %}
