"""What a user can ask about themselves: their stats and their last reaction."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from bot.feed import QueuedMeme
from bot.reactions import Reaction


@dataclass(frozen=True)
class PersonalStats:
    memes_seen: int
    likes: int
    dislikes: int
    active_days: int
    invited_users: int

    @property
    def like_rate(self) -> float:
        reacted = self.likes + self.dislikes
        return self.likes / reacted if reacted else 0.0


async def personal_stats(pool: asyncpg.Pool, user_id: int) -> PersonalStats:
    # Live from the reaction table (its primary key starts with user_id), so /stats is right
    # even before the next dbt build.
    row = await pool.fetchrow(
        """
        select
            count(*) filter (where reaction_id is not null) as memes_seen,
            count(*) filter (where reaction_id = 1) as likes,
            count(*) filter (where reaction_id = 2) as dislikes,
            count(distinct (reacted_at at time zone 'utc')::date) as active_days,
            (select count(*) from app."user" where inviter_id = $1) as invited_users
        from app.user_meme_reaction
        where user_id = $1
        """,
        user_id,
    )
    assert row is not None
    return PersonalStats(**dict(row))


@dataclass(frozen=True)
class LastReaction:
    meme: QueuedMeme
    reaction: Reaction


async def last_reaction(pool: asyncpg.Pool, user_id: int) -> LastReaction | None:
    row = await pool.fetchrow(
        """
        select r.meme_id, r.reaction_id, r.recommended_by, m.telegram_file_id, m.caption
        from app.user_meme_reaction as r
        join app.meme as m on m.id = r.meme_id
        where r.user_id = $1 and r.reaction_id is not null and m.telegram_file_id is not null
        order by r.reacted_at desc
        limit 1
        """,
        user_id,
    )
    if row is None:
        return None
    meme = QueuedMeme(row["meme_id"], row["telegram_file_id"], row["caption"], "last")
    return LastReaction(meme, Reaction(row["reaction_id"]))


async def change_reaction(
    pool: asyncpg.Pool, user_id: int, meme_id: int, reaction: Reaction
) -> bool:
    """Undo a mistaken tap: only a reaction this user already gave can be changed."""
    changed = await pool.fetchval(
        """
        update app.user_meme_reaction set reaction_id = $3
        where user_id = $1 and meme_id = $2 and reaction_id is not null
        returning true
        """,
        user_id,
        meme_id,
        int(reaction),
    )
    return bool(changed)
