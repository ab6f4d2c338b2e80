"""One build for every quality test: tests/dbt's dataset, then Dagster's `dbt build` and checks.

The build runs through `memefeed.graph.materialize_all`, the path production takes, so the
same run shows the checks running after the tables materialise; each test then damages the
built feed, validates it and repairs it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import pytest
from dagster import ExecuteInProcessResult

from memefeed.graph import materialize_all
from memefeed.settings import Settings
from orchestration.defs.dbt import memefeed_dbt_models
from tests.conftest import APP_TABLES
from tests.dbt.feed_dataset import FeedDataset

Corruption = Callable[[str, str], AbstractAsyncContextManager[None]]


@dataclass(frozen=True)
class DagsterBuild:
    dataset: FeedDataset
    run: ExecuteInProcessResult


@pytest.fixture(scope="package")
async def dagster_build(db_pool: asyncpg.Pool, database_url: str) -> DagsterBuild:
    """The dataset in empty app tables, and every dbt model materialised by the Dagster graph.

    `materialize_all` raises if any step or blocking check fails; about 10-15 s, once.
    """
    tables = ", ".join(f"app.{table}" for table in APP_TABLES)
    await db_pool.execute(f"truncate {tables} restart identity cascade")
    dataset = FeedDataset.build(datetime.now(UTC))
    await dataset.insert(db_pool)
    dbt_keys = [key.to_user_string() for key in memefeed_dbt_models.keys]
    run = materialize_all(Settings(DATABASE_URL=database_url), selection=dbt_keys)
    return DagsterBuild(dataset, run)


@pytest.fixture
def built_feed(dagster_build: DagsterBuild) -> FeedDataset:
    return dagster_build.dataset


@pytest.fixture
def corrupted(db_pool: asyncpg.Pool) -> Corruption:
    """`async with corrupted(damage_sql, repair_sql):` damage the built feed, repair it after.

    The suite reads through its own connections, so the damage must be committed; the repair
    runs even when the test fails, so the next test sees the feed as dbt built it.
    """

    @asynccontextmanager
    async def corruption(damage_sql: str, repair_sql: str) -> AsyncIterator[None]:
        await db_pool.execute(damage_sql)
        try:
            yield
        finally:
            await db_pool.execute(repair_sql)

    return corruption
