{#
    A tie-break that is stable for a (user, meme) pair but differs between users, so equal
    scores do not give every user the same order (the anchor bot's fixed blender seed did).
#}
{% macro per_user_tiebreak(user_id_column, meme_id_column) -%}
    md5({{ user_id_column }}::text || ':' || {{ meme_id_column }}::text)
{%- endmacro %}
