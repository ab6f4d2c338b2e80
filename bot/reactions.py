"""Reaction writes: a like or dislike lands on the meme's sent row exactly once."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

import asyncpg

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


async def record_reaction(
    pool: asyncpg.Pool,
    user_id: int,
    meme_id: int,
    reaction: Reaction,
    *,
    claim: QueuedMeme | None = None,
) -> ReactionResult:
    """Set the reaction on the user's sent row; a double tap or redelivery changes nothing.

    With `claim`, the next meme's sent row is inserted in the same round trip, only if the
    reaction was new, so the hot path costs one statement per meme.
    """
    # The update only touches an unreacted sent row; `was_sent` tells a repeat (row exists,
    # already reacted) from a forgery (no row for this user and meme).
    row = await pool.fetchrow(
        """
        with updated as (
            update app.user_meme_reaction
            set reaction_id = $3, reacted_at = clock_timestamp()
            where user_id = $1 and meme_id = $2 and reaction_id is null
            returning 1
        ),
        touched_user as (
            update app."user" set last_active_at = now()
            where id = $1 and exists (select 1 from updated)
        ),
        claimed as (
            insert into app.user_meme_reaction (user_id, meme_id, recommended_by)
            select $1, $4::bigint, $5::text
            where $4::bigint is not null and exists (select 1 from updated)
            on conflict (user_id, meme_id) do nothing
            returning 1
        )
        select
            exists (select 1 from updated) as is_new,
            exists (
                select 1 from app.user_meme_reaction where user_id = $1 and meme_id = $2
            ) as was_sent,
            exists (select 1 from claimed) as claimed_next
        """,
        user_id,
        meme_id,
        int(reaction),
        claim.meme_id if claim else None,
        claim.engine if claim else None,
    )
    assert row is not None
    if row["is_new"]:
        return ReactionResult(ReactionOutcome.RECORDED, claimed_next=row["claimed_next"])
    if row["was_sent"]:
        return ReactionResult(ReactionOutcome.ALREADY_RECORDED)
    return ReactionResult(ReactionOutcome.NOT_SENT_TO_USER)
