"""Versioned schema migrations for the `app` schema (alembic, one head)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # `%` would be read as interpolation by configparser.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


def current_revision(database_url: str) -> str | None:
    from sqlalchemy import create_engine, text

    from memefeed.db_urls import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as connection:
            exists = connection.execute(text("select to_regclass('app.alembic_version')")).scalar()
            if exists is None:
                return None
            return connection.execute(text("select version_num from app.alembic_version")).scalar()
    finally:
        engine.dispose()
