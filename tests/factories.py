"""Rows for tests, written to the real database through the same pool the code uses."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

FIXED_NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
_ids = itertools.count(10_000)


async def create_source(
    pool: asyncpg.Pool, *, type_: str = "telegram", language_code: str = "en"
) -> int:
    return await pool.fetchval(
        """
        insert into app.meme_source (type, url, language_code)
        values ($1, $2, $3) returning id
        """,
        type_,
        f"https://t.me/source_{next(_ids)}",
        language_code,
    )


async def create_meme(
    pool: asyncpg.Pool,
    source_id: int,
    *,
    language_code: str = "en",
    status: str = "ok",
    caption: str | None = None,
    published_at: datetime | None = None,
    telegram_file_id: str | None = None,
) -> int:
    raw_id = next(_ids)
    return await pool.fetchval(
        """
        insert into app.meme (meme_source_id, raw_meme_id, status, type, telegram_file_id,
                              caption, language_code, published_at)
        values ($1, $2, $3, 'image', $4, $5, $6, $7)
        returning id
        """,
        source_id,
        raw_id,
        status,
        telegram_file_id or (f"file-{raw_id}" if status == "ok" else None),
        caption,
        language_code,
        published_at or FIXED_NOW - timedelta(days=1),
    )


async def create_memes(pool: asyncpg.Pool, count: int, **kwargs: Any) -> list[int]:
    source_id = await create_source(pool, language_code=kwargs.get("language_code", "en"))
    return [await create_meme(pool, source_id, **kwargs) for _ in range(count)]


async def count_rows(pool: asyncpg.Pool, table: str, user_id: int) -> int:
    column = "id" if table in {'"user"', "user_tg"} else "user_id"
    # Table names come from the test's own literals, never from input.
    return await pool.fetchval(f"select count(*) from app.{table} where {column} = $1", user_id)
