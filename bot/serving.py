"""Serving new candidates: after a build, the queues of recently active users are rebuilt.

Without this a user's queue would keep serving the previous build's order until it drained;
with it, a backfill or a fresh build reaches people on their next tap (DESIGN.md lesson 4).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import redis.asyncio as aioredis

from bot.feed import Feed
from memefeed.db_urls import plain_postgres_url

PREWARM_CONCURRENCY = 16


@dataclass(frozen=True)
class PrewarmResult:
    users: int
    memes_queued: int


async def prewarm_recent_queues(
    database_url: str,
    redis_url: str,
    *,
    active_within: timedelta = timedelta(days=1),
    refill_batch: int = 20,
) -> PrewarmResult:
    """Rebuild the Redis queue of every user active within `active_within` who can be reached."""
    pool = await asyncpg.create_pool(plain_postgres_url(database_url), min_size=1, max_size=4)
    assert pool is not None
    redis = aioredis.from_url(redis_url)
    try:
        user_ids = [
            row["id"]
            for row in await pool.fetch(
                """
                select id from app."user"
                where last_active_at > now() - $1::interval and blocked_bot_at is null
                order by last_active_at desc
                """,
                active_within,
            )
        ]
        feed = Feed(pool, redis, refill_batch=refill_batch)
        limit = asyncio.Semaphore(PREWARM_CONCURRENCY)

        async def rebuild(user_id: int) -> int:
            async with limit:
                return await feed.rebuild_queue(user_id)

        queued = await asyncio.gather(*(rebuild(user_id) for user_id in user_ids))
        return PrewarmResult(users=len(user_ids), memes_queued=sum(queued))
    finally:
        await redis.aclose()
        await pool.close()
