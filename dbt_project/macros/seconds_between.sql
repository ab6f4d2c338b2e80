{#
    Seconds from `start` to `end` (two timestamptz expressions) as double precision.
    `extract(epoch from ...)` returns numeric since PostgreSQL 14, and numeric arithmetic per
    row was a fifth of the sessions' full-build select (9.5M rows: 31.1-31.7 s with extract,
    24.9-25.7 s with this); date_part returns double precision directly. The same value, or
    for a span of more than a day (days and time added in floating point) one that differs in
    the last of its 15-16 significant digits.
#}
{% macro seconds_between(start, end) -%}
    date_part('epoch', {{ end }} - {{ start }})
{%- endmacro %}
