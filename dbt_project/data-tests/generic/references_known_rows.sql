{#
    The relationships test for the foreign keys of a large table, all in one pass: fails for
    each row whose user_id is not in `users`, meme_id not in `memes` or meme_source_id not in
    `meme_sources` (each checked when its parent is given; a null key is not checked, as in
    dbt's relationships test), and names the unknown keys.

    One test instead of one per key: each relationships test reads the whole table, and the
    wide tables read by several (the scores' 1.7 GB three times, the sessions' twice) spent
    12-19 s per read in a full build on the slowest benchmark machine, before any mart could
    start. Here each row probes the parents' hash tables (a few hundred thousand keys at most)
    in the same scan.
#}
{% test references_known_rows(model, users=none, memes=none, meme_sources=none) %}

{%- set parents = [] %}
{%- for parent, key, problem in [
    (users, 'user_id', 'unknown user'),
    (memes, 'meme_id', 'unknown meme'),
    (meme_sources, 'meme_source_id', 'unknown meme source'),
] if parent is not none %}
{%- do parents.append({'relation': parent, 'key': key, 'problem': problem, 'alias': 'parent_' ~ loop.index}) %}
{%- endfor %}
{%- if parents | length == 0 %}
{{ exceptions.raise_compiler_error('references_known_rows needs users, memes or meme_sources') }}
{%- endif %}

with checked as (

    select
        {%- for parent in parents %}
        case
            when child.{{ parent.key }} is not null and {{ parent.alias }}.{{ parent.key }} is null
                then '{{ parent.problem }} ' || child.{{ parent.key }}
        end as problem_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}

    -- `model` may be a filtered subquery with an alias of its own
    from (select * from {{ model }}) as child
    {%- for parent in parents %}
    left join {{ parent.relation }} as {{ parent.alias }}
        on child.{{ parent.key }} = {{ parent.alias }}.{{ parent.key }}
    {%- endfor %}

),

problems as (

    select concat_ws(
        ', '{% for parent in parents %}, problem_{{ loop.index }}{% endfor %}
    ) as problem

    from checked
    where
        {%- for parent in parents %}
        problem_{{ loop.index }} is not null{{ ' or' if not loop.last }}
        {%- endfor %}

)

select * from problems

{% endtest %}
