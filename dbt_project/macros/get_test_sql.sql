{#
    dbt's test query, preceded by the test's `sql_header` config: planner settings (`set local
    ...`) for the one transaction a test runs in. dbt 1.11's test materialization reads
    sql_header only behind the flag require_sql_header_in_test_configs, which this dbt does not
    define yet, so it never does; psycopg2 runs both statements and returns the query's rows.
#}
{% macro postgres__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
    {%- set sql_header = config.get('sql_header') %}
    {%- if sql_header and not flags.REQUIRE_SQL_HEADER_IN_TEST_CONFIGS %}
    {{ sql_header }}
    {%- endif %}
    {{ dbt.default__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) }}
{%- endmacro %}
