{#
    A post-hook that gathers the planner's statistics of an incremental model's table when the
    table is (re)created, as index_once builds its indexes then: a full build writes every row
    at once, and autovacuum (where it runs at all) comes too late for the tests and models that
    read the table next in the same build. Without statistics the planner took the 10M rows
    of a full build's scores for 50k: the key test sorted them on disk (18.8 s against 7.8 s
    in the key index's order) and the sessions' reference test took 22.4 s against 10.9 s,
    for an ANALYZE of 0.7 s (full size, the tenth benchmark machine). Incremental runs change
    a small share of the rows, and their tests look up the rows of one build by its stamp.
#}
{% macro analyze_once() -%}
    {%- if not is_incremental() -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
