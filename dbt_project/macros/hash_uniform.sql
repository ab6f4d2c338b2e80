{#
    A number in [0, 1) derived from an md5 of the given SQL text expression: stable for the same
    input and spread evenly, so "random" choices are reproducible from the data alone.

    Double precision, exact for a 32-bit value over 2^32: as numeric (a literal 4294967296.0),
    every expression using it was numeric arithmetic, which in user_candidates' blend position
    of 16M candidates at full size took 15 of the select's 48 s.
#}
{% macro hash_uniform(text_expression) -%}
    (
        ('x' || substr(md5({{ text_expression }}), 1, 8))::bit(32)::bigint
        / 4294967296.0::double precision
    )
{%- endmacro %}
