{#
    A post-hook that declares constraints when an incremental model's table is (re)created,
    like index_once: columns NOT NULL, and CHECK constraints for expression_is_true tests.
    One ALTER TABLE, so PostgreSQL verifies all of them in one pass over the table (a build
    whose rows break one fails here, naming the column or the constraint), and from then on
    refuses every write that would break one. The tests of such a column or expression then
    check the declaration instead of reading the rows (macros/test_not_null.sql,
    data-tests/generic/expression_is_true.sql): at full size each was a pass over 10M rows,
    nine not_null tests 56 node seconds of a full build, the scores' range test 12 s.

    - not_null: column names;
    - checks: boolean SQL expressions, each declared as the constraint the expression_is_true
      test with the same expression looks for (see expression_check_name). A null counts as
      false, as in the test.
#}
{% macro declare_once(not_null=[], checks=[]) -%}
    {%- set declarations = [] -%}
    {%- if not is_incremental() -%}
        {%- for column in not_null -%}
            {%- do declarations.append('alter column ' ~ adapter.quote(column) ~ ' set not null') -%}
        {%- endfor -%}
        {%- for expression in checks -%}
            {%- do declarations.append(
                'add constraint ' ~ adapter.quote(expression_check_name(expression))
                ~ ' check (coalesce((' ~ expression ~ '), false))'
            ) -%}
        {%- endfor -%}
    {%- endif -%}
    {#- nothing to declare (or an incremental run): no statement, not an empty ALTER TABLE #}
    {%- if declarations -%}
        alter table {{ this }}
        {{ declarations | join(',\n        ') }}
    {%- endif -%}
{%- endmacro %}


{#- The name of the CHECK constraint declaring `expression` (at most 63 characters). #}
{% macro expression_check_name(expression) -%}
    {{- 'expression_is_true_' ~ local_md5(expression | trim)[:16] -}}
{%- endmacro %}
