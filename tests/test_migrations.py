"""The schema migrations: one head, applied on a fresh database, and a rerun changes nothing."""

from __future__ import annotations

import psycopg2
from alembic.script import ScriptDirectory

from memefeed.migrations import alembic_config, current_revision, upgrade_to_head


def _schema_fingerprint(database_url: str) -> list[tuple[str, ...]]:
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            """
            select table_name, column_name, data_type, is_nullable
            from information_schema.columns
            where table_schema = 'app'
            order by table_name, column_name
            """
        )
        return cursor.fetchall()


def test_migrations_have_exactly_one_head(database_url: str) -> None:
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    assert len(heads) == 1


def test_migrated_database_is_at_head_and_a_rerun_changes_nothing(database_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert current_revision(database_url) == head
    before = _schema_fingerprint(database_url)
    assert any(row[0] == "user_meme_reaction" for row in before)

    upgrade_to_head(database_url)

    assert current_revision(database_url) == head
    assert _schema_fingerprint(database_url) == before
