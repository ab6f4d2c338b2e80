{#
    A user's offset in [0, 1) for one engine in the blend: a hash of the user, the engine and
    the user's sends, so the interleaving is deterministic for the same data but differs per
    user and moves on as the user is sent memes. 0.5 for everybody when
    var('blend_offsets_per_user') is false (unit tests).

    PostgreSQL's 64-bit hashes (stable across versions: hash partitioning relies on them), the
    low 32 bits over 2^32: cheap enough to compute per candidate (an md5 of text was not, and
    had to be computed once per user and engine in a materialized CTE, which kept
    user_candidates off parallel workers).
#}
{% macro blend_offset(user_id_column, engine_column, sends_column) -%}
    {%- if var('blend_offsets_per_user') -%}
        (
            hashtextextended(
                {{ engine_column }}::text,
                hashint8extended({{ sends_column }}::bigint, {{ user_id_column }}::bigint)
            ) & 4294967295
        )::double precision / 4294967296.0::double precision
    {%- else -%}
        0.5::double precision
    {%- endif -%}
{%- endmacro %}
