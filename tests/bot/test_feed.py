"""The feed queue: adaptive refill, the refill lock, and never the same meme twice."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
import redis.asyncio as aioredis

from bot.feed import Feed, QueuedMeme, pace_key, queue_key, refill_threshold_for_pace
from tests.factories import create_memes


@pytest.mark.parametrize(
    ("seconds_per_meme", "expected"),
    [(30.0, 8), (10.0, 8), (2.0, 10), (1.0, 20), (0.2, 32)],
)
def test_fast_users_get_refilled_earlier_within_bounds(
    seconds_per_meme: float, expected: int
) -> None:
    assert refill_threshold_for_pace(seconds_per_meme, base_threshold=8) == expected


async def _seed_queue(redis: aioredis.Redis, user_id: int, meme_ids: list[int]) -> None:
    await redis.rpush(
        queue_key(user_id),
        *(QueuedMeme(meme_id, f"file-{meme_id}", None, "test").encode() for meme_id in meme_ids),
    )


async def _user(pool: asyncpg.Pool, user_id: int) -> None:
    await pool.execute('insert into app."user" (id) values ($1)', user_id)


@pytest.mark.parametrize(("pace", "refills"), [(0.5, True), (30.0, False)])
async def test_the_refill_threshold_follows_the_users_pace(
    clean_db: asyncpg.Pool, redis_client: aioredis.Redis, pace: float, refills: bool
) -> None:
    memes = await create_memes(clean_db, 20)
    await _user(clean_db, 1)
    feed = Feed(clean_db, redis_client, refill_threshold=2, refill_batch=5)
    await _seed_queue(redis_client, 1, memes[:6])
    await redis_client.hset(pace_key(1), mapping={"last": 0, "pace": pace})

    await feed.claim_next(1)
    await feed.wait_for_background_refills()

    left = await redis_client.llen(queue_key(1))
    assert (left > 5) is refills


async def test_concurrent_claims_never_hand_out_the_same_meme_twice(
    clean_db: asyncpg.Pool, redis_client: aioredis.Redis
) -> None:
    memes = await create_memes(clean_db, 30)
    await _user(clean_db, 2)
    feed = Feed(clean_db, redis_client, refill_threshold=2, refill_batch=4)
    # The same meme queued twice (as a stale queue could hold it) is still sent once.
    await _seed_queue(redis_client, 2, [memes[0], memes[0], memes[1]])

    claimed = await asyncio.gather(*(feed.claim_next(2) for _ in range(40)))
    await feed.wait_for_background_refills()

    delivered = [meme.meme_id for meme in claimed if meme is not None]
    assert sorted(delivered) == sorted(memes)
    assert claimed.count(None) == 10
    assert (
        await clean_db.fetchval("select count(*) from app.user_meme_reaction where user_id = 2")
        == 30
    )
