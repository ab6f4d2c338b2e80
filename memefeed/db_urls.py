"""Conversions between the one DATABASE_URL and what each driver expects."""

from __future__ import annotations


def plain_postgres_url(database_url: str) -> str:
    """The libpq/asyncpg form: `postgresql://...` with no driver suffix."""
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg2://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url[len(prefix) :]
    return database_url


def sqlalchemy_url(database_url: str) -> str:
    """SQLAlchemy (alembic, dagster-postgres) wants an explicit sync driver."""
    return "postgresql+psycopg2://" + plain_postgres_url(database_url)[len("postgresql://") :]
