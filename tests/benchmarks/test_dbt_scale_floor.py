"""The dbt_scale benchmark's floor is what its ratios claim (one sequential hash pass), and its
lower bound times what it says it does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import psycopg2
import pytest

from benchmarks.dbt_scale.lower_bound import (
    CHAIN,
    bounds,
    build_on_empty_tables,
    machine_busy_seconds,
    requirements,
    time_requirements,
)
from benchmarks.dbt_scale.run import check_floor_plan, run_floor
from memefeed.dbt_env import DBT_WORK_MEM, dbt_env

pytestmark = pytest.mark.integration

# The floor's plan as recorded on 2026-12-01, under the server's 4 MB work_mem: one grouping
# set hashed, the other walked through the meme_id index (random heap reads).
INDEX_WALK_PLAN = """MixedAggregate  (cost=10000000000.43..10000994614.37 rows=61941 width=56)
  Hash Key: user_id
  Group Key: meme_id
  ->  Index Scan using user_meme_reaction_meme_idx on user_meme_reaction
        (cost=10000000000.43..10000593998.80 rows=9999904 width=26)"""

SEQUENTIAL_HASH_PLAN = """HashAggregate  (cost=405843.88..608265.00 rows=62120 width=56)
  Hash Key: meme_id
  Hash Key: user_id
  ->  Seq Scan on user_meme_reaction  (cost=0.00..204043.96 rows=10089996 width=26)"""

SORTED_PLAN = """GroupAggregate  (cost=1584761.50..1996111.45 rows=62120 width=56)
  Group Key: meme_id
  Sort Key: user_id
    Group Key: user_id
  ->  Sort  (cost=1584761.50..1609986.49 rows=10089996 width=26)
        ->  Seq Scan on user_meme_reaction  (cost=0.00..204043.96 rows=10089996 width=26)"""


def test_floor_plan_check_accepts_only_one_sequential_hash_pass() -> None:
    check_floor_plan(SEQUENTIAL_HASH_PLAN)
    for plan in (INDEX_WALK_PLAN, SORTED_PLAN):
        with pytest.raises(RuntimeError, match="one sequential read with hash aggregation"):
            check_floor_plan(plan)


def test_dbt_connections_get_the_settings_the_floor_gets() -> None:
    options = dbt_env("postgresql://postgres@127.0.0.1:5432/memefeed_bench")["PGOPTIONS"]
    assert options == f"-c jit=off -c work_mem={DBT_WORK_MEM} -c max_parallel_workers_per_gather=0"


MEME_IDS = range(1, 41)
USER_IDS = range(1, 7)


async def insert_reactions(pool: asyncpg.Pool) -> None:
    """Each user is sent every other meme, so memes 1..40 are all sent but not to everyone."""
    await pool.execute(
        "insert into app.meme_source (id, type, url) values (1, 'telegram', 'https://t.me/x')"
    )
    await pool.executemany(
        "insert into app.meme"
        " (id, meme_source_id, raw_meme_id, status, telegram_file_id, published_at)"
        " values ($1, 1, $1, 'ok', $2, now())",
        [(meme_id, f"file-{meme_id}") for meme_id in MEME_IDS],
    )
    await pool.executemany(
        'insert into app."user" (id) values ($1)', [(user_id,) for user_id in USER_IDS]
    )
    sent_at = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [
        (user_id, meme_id, sent_at + timedelta(seconds=meme_id), 1 + meme_id % 2)
        for user_id in USER_IDS
        for meme_id in MEME_IDS
        if (meme_id + user_id) % 2 == 0
    ]
    await pool.executemany(
        "insert into app.user_meme_reaction"
        " (user_id, meme_id, recommended_by, sent_at, reaction_id, reacted_at)"
        " values ($1, $2, 'test', $3, $4, $3)",
        rows,
    )


async def test_floor_aggregates_every_meme_and_user_in_one_hash_pass(
    clean_db: asyncpg.Pool, database_url: str
) -> None:
    await insert_reactions(clean_db)

    step = run_floor(database_url, "floor")

    assert step.details["groups"] == len(MEME_IDS) + len(USER_IDS)
    check_floor_plan(step.details["plan"])
    assert (step.details["work_mem"], step.details["jit"]) == (DBT_WORK_MEM, "off")


def test_lower_bound_is_the_larger_of_the_spread_work_and_the_chain() -> None:
    chain_only = dict.fromkeys(CHAIN, 1.0)
    # eight seconds of work over two cores tie with the four-second chain
    steps = chain_only | {"per-reaction gaps": 4.0}
    result = bounds([1.5, 2.5], steps, cores=2)
    assert (result.floor_seconds, result.work_seconds, result.chain_seconds) == (2.0, 8.0, 4.0)
    assert result.least_build_seconds == 4.0
    assert result.least_over_floor == 2.0

    wide = bounds([2.0], chain_only | {"per-reaction gaps": 10.0}, cores=2)
    assert wide.least_build_seconds == 7.0  # (4 + 10) / 2 outlasts the 4 s chain

    deep = bounds([2.0], chain_only | {"per-reaction gaps": 1.0}, cores=4)
    assert deep.least_build_seconds == 4.0  # the chain outlasts 5 s over 4 cores

    # the graph's own CPU time is work the cores do as well
    with_graph = bounds([2.0], chain_only | {"per-reaction gaps": 1.0}, 2, graph_cpu_seconds=5.0)
    assert with_graph.spread_seconds == 5.0
    assert with_graph.least_build_seconds == 5.0


async def test_lower_bound_times_every_step_checks_sent_memes_and_leaves_nothing(
    clean_db: asyncpg.Pool, database_url: str
) -> None:
    await insert_reactions(clean_db)
    await clean_db.execute("create schema lower_bound_test")
    try:
        await clean_db.execute(
            "create table lower_bound_test.served (user_id bigint, meme_id bigint, rank int,"
            " primary key (user_id, meme_id))"
        )
        # user 1 was sent the odd memes: 3 is a served candidate that was already sent
        await clean_db.executemany(
            "insert into lower_bound_test.served values (1, $1, $2)",
            [(2, 1), (4, 2), (3, 3)],
        )

        timings = time_requirements(database_url, ("lower_bound_test", "served"))

        assert list(timings.seconds) == [
            requirement.name for requirement in requirements(("lower_bound_test", "served"))
        ]
        assert all(seconds > 0 for seconds in timings.seconds.values())
        assert timings.results == {"exclude-sent check": 1}
        for table in ("lower_bound_sends", "lower_bound_reactions", "lower_bound_served"):
            assert await clean_db.fetchval("select to_regclass($1)", table) is None
    finally:
        await clean_db.execute("drop schema lower_bound_test cascade")


def test_lower_bound_asks_for_a_build_when_the_served_table_is_missing(
    database_url: str,
) -> None:
    with pytest.raises(SystemExit, match=r"lower_bound_test\.missing is missing"):
        time_requirements(database_url, ("lower_bound_test", "missing"))


def test_the_graph_cost_is_a_whole_build_on_empty_tables_that_leaves_no_database(
    postgres_server_url: str,
) -> None:
    database = f"memefeed_lower_bound_{uuid.uuid4().hex[:8]}"

    empty = build_on_empty_tables(postgres_server_url, database)

    assert empty.build.state == "completed"
    kinds = {timing["unique_id"].split(".")[0] for timing in empty.build.node_timings}
    assert {"model", "test", "seed"} <= kinds
    assert empty.cpu_seconds is not None
    assert empty.cpu_seconds > 0
    connection = psycopg2.connect(postgres_server_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select 1 from pg_database where datname = %s", (database,))
            assert cursor.fetchone() is None
    finally:
        connection.close()


def test_machine_busy_seconds_grow_with_work() -> None:
    before = machine_busy_seconds()
    assert before is not None
    total = 0
    for number in range(3_000_000):
        total += number
    after = machine_busy_seconds()
    assert after is not None
    assert after > before
