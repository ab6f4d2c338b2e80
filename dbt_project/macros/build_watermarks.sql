{#
    The watermark of each stamped incremental model (int_reactions_scored,
    int_reactions_sessionised), recorded by the build that wrote the model's rows: the newest
    source time among the rows that build wrote, and the build's stamp. The next build reads
    it with one key lookup.

    Why a table rather than an index: the watermark is max(time) over the rows of the latest
    build, which a (stamp, time) index answers in one descent, but a full build then sorts
    10M (stamp, time) keys to build that index: 10.9 and 7.4 s of the two models' full builds
    against 3.6 s for a (stamp) index and one pass for the maximum. The record is written in
    the model's own transaction (a post-hook), so it never describes rows that were rolled
    back; a record whose stamp is not the table's newest (a table rebuilt by other means) is
    ignored, and the watermark is computed from the rows instead.
#}

{% macro build_watermarks_relation() -%}
    intermediate.build_watermarks
{%- endmacro %}


{#- on-run-start: before any model runs, so that two models never race to create it -#}
{% macro create_build_watermarks() -%}
    create schema if not exists intermediate;
    create table if not exists {{ build_watermarks_relation() }} (
        model_relation text primary key,
        watermark timestamptz not null,
        build_stamp timestamptz not null
    )
{%- endmacro %}


{#-
    A post-hook: records max(`column`) over the rows this build wrote (stamped
    `stamp_column` = build_timestamp()). A build that wrote no row leaves the record as it was,
    as the watermark then stays that of the latest build that did.
-#}
{% macro record_build_watermark(column, stamp_column) -%}
    insert into {{ build_watermarks_relation() }} (model_relation, watermark, build_stamp)
    select
        '{{ this | replace("'", "''") }}',
        max({{ column }}),
        {{ build_timestamp() }}
    from {{ this }}
    {%- if is_incremental() %}
    where {{ stamp_column }} = {{ build_timestamp() }}
    {%- endif %}
    having max({{ column }}) is not null
    on conflict (model_relation) do update
    set watermark = excluded.watermark, build_stamp = excluded.build_stamp
{%- endmacro %}


{#-
    The recorded watermark of this model as a timestamptz literal minus `lookback_minutes`,
    or none when there is no record or it is not from the build that wrote the table's newest
    rows.
-#}
{% macro recorded_build_watermark(stamp_column, lookback_minutes=0) -%}
    {#- a database built before the table existed, read by `dbt compile` (no on-run-start) -#}
    {%- set exists_query -%}
        select to_regclass('{{ build_watermarks_relation() }}') is not null
    {%- endset -%}
    {%- if not run_query(exists_query).columns[0].values()[0] -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select (recorded.watermark - interval '1 minute' * {{ lookback_minutes }})::text
        from {{ build_watermarks_relation() }} as recorded
        where
            recorded.model_relation = '{{ this | replace("'", "''") }}'
            and recorded.build_stamp = (select max({{ stamp_column }}) from {{ this }})
    {%- endset -%}
    {%- set values = run_query(query).columns[0].values() -%}
    {%- if values | length > 0 -%}
        {{ return("'" ~ values[0] ~ "'::timestamptz") }}
    {%- else -%}
        {{ return(none) }}
    {%- endif -%}
{%- endmacro %}
