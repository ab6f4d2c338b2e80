"""Reaction writes: a like or dislike lands on the meme's sent row exactly once."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from bot.batching import Coalescer
from bot.feed import QueuedMeme

REACTION_CALLBACK = re.compile(r"^r:(\d{1,18}):([12])$")
CHANGE_REACTION_CALLBACK = re.compile(r"^u:(\d{1,18}):([12])$")


class Reaction(enum.IntEnum):
    LIKE = 1
    DISLIKE = 2


class ReactionOutcome(enum.Enum):
    RECORDED = "recorded"
    ALREADY_RECORDED = "already_recorded"
    NOT_SENT_TO_USER = "not_sent_to_user"


@dataclass(frozen=True)
class ReactionPress:
    meme_id: int
    reaction: Reaction


def reaction_callback_data(meme_id: int, reaction: Reaction) -> str:
    return f"r:{meme_id}:{int(reaction)}"


def parse_reaction_callback(
    data: str | None, pattern: re.Pattern[str] = REACTION_CALLBACK
) -> ReactionPress | None:
    """`r:<meme_id>:<1|2>`, or None for anything else (forged or malformed data)."""
    match = pattern.match(data or "")
    if match is None:
        return None
    return ReactionPress(meme_id=int(match.group(1)), reaction=Reaction(int(match.group(2))))


@dataclass(frozen=True)
class ReactionResult:
    outcome: ReactionOutcome
    # Whether the next meme given as `claim` was recorded as sent in the same statement.
    claimed_next: bool = False


# One statement for a whole batch of reactions (see ReactionWriter): each input row sets its
# reaction on an unreacted sent row, and only if that happened inserts the sent row of the
# next meme given as its claim. `was_sent` tells a repeat (the row exists, already reacted)
# from a forgery (no row for this user and meme). last_active_at only picks users for queue
# prewarming (bot/serving.py): a minute's precision spares a user row version per reaction.
RECORD_REACTIONS_SQL = """
with input as (
    select *
    from unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::bigint[], $5::text[])
        with ordinality as t (user_id, meme_id, reaction_id, claim_meme_id, claim_engine, position)
),
updated as (
    update app.user_meme_reaction as r
    set reaction_id = i.reaction_id, reacted_at = clock_timestamp()
    from input as i
    where r.user_id = i.user_id and r.meme_id = i.meme_id and r.reaction_id is null
    returning r.user_id, r.meme_id
),
touched_users as (
    update app."user" as u set last_active_at = now()
    where u.id in (select updated.user_id from updated)
        and (u.last_active_at is null or u.last_active_at < now() - interval '1 minute')
),
claimed as (
    insert into app.user_meme_reaction (user_id, meme_id, recommended_by)
    select i.user_id, i.claim_meme_id, i.claim_engine
    from input as i
    join updated as u on u.user_id = i.user_id and u.meme_id = i.meme_id
    where i.claim_meme_id is not null
    on conflict (user_id, meme_id) do nothing
    returning user_id, meme_id
)
select
    exists (
        select 1 from updated as u where u.user_id = i.user_id and u.meme_id = i.meme_id
    ) as is_new,
    exists (
        select 1 from app.user_meme_reaction as r
        where r.user_id = i.user_id and r.meme_id = i.meme_id
    ) as was_sent,
    exists (
        select 1 from claimed as c where c.user_id = i.user_id and c.meme_id = i.claim_meme_id
    ) as claimed_next
from input as i
order by i.position
"""
# Two batches from different bot processes can lock the same rows in opposite orders.
DEADLOCK_RETRIES = 3


@dataclass(frozen=True)
class ReactionWrite:
    user_id: int
    meme_id: int
    reaction: Reaction
    # The user's next meme, recorded as sent in the same statement if the reaction was new.
    claim: QueuedMeme | None = None


class ReactionWriter:
    """Records reactions exactly once; concurrent reactions share one statement and commit."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._batches: Coalescer[ReactionWrite, ReactionResult] = Coalescer(self._write)

    async def record(
        self,
        user_id: int,
        meme_id: int,
        reaction: Reaction,
        *,
        claim: QueuedMeme | None = None,
    ) -> ReactionResult:
        """Set the reaction on the user's sent row; a double tap or redelivery changes nothing.

        With `claim`, the next meme's sent row is inserted in the same round trip, only if
        the reaction was new, so the hot path costs one statement per meme (or less).
        """
        return await self._batches.submit(ReactionWrite(user_id, meme_id, reaction, claim))

    @property
    def statements(self) -> int:
        """Statements run so far (one per batch)."""
        return self._batches.batches

    async def close(self) -> None:
        await self._batches.close()

    async def _write(self, writes: Sequence[ReactionWrite]) -> list[ReactionResult]:
        # A repeated (user, meme) in one batch (a double tap) is answered from its first
        # occurrence: one statement cannot tell which of two equal inputs updated the row.
        first_index: dict[tuple[int, int], int] = {}
        leaders: list[ReactionWrite] = []
        for write in writes:
            key = (write.user_id, write.meme_id)
            if key not in first_index:
                first_index[key] = len(leaders)
                leaders.append(write)
        rows = await self._run(leaders)
        leader_results = [
            ReactionResult(ReactionOutcome.RECORDED, claimed_next=row["claimed_next"])
            if row["is_new"]
            else ReactionResult(
                ReactionOutcome.ALREADY_RECORDED
                if row["was_sent"]
                else ReactionOutcome.NOT_SENT_TO_USER
            )
            for row in rows
        ]
        results: list[ReactionResult] = []
        answered: set[tuple[int, int]] = set()
        for write in writes:
            key = (write.user_id, write.meme_id)
            leader = leader_results[first_index[key]]
            if key in answered and leader.outcome is ReactionOutcome.RECORDED:
                results.append(ReactionResult(ReactionOutcome.ALREADY_RECORDED))
            else:
                results.append(leader)
            answered.add(key)
        return results

    async def _run(self, writes: Sequence[ReactionWrite]) -> list[asyncpg.Record]:
        arguments = (
            [write.user_id for write in writes],
            [write.meme_id for write in writes],
            [int(write.reaction) for write in writes],
            [write.claim.meme_id if write.claim else None for write in writes],
            [write.claim.engine if write.claim else None for write in writes],
        )
        attempts = 1
        while True:
            try:
                return await self._pool.fetch(RECORD_REACTIONS_SQL, *arguments)
            except asyncpg.DeadlockDetectedError:
                if attempts == DEADLOCK_RETRIES:
                    raise
                attempts += 1
