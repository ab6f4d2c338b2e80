"""Admin-only figures and broadcasts."""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg

BROADCAST_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{2,63}$")


async def is_admin(pool: asyncpg.Pool, user_id: int) -> bool:
    return bool(
        await pool.fetchval(
            """select exists (select 1 from app."user" where id = $1 and type = 'admin')""",
            user_id,
        )
    )


@dataclass(frozen=True)
class AdminStats:
    active_users_24h: int
    reactions_today: int
    memes_per_session: float


async def admin_stats(pool: asyncpg.Pool, session_gap_minutes: int = 30) -> AdminStats:
    """Live figures for the last day: who was active, how much they reacted, session length."""
    row = await pool.fetchrow(
        """
        with recent as (
            select user_id, reacted_at,
                   reacted_at - lag(reacted_at) over (partition by user_id order by reacted_at)
                       as gap
            from app.user_meme_reaction
            where reacted_at > now() - interval '1 day'
        )
        select
            count(distinct user_id) as active_users,
            count(*) filter (where reacted_at >= date_trunc('day', now())) as reactions_today,
            count(*)::float / nullif(
                count(*) filter (where gap is null or gap >= make_interval(mins => $1)), 0
            ) as memes_per_session
        from recent
        """,
        session_gap_minutes,
    )
    assert row is not None
    return AdminStats(row["active_users"], row["reactions_today"], row["memes_per_session"] or 0)


async def create_broadcast(
    pool: asyncpg.Pool, broadcast_id: str, text: str, created_by: int
) -> bool:
    """Register a broadcast; False if that id was used before (it is never sent twice)."""
    created = await pool.fetchval(
        """
        insert into app.broadcast (id, text, created_by) values ($1, $2, $3)
        on conflict (id) do nothing
        returning true
        """,
        broadcast_id,
        text,
        created_by,
    )
    return bool(created)


async def broadcast_recipients(pool: asyncpg.Pool, broadcast_id: str) -> list[int]:
    rows = await pool.fetch(
        """
        select u.id from app."user" as u
        where u.blocked_bot_at is null
          and not exists (
              select 1 from app.broadcast_delivery as d
              where d.broadcast_id = $1 and d.user_id = u.id
          )
        order by u.id
        """,
        broadcast_id,
    )
    return [row["id"] for row in rows]


async def claim_delivery(pool: asyncpg.Pool, broadcast_id: str, user_id: int) -> bool:
    """Mark one delivery before sending, so a rerun or a second worker never sends it again."""
    claimed = await pool.fetchval(
        """
        insert into app.broadcast_delivery (broadcast_id, user_id) values ($1, $2)
        on conflict do nothing
        returning true
        """,
        broadcast_id,
        user_id,
    )
    return bool(claimed)


async def finish_broadcast(pool: asyncpg.Pool, broadcast_id: str) -> None:
    await pool.execute("update app.broadcast set finished_at = now() where id = $1", broadcast_id)
