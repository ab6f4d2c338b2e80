"""The dbt_scale benchmark's floor is what its ratios claim: one sequential hash pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

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


async def test_floor_aggregates_every_meme_and_user_in_one_hash_pass(
    clean_db: asyncpg.Pool, database_url: str
) -> None:
    await clean_db.execute(
        "insert into app.meme_source (id, type, url) values (1, 'telegram', 'https://t.me/x')"
    )
    meme_ids = range(1, 41)
    user_ids = range(1, 7)
    await clean_db.executemany(
        "insert into app.meme"
        " (id, meme_source_id, raw_meme_id, status, telegram_file_id, published_at)"
        " values ($1, 1, $1, 'ok', $2, now())",
        [(meme_id, f"file-{meme_id}") for meme_id in meme_ids],
    )
    await clean_db.executemany(
        'insert into app."user" (id) values ($1)', [(user_id,) for user_id in user_ids]
    )
    sent_at = datetime(2026, 11, 1, tzinfo=UTC)
    # each user gets every other meme, so memes 1..40 are all sent but not to everyone
    rows = [
        (user_id, meme_id, sent_at + timedelta(seconds=meme_id), 1 + meme_id % 2)
        for user_id in user_ids
        for meme_id in meme_ids
        if (meme_id + user_id) % 2 == 0
    ]
    await clean_db.executemany(
        "insert into app.user_meme_reaction"
        " (user_id, meme_id, recommended_by, sent_at, reaction_id, reacted_at)"
        " values ($1, $2, 'test', $3, $4, $3)",
        rows,
    )

    step = run_floor(database_url, "floor")

    assert step.details["groups"] == len(meme_ids) + len(user_ids)
    check_floor_plan(step.details["plan"])
    assert (step.details["work_mem"], step.details["jit"]) == (DBT_WORK_MEM, "off")
