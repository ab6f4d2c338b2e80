"""Run the real dbt project against the test session's database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from memefeed.dbt_env import dbt_env
from memefeed.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from tests.conftest import APP_TABLES
from tests.dbt.feed_dataset import FeedDataset

RunDbt = Callable[..., subprocess.CompletedProcess[str]]

DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")
QUIET_DBT = {"DO_NOT_TRACK": "1", "DBT_USE_COLORS": "false"}


@pytest.fixture(scope="session")
def run_dbt(database_url: str) -> RunDbt:
    """`run_dbt("build", "--select", ...)`: the dbt CLI on the test database, output captured."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DBT_EXECUTABLE), *args, "--project-dir", str(DBT_PROJECT_DIR)],
            cwd=PROJECT_ROOT,
            env={**os.environ, **dbt_env(database_url), **QUIET_DBT},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    return run


@pytest.fixture(scope="module")
async def built_feed(db_pool: asyncpg.Pool, run_dbt: RunDbt) -> FeedDataset:
    """The fixture dataset in empty app tables, and one green `dbt build` over it.

    Module-scoped so the tests of one module share a single build (about 10 s); it empties
    the app tables itself, as the function-scoped `clean_db` does.
    """
    tables = ", ".join(f"app.{table}" for table in APP_TABLES)
    await db_pool.execute(f"truncate {tables} restart identity cascade")
    dataset = FeedDataset.build(datetime.now(UTC))
    await dataset.insert(db_pool)
    result = run_dbt("build")
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    return dataset
