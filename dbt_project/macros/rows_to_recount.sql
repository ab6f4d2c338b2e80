{#
    For a model that moves its figures by difference (int_meme_reaction_stats,
    user_meme_source_stats): the CTE `output_cte` of the rows of `source_cte` to aggregate from
    scratch. Incremental: the rows of the keys `changed_cte` marks needs_recount (a replaced
    version the model never counted); a full build: every row. `key` is a column or a list of
    columns shared by both CTEs. Ends with a comma, ready for the next CTE.
#}
{% macro rows_to_recount(output_cte, source_cte, changed_cte, key) -%}
{%- set key_columns = [key] if key is string else key -%}
{% if is_incremental() %}

{{ output_cte }} as (

    select {{ source_cte }}.*

    from {{ source_cte }}
    inner join {{ changed_cte }}
        on
            {% for column in key_columns -%}
            {{ 'and ' if not loop.first }}{{ source_cte }}.{{ column }}
            = {{ changed_cte }}.{{ column }}
            {% endfor %}
    where {{ changed_cte }}.needs_recount

),

{% else %}

{{ output_cte }} as (

    select * from {{ source_cte }}

),

{% endif %}
{%- endmacro %}
