{#
    A post-hook that indexes an incremental model when its table is (re)created: on the first
    build and on --full-refresh, not on incremental runs, where the table keeps its indexes.
    The index is left unnamed on purpose: a full refresh builds the new table while the old one
    still exists, and a fixed name ("create index if not exists <name>") would find the old
    table's index and leave the new table without one. `where` makes it a partial index.
#}
{% macro index_once(columns, unique=false, where=none) -%}
    {%- if not is_incremental() -%}
        create {{ 'unique ' if unique }}index on {{ this }} ({{ columns }})
        {%- if where %} where {{ where }}{% endif %}
    {%- endif -%}
{%- endmacro %}
