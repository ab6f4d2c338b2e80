{#
    A tie-break that is stable for a (user, meme) pair but differs between users, so equal
    scores do not give every user the same order (the anchor bot's fixed blender seed did).
    PostgreSQL's 64-bit integer hash seeded with the user: stable across versions (hash
    partitioning relies on it) and far cheaper per row than an md5 of text.
#}
{% macro per_user_tiebreak(user_id_column, meme_id_column) -%}
    hashint8extended({{ meme_id_column }}::bigint, {{ user_id_column }}::bigint)
{%- endmacro %}
