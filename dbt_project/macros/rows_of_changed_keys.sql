{#
    Two CTEs for an incremental model rebuilt per key (delete+insert on `key`, a column or a
    list of columns): `output_cte` holds every row of `source_cte` whose key changed since the
    model's watermark, so each changed key is recomputed from all of its rows (late reactions
    included); a full build takes all rows. Ends with a comma, ready for the next CTE.
#}
{% macro rows_of_changed_keys(output_cte, source_cte, key, changed_at, watermark_column) -%}
{%- set key_columns = [key] if key is string else key -%}
{% if is_incremental() %}

changed_keys_of_{{ output_cte }} as (

    select distinct {{ key_columns | join(', ') }}

    from {{ source_cte }}
    where {{ changed_at }} > {{ incremental_watermark(watermark_column) }}

),

{{ output_cte }} as (

    select {{ source_cte }}.*

    from {{ source_cte }}
    inner join changed_keys_of_{{ output_cte }}
        on
            {% for column in key_columns -%}
            {{ 'and ' if not loop.first }}{{ source_cte }}.{{ column }}
            = changed_keys_of_{{ output_cte }}.{{ column }}
            {% endfor %}

),

{% else %}

{{ output_cte }} as (

    select * from {{ source_cte }}

),

{% endif %}
{%- endmacro %}
