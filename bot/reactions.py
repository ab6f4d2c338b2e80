"""Reaction writes: a like or dislike lands on the meme's sent row exactly once."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

import asyncpg

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


async def record_reaction(
    pool: asyncpg.Pool, user_id: int, meme_id: int, reaction: Reaction
) -> ReactionOutcome:
    """Set the reaction on the user's sent row; a double tap or redelivery changes nothing."""
    # One round trip: the update only touches an unreacted sent row, and the CTE tells a
    # repeat (row exists, already reacted) from a forgery (no row for this user and meme).
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
        )
        select
            exists (select 1 from updated) as is_new,
            exists (
                select 1 from app.user_meme_reaction where user_id = $1 and meme_id = $2
            ) as was_sent
        """,
        user_id,
        meme_id,
        int(reaction),
    )
    assert row is not None
    if row["is_new"]:
        return ReactionOutcome.RECORDED
    if row["was_sent"]:
        return ReactionOutcome.ALREADY_RECORDED
    return ReactionOutcome.NOT_SENT_TO_USER
