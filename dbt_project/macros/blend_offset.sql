{#
    A user's offset in [0, 1) for one engine in the blend: a hash of the user, the engine and
    the user's sends, so the interleaving is deterministic for the same data but differs per
    user and moves on as the user is sent memes. 0.5 for everybody when
    var('blend_offsets_per_user') is false (unit tests).
#}
{% macro blend_offset(user_id_column, engine_column, sends_column) -%}
    {%- if var('blend_offsets_per_user') -%}
        {{ hash_uniform(
            user_id_column ~ "::text || ':' || " ~ engine_column ~ " || ':' || "
            ~ sends_column ~ "::text"
        ) }}
    {%- else -%}
        0.5::double precision
    {%- endif -%}
{%- endmacro %}
