{#
    A post-hook that sets a column's TOAST storage when an incremental model's table is
    (re)created, like index_once: 'external' stores large values out of line without trying to
    compress them, for values that do not compress (arrays of measured floats) and are
    rewritten by every build.
#}
{% macro storage_once(column, storage) -%}
    {%- if not is_incremental() -%}
        alter table {{ this }} alter column {{ adapter.quote(column) }} set storage {{ storage }}
    {%- endif -%}
{%- endmacro %}
