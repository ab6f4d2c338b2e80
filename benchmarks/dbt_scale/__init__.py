"""`dbt build` at production scale against a hand-written aggregation floor.

See docs/benchmarks.md.
"""
