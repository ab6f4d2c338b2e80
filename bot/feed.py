"""The per-user feed: a Redis list of prepared candidates, refilled from the dbt tables.

The bot reads recommendations, it never computes them. A refill takes the user's next rows of
`recommendations.user_candidates` (or `cold_start_candidates` for a user new since the build),
drops anything sent since the build, and appends them to `feed:queue:<user_id>`. A meme is
claimed by inserting its sent row before it goes out; the primary key (user_id, meme_id) makes a
repeat impossible even when two deliveries race.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import asyncpg
import redis.asyncio as aioredis

from bot.batching import Coalescer

log = logging.getLogger(__name__)

QUEUE_TTL_SECONDS = 3 * 3600
REFILL_LOCK_SECONDS = 15
MAX_REFILL_ROUNDS = 20
# refill() did not run the queries itself: another refill held the lock, so only that one knows
# whether anything unseen is left.
REFILLED_BY_ANOTHER = -1

PERSONAL_CANDIDATES_SQL = """
select c.meme_id, m.telegram_file_id, m.caption, c.engine
from recommendations.user_candidates as c
join app.meme as m on m.id = c.meme_id
where c.user_id = $1
  and m.status = 'ok'
  and m.telegram_file_id <> ''
  and c.meme_id <> all($2::bigint[])
  and not exists (
      select 1 from app.user_meme_reaction as r where r.user_id = $1 and r.meme_id = c.meme_id
  )
order by c.rank
limit $3
"""

# For a user new since the last build: the per-language cold-start lists, the user's own
# languages first (in the order they were added), then the other languages' lists rather than
# nothing; each meme once.
COLD_START_CANDIDATES_SQL = """
with user_languages as (
    select language_code, row_number() over (order by created_at, language_code) as preference
    from app.user_language where user_id = $1
),
ranked as (
    select distinct on (c.meme_id)
        c.meme_id, m.telegram_file_id, m.caption, c.engine,
        coalesce(l.preference, 1000) as preference, c.rank
    from recommendations.cold_start_candidates as c
    left join user_languages as l on l.language_code = c.language_code
    join app.meme as m on m.id = c.meme_id
    where m.status = 'ok'
      and m.telegram_file_id <> ''
      and c.meme_id <> all($2::bigint[])
      and not exists (
          select 1 from app.user_meme_reaction as r
          where r.user_id = $1 and r.meme_id = c.meme_id
      )
    order by c.meme_id, coalesce(l.preference, 1000), c.rank
)
select meme_id, telegram_file_id, caption, engine from ranked
order by preference, rank
limit $3
"""

# When the prepared lists are used up before the next build, any unseen ok meme is still better
# than "memes ended": the user's languages first, then every other language, newest first.
UNSEEN_FALLBACK_SQL = """
select m.id as meme_id, m.telegram_file_id, m.caption, 'unseen_fallback' as engine
from app.meme as m
where m.status = 'ok'
  and m.telegram_file_id <> ''
  and m.id <> all($2::bigint[])
  and not exists (
      select 1 from app.user_meme_reaction as r where r.user_id = $1 and r.meme_id = m.id
  )
order by
    exists (
        select 1 from app.user_language as l
        where l.user_id = $1 and l.language_code = m.language_code
    ) desc,
    m.published_at desc,
    m.id desc
limit $3
"""

# Pops the next queued meme of each user (KEYS are queue and pace key pairs, one pair per pop)
# and, in the same round trip, keeps each user's pace (a moving average of seconds between
# memes) and says how many memes are left. Concurrent pops share one call (bot/batching.py).
POP_AND_TRACK_PACE = """
local now = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS, 2 do
    local item = redis.call('LPOP', KEYS[i])
    local left = redis.call('LLEN', KEYS[i])
    if not item then
        out[#out + 1] = false
        out[#out + 1] = left
        out[#out + 1] = false
    else
        local last = tonumber(redis.call('HGET', KEYS[i + 1], 'last') or '0')
        local pace = tonumber(redis.call('HGET', KEYS[i + 1], 'pace') or ARGV[2])
        if last > 0 then
            pace = 0.7 * pace + 0.3 * math.min(math.max(now - last, 0), tonumber(ARGV[3]))
        end
        redis.call('HSET', KEYS[i + 1], 'last', ARGV[1], 'pace', tostring(pace))
        redis.call('EXPIRE', KEYS[i + 1], 86400)
        out[#out + 1] = item
        out[#out + 1] = left
        out[#out + 1] = tostring(pace)
    end
end
return out
"""
DEFAULT_SECONDS_PER_MEME = 10.0
# A long pause says nothing about how fast the next taps come.
MAX_COUNTED_GAP_SECONDS = 60.0
# The queue should last this long at the user's pace while a refill runs.
REFILL_COVER_SECONDS = 20.0


def refill_threshold_for_pace(seconds_per_meme: float, base_threshold: int) -> int:
    """Refill earlier for fast users: enough memes left to cover REFILL_COVER_SECONDS."""
    wanted = math.ceil(REFILL_COVER_SECONDS / max(seconds_per_meme, 0.1))
    return min(max(wanted, base_threshold), 4 * base_threshold)


CANDIDATE_SOURCES = (
    ("personal", PERSONAL_CANDIDATES_SQL),
    ("cold_start", COLD_START_CANDIDATES_SQL),
    ("unseen_fallback", UNSEEN_FALLBACK_SQL),
)


@dataclass(frozen=True)
class QueuedMeme:
    meme_id: int
    telegram_file_id: str
    caption: str | None
    engine: str

    def encode(self) -> str:
        # A literal dict, not dataclasses.asdict: that deep-copies and was a tenth of a refill.
        return json.dumps(
            {
                "meme_id": self.meme_id,
                "telegram_file_id": self.telegram_file_id,
                "caption": self.caption,
                "engine": self.engine,
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, raw: bytes | str) -> QueuedMeme:
        return cls(**json.loads(raw))


@dataclass(frozen=True)
class PoppedMeme:
    meme: QueuedMeme
    left: int  # memes still queued after this one
    seconds_per_meme: float  # the user's recent pace


def queue_key(user_id: int) -> str:
    return f"feed:queue:{user_id}"


def pace_key(user_id: int) -> str:
    return f"feed:pace:{user_id}"


def refill_lock_key(user_id: int) -> str:
    return f"feed:refill-lock:{user_id}"


class Feed:
    """Hands out each user's next unseen meme; knows nothing of Telegram."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: aioredis.Redis,
        *,
        refill_threshold: int = 8,
        refill_batch: int = 20,
    ) -> None:
        self._pool = pool
        self._redis = redis
        self._refill_threshold = refill_threshold
        self._refill_batch = refill_batch
        self._background_refills: set[asyncio.Task[int]] = set()
        self._users_refilling: set[int] = set()
        self._pop_and_track_pace = redis.register_script(POP_AND_TRACK_PACE)
        self._pops: Coalescer[int, PoppedMeme | None] = Coalescer(self._pop_batch)

    async def claim_next(self, user_id: int) -> QueuedMeme | None:
        """Pop the next meme and record it as sent; None only when nothing unseen is left."""
        for _ in range(MAX_REFILL_ROUNDS):
            while (popped := await self.pop(user_id)) is not None:
                if await self._claim(user_id, popped.meme):
                    self.after_claim(user_id, popped)
                    return popped.meme
            if await self.refill(user_id) == 0:
                return None
        return None

    async def pop(self, user_id: int) -> PoppedMeme | None:
        """Take the head of the queue without claiming it (the caller claims or pushes back)."""
        return await self._pops.submit(user_id)

    async def _pop_batch(self, user_ids: Sequence[int]) -> list[PoppedMeme | None]:
        keys = [key for user_id in user_ids for key in (queue_key(user_id), pace_key(user_id))]
        replies = await self._pop_and_track_pace(
            keys=keys, args=[time.time(), DEFAULT_SECONDS_PER_MEME, MAX_COUNTED_GAP_SECONDS]
        )
        popped: list[PoppedMeme | None] = []
        for index in range(0, len(replies), 3):
            raw, left, pace = replies[index : index + 3]
            popped.append(
                None
                if raw is None
                else PoppedMeme(QueuedMeme.decode(cast(bytes, raw)), int(left), float(pace))
            )
        return popped

    async def push_back(self, user_id: int, popped: PoppedMeme) -> None:
        """Return a popped meme that was not claimed to the head of the queue."""
        await self._redis.lpush(queue_key(user_id), popped.meme.encode())

    def after_claim(self, user_id: int, popped: PoppedMeme) -> None:
        """Start a refill when what is left would not last at this user's pace."""
        threshold = refill_threshold_for_pace(popped.seconds_per_meme, self._refill_threshold)
        if popped.left <= threshold:
            self._refill_in_background(user_id, batch=max(self._refill_batch, 2 * threshold))

    async def claim_specific(self, user_id: int, meme_id: int) -> QueuedMeme | None:
        """Claim one chosen meme (a shared link) if it is ok and the user has never had it."""
        row = await self._pool.fetchrow(
            """
            select id as meme_id, telegram_file_id, caption from app.meme
            where id = $1 and status = 'ok' and telegram_file_id <> ''
            """,
            meme_id,
        )
        if row is None:
            return None
        meme = QueuedMeme(row["meme_id"], row["telegram_file_id"], row["caption"], "shared_link")
        return meme if await self._claim(user_id, meme) else None

    async def release(self, user_id: int, meme_id: int) -> None:
        """Undo a claim whose delivery failed, so the meme stays unseen."""
        await self._pool.execute(
            """
            delete from app.user_meme_reaction
            where user_id = $1 and meme_id = $2 and reaction_id is null
            """,
            user_id,
            meme_id,
        )

    async def refill(
        self, user_id: int, batch: int | None = None, *, wait_for_another: bool = True
    ) -> int:
        """Append the next unseen candidates to the user's queue; returns how many were added.

        0 means nothing unseen is left for this user; REFILLED_BY_ANOTHER that a concurrent
        refill ran instead (waited for, unless `wait_for_another` is false).
        """
        lock_token = secrets.token_hex(8)
        lock = refill_lock_key(user_id)
        if not await self._redis.set(lock, lock_token, nx=True, ex=REFILL_LOCK_SECONDS):
            if not wait_for_another:
                return REFILLED_BY_ANOTHER
            # Another refill is running: wait for it rather than queueing the same memes twice.
            for _ in range(50):
                await asyncio.sleep(0.02)
                if not await self._redis.exists(lock):
                    break
            return REFILLED_BY_ANOTHER
        try:
            queued = [
                QueuedMeme.decode(raw).meme_id
                for raw in await self._redis.lrange(queue_key(user_id), 0, -1)
            ]
            for source_name, query in CANDIDATE_SOURCES:
                try:
                    rows = await self._pool.fetch(
                        query, user_id, queued, batch or self._refill_batch
                    )
                except asyncpg.UndefinedTableError:
                    # Before the first dbt build there are no candidate tables yet.
                    log.warning("%s candidates are not built yet", source_name)
                    continue
                if rows:
                    memes = [
                        QueuedMeme(
                            r["meme_id"], r["telegram_file_id"], r["caption"], r["engine"]
                        ).encode()
                        for r in rows
                    ]
                    async with self._redis.pipeline(transaction=True) as pipe:
                        pipe.rpush(queue_key(user_id), *memes)
                        pipe.expire(queue_key(user_id), QUEUE_TTL_SECONDS)
                        await pipe.execute()
                    log.debug("refilled %s with %d from %s", user_id, len(rows), source_name)
                    return len(rows)
            return 0
        finally:
            # Only the holder releases the lock; a stale holder must not free a newer one.
            await self._redis.eval(
                "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
                "else return 0 end",
                1,
                lock,
                lock_token,
            )

    async def forget_queue(self, user_id: int) -> None:
        await self._redis.delete(queue_key(user_id))

    async def rebuild_queue(self, user_id: int) -> int:
        """Replace the user's queue with the head of the newest candidates."""
        await self.forget_queue(user_id)
        return max(await self.refill(user_id), 0)

    async def wait_for_background_refills(self) -> None:
        if self._background_refills:
            await asyncio.gather(*self._background_refills, return_exceptions=True)

    async def close(self) -> None:
        await self._pops.close()
        await self.wait_for_background_refills()

    async def _claim(self, user_id: int, meme: QueuedMeme) -> bool:
        claimed = await self._pool.fetchval(
            """
            insert into app.user_meme_reaction (user_id, meme_id, recommended_by)
            values ($1, $2, $3)
            on conflict (user_id, meme_id) do nothing
            returning true
            """,
            user_id,
            meme.meme_id,
            meme.engine,
        )
        return bool(claimed)

    def _refill_in_background(self, user_id: int, *, batch: int) -> None:
        # Every claim below the threshold asks for a refill; while one is on its way, more
        # would only contend for the user's lock (they were most of the bot's Redis calls).
        if user_id in self._users_refilling:
            return
        self._users_refilling.add(user_id)
        task = asyncio.create_task(self._refill_logging_errors(user_id, batch))
        self._background_refills.add(task)
        task.add_done_callback(self._background_refills.discard)

    async def _refill_logging_errors(self, user_id: int, batch: int) -> int:
        with contextlib.suppress(asyncio.CancelledError):
            try:
                return await self.refill(user_id, batch, wait_for_another=False)
            except Exception:
                log.exception("background refill failed for user %s", user_id)
            finally:
                self._users_refilling.discard(user_id)
        return 0
