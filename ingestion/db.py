"""The one database helper for ingestion: a psycopg2 connection that commits on success."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions

from memefeed.db_urls import plain_postgres_url


@contextmanager
def connect(database_url: str) -> Iterator[psycopg2.extensions.connection]:
    """Yield a connection to `database_url`; commit if the block succeeds, roll back if not.

    Callers may also commit inside the block to make progress durable piece by piece (the media
    pipeline commits after every meme so one failure never undoes the others).
    """
    connection = psycopg2.connect(plain_postgres_url(database_url))
    try:
        yield connection
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()
