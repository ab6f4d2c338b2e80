"""Registering a source in `app.meme_source` and recording when it was last parsed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import psycopg2.extensions

SourceType = Literal["telegram", "vk", "reddit", "instagram", "local", "user upload"]

# Only these sources are parsed; the others were paused or not yet approved by a moderator,
# as in the anchor bot.
PARSEABLE_STATUS = "parsing_enabled"


@dataclass(frozen=True)
class MemeSource:
    id: int
    url: str
    status: str
    language_code: str | None

    @property
    def is_parseable(self) -> bool:
        return self.status == PARSEABLE_STATUS


def upsert_meme_source(
    cursor: psycopg2.extensions.cursor,
    source_type: SourceType,
    url: str,
    language_code: str | None,
) -> MemeSource:
    """Insert the source or return the existing one (keyed by url).

    A language given now replaces the stored one; `None` keeps what is stored, so a caller that
    does not know the language never erases one set by an admin.
    """
    cursor.execute(
        """
        insert into app.meme_source as source (type, url, language_code)
        values (%s, %s, %s)
        on conflict (url) do update
        set language_code = coalesce(excluded.language_code, source.language_code),
            updated_at = case
                when source.language_code is distinct from
                     coalesce(excluded.language_code, source.language_code)
                then now() else source.updated_at end
        returning id, url, status, language_code
        """,
        (source_type, url, language_code),
    )
    row = cursor.fetchone()
    assert row is not None  # insert ... on conflict do update always returns the row
    return MemeSource(id=row[0], url=row[1], status=row[2], language_code=row[3])


def record_parsed_at(cursor: psycopg2.extensions.cursor, source_id: int) -> None:
    cursor.execute(
        "update app.meme_source set parsed_at = now(), updated_at = now() where id = %s",
        (source_id,),
    )
