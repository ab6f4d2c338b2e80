"""Pre-warming: after a build, recently active users' queues hold the newest candidates."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import redis.asyncio as aioredis

from bot.feed import QueuedMeme, queue_key
from bot.serving import prewarm_recent_queues
from tests.factories import create_memes

# The shape dbt's enforced contract gives these tables (dbt_project/models/recommendations).
CANDIDATE_TABLES = """
create schema if not exists recommendations;
create table recommendations.user_candidates (
    user_id bigint, meme_id bigint, engine text, score double precision, rank integer,
    built_at timestamptz
);
create table recommendations.cold_start_candidates (
    language_code text, meme_id bigint, engine text, score double precision, rank integer,
    built_at timestamptz
);
"""


async def _queued_ids(redis: aioredis.Redis, user_id: int) -> list[int]:
    return [
        QueuedMeme.decode(raw).meme_id for raw in await redis.lrange(queue_key(user_id), 0, -1)
    ]


async def test_prewarm_replaces_active_users_queues_with_the_new_build_in_rank_order(
    clean_db: asyncpg.Pool, database_url: str, redis_url: str, redis_client: aioredis.Redis
) -> None:
    memes = await create_memes(clean_db, 6)
    await clean_db.execute(
        """
        insert into app."user" (id, last_active_at) values
            (1, now() - interval '5 minutes'), (2, now() - interval '30 days')
        """
    )
    await clean_db.execute(CANDIDATE_TABLES)
    new_order = [memes[4], memes[1], memes[5]]
    for user_id in (1, 2):
        await clean_db.executemany(
            """
            insert into recommendations.user_candidates
            values ($1, $2, 'lr_smoothed', 1, $3, now())
            """,
            [(user_id, meme_id, rank) for rank, meme_id in enumerate(new_order, start=1)],
        )
        stale = QueuedMeme(memes[0], "file-stale", None, "cold_start").encode()
        await redis_client.rpush(queue_key(user_id), stale)

    result = await prewarm_recent_queues(database_url, redis_url, active_within=timedelta(days=1))

    assert result.users == 1
    assert await _queued_ids(redis_client, 1) == new_order
    assert await _queued_ids(redis_client, 2) == [memes[0]]  # inactive: left alone
