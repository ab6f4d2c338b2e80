"""Run the real dbt project against the test session's database."""

from __future__ import annotations

import json
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
# The fixture datasets are small: the cold-start engines' bars (50 reactions, 10 sends) become 4.
# The fixture's memes have a handful of reaction times each: median windows of one time on
# each side make the incremental builds edit windows, move counts past them and recount.
FIXTURE_VARS = json.dumps(
    {
        "cold_start_explore_min_reactions": 4,
        "cold_start_adapt_min_sends": 4,
        "median_window_min_half_width": 1,
        "median_window_half_width_share": 0,
    }
)
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


def build_from_scratch(run_dbt: RunDbt, *args: str) -> subprocess.CompletedProcess[str]:
    """`dbt build --full-refresh`: incremental tables of an earlier module's data are rebuilt."""
    return run_dbt("build", "--full-refresh", "--vars", FIXTURE_VARS, *args)


async def load_feed(db_pool: asyncpg.Pool, dataset: FeedDataset) -> None:
    """Empty the app tables and insert `dataset`."""
    tables = ", ".join(f"app.{table}" for table in APP_TABLES)
    await db_pool.execute(f"truncate {tables} restart identity cascade")
    await dataset.insert(db_pool)


def run_results(run_dbt_result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The last dbt invocation's node statuses by name (pass, warn, fail, error, success...).

    The project's on-run-start hook (an `operation` node) is left out: it is not a node of the
    selection.
    """
    path = DBT_PROJECT_DIR / "target" / "run_results.json"
    results = json.loads(path.read_text())["results"]
    return {
        result["unique_id"].split(".")[2]: result["status"]
        for result in results
        if not result["unique_id"].startswith("operation.")
    }


@pytest.fixture(scope="module")
async def built_feed(db_pool: asyncpg.Pool, run_dbt: RunDbt) -> FeedDataset:
    """The fixture dataset in empty app tables, and one green `dbt build` over it.

    Module-scoped so the tests of one module share a single build (about 10 s); it empties
    the app tables itself, as the function-scoped `clean_db` does.
    """
    dataset = FeedDataset.build(datetime.now(UTC))
    await load_feed(db_pool, dataset)
    result = build_from_scratch(run_dbt)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    return dataset
