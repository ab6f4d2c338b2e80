"""The environment dbt's profile reads (dbt_project/profiles.yml), derived from DATABASE_URL."""

from __future__ import annotations

from memefeed.settings import DBT_PROJECT_DIR, libpq_parts


def dbt_env(database_url: str) -> dict[str, str]:
    parts = libpq_parts(database_url)
    return {
        "MEMEFEED_PG_HOST": parts["host"],
        "MEMEFEED_PG_PORT": parts["port"],
        "MEMEFEED_PG_USER": parts["user"],
        "MEMEFEED_PG_PASSWORD": parts["password"],
        "MEMEFEED_PG_DBNAME": parts["dbname"],
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
    }
