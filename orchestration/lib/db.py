"""Small read-only queries the orchestration layer makes itself (row counts, new reactions)."""

from __future__ import annotations

from datetime import datetime

import psycopg2.extensions
from psycopg2 import sql

from ingestion.db import connect

# Tables, partitioned tables and materialised views: counting them reads stored rows only.
STORED_RELKINDS = ("r", "p", "m")


def _count_query(schema: str, name: str) -> sql.Composed:
    return sql.SQL("select count(*) from {}.{}").format(
        sql.Identifier(schema), sql.Identifier(name)
    )


def row_count(database_url: str, schema: str, table: str) -> int:
    """`count(*)` of one table, for the row-count metadata of the Python assets."""
    with connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(_count_query(schema, table))
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def stored_row_count(
    connection: psycopg2.extensions.connection, schema: str, name: str
) -> int | None:
    """`count(*)` of `schema.name` if it is a stored relation; None for views and unknown names
    (a view's count would run its whole query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            select c.relkind::text from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = %s and c.relname = %s
            """,
            (schema, name),
        )
        row = cursor.fetchone()
        if row is None or row[0] not in STORED_RELKINDS:
            return None
        cursor.execute(_count_query(schema, name))
        counted = cursor.fetchone()
    return int(counted[0]) if counted else None


def reactions_since(database_url: str, since: datetime | None) -> tuple[int, datetime | None]:
    """How many reactions were recorded after `since` (all, if None), and the newest one's time.

    Reads the partial index on `app.user_meme_reaction (reacted_at)`.
    """
    with connect(database_url) as connection, connection.cursor() as cursor:
        if since is None:
            cursor.execute(
                "select count(*), max(reacted_at) from app.user_meme_reaction"
                " where reacted_at is not null"
            )
        else:
            cursor.execute(
                "select count(*), max(reacted_at) from app.user_meme_reaction"
                " where reacted_at > %s",
                (since,),
            )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0]), row[1]
