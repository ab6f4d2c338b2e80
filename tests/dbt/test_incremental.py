"""Incremental builds equal a full refresh on the same data, late reactions included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.dbt.conftest import FIXTURE_VARS, RunDbt, build_from_scratch, load_feed
from tests.dbt.feed_dataset import FRESH_EN_READERS, RATERS, RU_READER, UNREACTED_MEME, FeedDataset

pytestmark = pytest.mark.integration

# Every incremental model, and the tables built from them; build timestamps are left out.
COMPARED_TABLES = (
    "intermediate.int_reactions_scored",
    "intermediate.int_reactions_sessionised",
    "intermediate.int_meme_reaction_stats",
    "intermediate.int_user_reaction_stats",
    "marts.fct_sessions",
    "marts.user_meme_source_stats",
    "marts.meme_stats",
    "marts.user_stats",
    "marts.meme_source_stats",
    "marts.metrics_engine_daily",
)
# The models are what is compared; their tests run in the other modules.
MODELS_ONLY = ("--resource-type", "model", "--resource-type", "seed")
BUILD_TIMESTAMPS = {"scored_at", "sessionised_at", "computed_at", "updated_at"}


async def _snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
    snapshot = {}
    for table in COMPARED_TABLES:
        rows = await pool.fetch(f"select * from {table}")
        names = list(rows[0].keys()) if rows else []  # iterating a Record yields its values
        columns = [c for c in names if c not in BUILD_TIMESTAMPS]
        snapshot[table] = sorted(
            (tuple(_comparable(row[c]) for c in columns) for row in rows), key=repr
        )
    return snapshot


def _comparable(value: object) -> object:
    return round(value, 9) if isinstance(value, float) else value


@pytest.fixture(scope="module")
async def incremental_and_full(
    db_pool: asyncpg.Pool, run_dbt: RunDbt
) -> tuple[dict[str, list[tuple[object, ...]]], dict[str, list[tuple[object, ...]]]]:
    """Build, add sends and reactions (a late reaction, a re-made one), build incrementally,
    snapshot, then full-refresh and snapshot again."""
    now = datetime.now(UTC)
    await load_feed(db_pool, FeedDataset.build(now))
    first = build_from_scratch(run_dbt, *MODELS_ONLY)
    assert first.returncode == 0, first.stdout[-5000:]

    later = datetime.now(UTC)
    rater = RATERS[0]
    # a late reaction: the send of the unreacted meme was counted by the first build
    await db_pool.execute(
        "update app.user_meme_reaction set reaction_id = 1, reacted_at = $3"
        " where user_id = $1 and meme_id = $2",
        rater,
        UNREACTED_MEME,
        later,
    )
    # a reaction re-made later (the bot stamps every tap): its old place in the user's first
    # session empties, so sessions before the new reactions change too
    await db_pool.execute(
        "update app.user_meme_reaction set reaction_id = 3 - reaction_id, reacted_at = $2"
        " where (user_id, meme_id) = ("
        "   select user_id, meme_id from app.user_meme_reaction"
        "   where user_id = $1 and reaction_id is not null and meme_id <> $3"
        "   order by reacted_at limit 1)",
        RATERS[1],
        later + timedelta(seconds=40),
        UNREACTED_MEME,
    )
    new_sends = [
        (rater, 16, later + timedelta(seconds=20), 2, later + timedelta(seconds=25)),
        (rater, 17, later + timedelta(seconds=30), None, None),
        (RATERS[1], 16, later, 1, later + timedelta(seconds=2)),
        (FRESH_EN_READERS[0], 13, later, 1, later + timedelta(seconds=3)),
        (FRESH_EN_READERS[0], 14, later + timedelta(seconds=5), 2, later + timedelta(seconds=9)),
        (RU_READER, 34, later - timedelta(hours=2), 1, later),
    ]
    await db_pool.executemany(
        "insert into app.user_meme_reaction"
        " (user_id, meme_id, recommended_by, sent_at, reaction_id, reacted_at)"
        " values ($1, $2, 'lr_smoothed', $3, $4, $5)",
        new_sends,
    )
    incremental = run_dbt("build", "--vars", FIXTURE_VARS, *MODELS_ONLY)
    assert incremental.returncode == 0, incremental.stdout[-5000:]
    after_incremental = await _snapshot(db_pool)

    full = build_from_scratch(run_dbt, *MODELS_ONLY)
    assert full.returncode == 0, full.stdout[-5000:]
    return after_incremental, await _snapshot(db_pool)


@pytest.mark.parametrize("table", COMPARED_TABLES)
async def test_an_incremental_build_equals_a_full_refresh(
    incremental_and_full: tuple[dict[str, list[tuple[object, ...]]], ...], table: str
) -> None:
    after_incremental, after_full_refresh = incremental_and_full

    assert after_incremental[table] == after_full_refresh[table]


async def test_the_late_reaction_and_the_new_sends_are_counted(
    incremental_and_full: tuple[dict[str, list[tuple[object, ...]]], ...],
    db_pool: asyncpg.Pool,
) -> None:
    row = await db_pool.fetchrow(
        "select nlikes, nmemes_sent from marts.meme_stats where meme_id = $1", UNREACTED_MEME
    )
    assert (row["nlikes"], row["nmemes_sent"]) == (1, len(RATERS))
    sent = await db_pool.fetchval(
        "select nmemes_sent from marts.user_stats where user_id = $1", FRESH_EN_READERS[0]
    )
    assert sent == 2
