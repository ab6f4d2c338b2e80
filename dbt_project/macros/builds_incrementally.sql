{#
    Whether a stamped window model (int_reactions_scored, int_reactions_sessionised) builds on
    its stored rows: an incremental run whose table holds rows. The two tables are unlogged (a
    full build writes 10M rows and two or three indexes to each, about 4 GB that went through
    the write-ahead log, which no replica needs for them), so a crash of the database empties
    them. An emptied table is then rebuilt as in a full build, row values and build stamps
    alike, and every model downstream recounts from it as it does after a full refresh,
    instead of resuming from nothing and adding the whole history to their stored counts.
    A table that is empty because there is nothing to build costs nothing to rebuild.
#}
{% macro builds_incrementally() -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set query -%}
        select exists (select 1 from {{ this }})
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{%- endmacro %}
