"""Alembic environment: plain SQL migrations on the `app` schema, no ORM metadata."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from memefeed.db_urls import sqlalchemy_url

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "memefeed.migrations.run sets sqlalchemy.url"

engine = create_engine(sqlalchemy_url(url))
with engine.connect() as connection:
    connection.execute(text("create schema if not exists app"))
    connection.commit()
    context.configure(
        connection=connection,
        version_table_schema="app",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
