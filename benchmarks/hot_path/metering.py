"""Counting database and Redis work, from both ends.

Server side: `pg_stat_database.active_time` of the benchmark database, the milliseconds its
backends spent executing statements (PostgreSQL 14+), and `xact_commit`. pg_stat_statements
is not in `shared_preload_libraries` here and enabling it needs a restart, so it is not used.
Backends flush these counters when idle (at most every second, or after 10 s idle) and when
they exit, so a measured window starts after an idle pause and ends after the pools are closed.

Server CPU: the user + system CPU time of the database's backend processes, read from
`/proc/<pid>/stat` for the pids `pg_stat_activity` lists (PostgreSQL runs on this machine). On a
loaded machine `active_time` also counts time a backend waited for a CPU; CPU time does not, so
it is the figure compared against the baseline.

Client side: every asyncpg `Connection` round trip (fetch, fetchrow, fetchval, execute,
executemany; a pool's release runs its reset query through `execute`) is counted and timed by
patching the class in this process, and every Redis command or pipeline round trip likewise.
The client-side time includes waiting for the event loop, so it is an upper bound; the server
side figure is the one reported as "database time".
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import psycopg2
from asyncpg.connection import Connection
from redis.asyncio.client import Pipeline, Redis

RESET_QUERY_PREFIX = "SELECT pg_advisory_unlock_all()"
_WHITESPACE = re.compile(r"\s+")


def statement_label(query: str) -> str:
    text = _WHITESPACE.sub(" ", query).strip()
    if text.startswith(RESET_QUERY_PREFIX):
        return "(pool release reset: SELECT pg_advisory_unlock_all(); CLOSE ALL; ...)"
    return text[:90]


@dataclass
class StatementStats:
    calls: int = 0
    seconds: float = 0.0


@dataclass
class ClientMeter:
    """Round trips seen by this process while `enabled`."""

    enabled: bool = False
    db_round_trips: int = 0
    db_seconds: float = 0.0
    redis_round_trips: int = 0
    by_statement: dict[str, StatementStats] = field(
        default_factory=lambda: defaultdict(StatementStats)
    )

    def reset(self) -> None:
        self.db_round_trips = 0
        self.db_seconds = 0.0
        self.redis_round_trips = 0
        self.by_statement = defaultdict(StatementStats)

    def top_statements(self, count: int = 8) -> list[dict[str, Any]]:
        ranked = sorted(self.by_statement.items(), key=lambda item: -item[1].seconds)
        return [
            {"statement": label, "calls": stats.calls, "client_ms": round(stats.seconds * 1e3)}
            for label, stats in ranked[:count]
        ]


METER = ClientMeter()
_installed = False


def install() -> None:
    """Patch asyncpg and redis-py once; the counters only move while METER.enabled."""
    global _installed
    if _installed:
        return
    _installed = True
    for name in ("fetch", "fetchrow", "fetchval", "execute", "executemany"):
        setattr(Connection, name, _timed_db_method(getattr(Connection, name)))
    setattr(Redis, "execute_command", _counted_redis(Redis.execute_command))  # noqa: B010
    setattr(Pipeline, "execute", _counted_redis(Pipeline.execute))  # noqa: B010


def _timed_db_method(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def timed(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if not METER.enabled:
            return await method(self, query, *args, **kwargs)
        started = time.perf_counter()
        try:
            return await method(self, query, *args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            METER.db_round_trips += 1
            METER.db_seconds += elapsed
            stats = METER.by_statement[statement_label(query)]
            stats.calls += 1
            stats.seconds += elapsed

    return timed


def _counted_redis(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        if METER.enabled:
            METER.redis_round_trips += 1
        return await method(self, *args, **kwargs)

    return counted


@dataclass(frozen=True)
class ServerCounters:
    active_ms: float
    xact_commit: int
    xact_rollback: int
    blks_hit: int
    blks_read: int
    tup_returned: int
    tup_fetched: int

    def minus(self, before: ServerCounters) -> ServerCounters:
        return ServerCounters(
            active_ms=self.active_ms - before.active_ms,
            xact_commit=self.xact_commit - before.xact_commit,
            xact_rollback=self.xact_rollback - before.xact_rollback,
            blks_hit=self.blks_hit - before.blks_hit,
            blks_read=self.blks_read - before.blks_read,
            tup_returned=self.tup_returned - before.tup_returned,
            tup_fetched=self.tup_fetched - before.tup_fetched,
        )


def read_server_counters(server_url: str, database: str) -> ServerCounters:
    """The database's cumulative counters, read from another database's session."""
    connection = psycopg2.connect(server_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                select active_time, xact_commit, xact_rollback, blks_hit, blks_read,
                       tup_returned, tup_fetched
                from pg_stat_database where datname = %s
                """,
                (database,),
            )
            row = cursor.fetchone()
    finally:
        connection.close()
    assert row is not None, f"no pg_stat_database row for {database}"
    return ServerCounters(float(row[0] or 0), *(int(value or 0) for value in row[1:]))


def backends_in(server_url: str, database: str) -> int:
    connection = psycopg2.connect(server_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("select count(*) from pg_stat_activity where datname = %s", (database,))
            row = cursor.fetchone()
    finally:
        connection.close()
    return int(row[0]) if row else 0


async def settled_server_counters(
    server_url: str, database: str, *, idle_flush_seconds: float
) -> ServerCounters:
    """Counters once every backend of `database` has flushed its pending statistics.

    With connections still open, wait `idle_flush_seconds` (PostgreSQL flushes an idle
    backend's counters after at most 10 s); with none open, wait for the exits to land.
    """
    if await asyncio.to_thread(backends_in, server_url, database) > 0:
        await asyncio.sleep(idle_flush_seconds)
    else:
        await asyncio.sleep(0.3)
    previous = await asyncio.to_thread(read_server_counters, server_url, database)
    for _ in range(20):
        await asyncio.sleep(0.3)
        current = await asyncio.to_thread(read_server_counters, server_url, database)
        if current == previous:
            return current
        previous = current
    return previous


async def wait_for_no_backends(
    server_url: str, database: str, limit_seconds: float = 10.0
) -> None:
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        if await asyncio.to_thread(backends_in, server_url, database) == 0:
            return
        await asyncio.sleep(0.1)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def backend_pids(server_url: str, database: str) -> list[int]:
    connection = psycopg2.connect(server_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select pid from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
                (database,),
            )
            return [int(row[0]) for row in cursor.fetchall()]
    finally:
        connection.close()


def process_cpu_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def backend_cpu(server_url: str, database: str) -> dict[int, float]:
    """CPU seconds used so far by each backend connected to `database`."""
    usage: dict[int, float] = {}
    for pid in backend_pids(server_url, database):
        seconds = process_cpu_seconds(pid)
        if seconds is not None:
            usage[pid] = seconds
    return usage


def cpu_used_between(before: dict[int, float], after: dict[int, float]) -> float:
    """Seconds of backend CPU in the window; a backend opened inside it counts in full."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


async def _keep_session_state(connection: Any) -> None:
    """A pool `reset` that sends nothing: for code that never changes session state."""


def skip_pool_reset() -> None:
    """What-if: every asyncpg pool made from now on skips its reset query on release."""
    create_pool = asyncpg.create_pool

    @functools.wraps(create_pool)
    def without_reset(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("reset", _keep_session_state)
        return create_pool(*args, **kwargs)

    asyncpg.create_pool = without_reset
