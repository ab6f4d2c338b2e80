"""The ghost-user monitor: the dbt tests warn and error on fixture users of each window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.conftest import APP_TABLES
from tests.dbt.conftest import RunDbt, build_from_scratch, run_results

pytestmark = pytest.mark.integration

WARN_GHOST, ERROR_GHOST, SERVED_USER, BLOCKED_LINK_USER, OLD_USER = 201, 202, 203, 204, 205
GHOST_TESTS = ("ghost_users_in_warn_window", "ghost_users_in_error_window")


@pytest.fixture(scope="module")
async def ghost_fixture(db_pool: asyncpg.Pool, run_dbt: RunDbt) -> dict[str, str]:
    """Users of every kind, then `dbt build` of the monitor; the ghost tests' statuses."""
    tables = ", ".join(f"app.{table}" for table in APP_TABLES)
    await db_pool.execute(f"truncate {tables} restart identity cascade")
    now = datetime.now(UTC)
    users = {
        WARN_GHOST: (now - timedelta(minutes=3), None),
        ERROR_GHOST: (now - timedelta(minutes=10), "promo_autumn"),
        SERVED_USER: (now - timedelta(minutes=10), None),
        BLOCKED_LINK_USER: (now - timedelta(minutes=10), "tapps_campaign_7"),
        OLD_USER: (now - timedelta(hours=2), None),
    }
    async with db_pool.acquire() as connection, connection.transaction():
        for user_id, (created_at, deep_link) in users.items():
            await connection.execute(
                'insert into app."user" (id, created_at) values ($1, $2)', user_id, created_at
            )
            await connection.execute(
                "insert into app.user_tg (id, first_name, deep_link) values ($1, 'x', $2)",
                user_id,
                deep_link,
            )
        await connection.execute(
            "insert into app.meme_source (id, type, url) values (1, 'local', '/srv/memes')"
        )
        await connection.execute(
            "insert into app.meme (id, meme_source_id, raw_meme_id, status, telegram_file_id,"
            " published_at) values (1, 1, 1, 'ok', 'file-1', now())"
        )
        await connection.execute(
            "insert into app.user_meme_reaction (user_id, meme_id, recommended_by)"
            " values ($1, 1, 'cold_start')",
            SERVED_USER,
        )
    result = build_from_scratch(run_dbt, "--select", "+ghost_users")
    assert "Runtime Error" not in result.stdout, result.stdout[-4000:]
    return run_results(result)


async def test_ghost_users_are_the_unserved_new_users_of_both_windows(
    ghost_fixture: dict[str, str], db_pool: asyncpg.Pool
) -> None:
    rows = await db_pool.fetch("select user_id, ghost_window from monitoring.ghost_users")

    assert {r["user_id"]: r["ghost_window"] for r in rows} == {
        WARN_GHOST: "warn",
        ERROR_GHOST: "error",
    }


async def test_a_ghost_in_the_warn_window_warns_and_one_in_the_error_window_errors(
    ghost_fixture: dict[str, str],
) -> None:
    assert ghost_fixture["ghost_users_in_warn_window"] == "warn"
    assert ghost_fixture["ghost_users_in_error_window"] == "fail"


async def test_the_error_threshold_is_a_count_above_which_it_errors(
    ghost_fixture: dict[str, str], run_dbt: RunDbt
) -> None:
    result = run_dbt("test", "--select", *GHOST_TESTS, "--vars", '{"ghost_users_error_above": 1}')
    statuses = run_results(result)

    assert result.returncode == 0, result.stdout[-3000:]
    assert statuses == {
        "ghost_users_in_warn_window": "warn",
        "ghost_users_in_error_window": "warn",
    }
