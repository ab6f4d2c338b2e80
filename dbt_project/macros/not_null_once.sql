{#
    A post-hook that declares columns NOT NULL when an incremental model's table is
    (re)created, like index_once: one pass over the table checks every listed column (a
    build with a null fails here, naming the column), and from then on PostgreSQL refuses a
    null on every write. The not_null tests of such a column then check the declaration
    instead of reading the rows (macros/test_not_null.sql): at full size each was a pass over
    10M rows, nine of them 56 node seconds of a full build.
#}
{% macro not_null_once(columns) -%}
    {%- if not is_incremental() -%}
        alter table {{ this }}
        {%- for column in columns %}
            alter column {{ adapter.quote(column) }} set not null{{ ',' if not loop.last }}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}
