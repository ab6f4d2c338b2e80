"""A local folder of images as a meme source.

Every image under the folder (recursively, hidden entries skipped) becomes one
`app.meme_raw_local` row and one `app.meme` row in status 'created'; the media pipeline then
validates, watermarks and uploads it. A sidecar next to an image gives its caption and language:
`<stem>.json` ({"caption": ..., "language_code": ...}) or `<stem>.txt` (the caption only).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg2.extensions

from ingestion.db import connect
from ingestion.meme_source import MemeSource, record_parsed_at, upsert_meme_source

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif"})


@dataclass(frozen=True)
class LocalImage:
    relative_path: str
    file_uri: str
    content_sha256: str
    caption: str | None
    language_code: str | None
    modified_at: datetime


@dataclass(frozen=True)
class LocalFolderResult:
    source_id: int
    seen: int
    new_raw_rows: int
    new_memes: int
    skipped_reason: str | None = None


@dataclass(frozen=True)
class Sidecar:
    caption: str | None = None
    language_code: str | None = None


def local_source_url(folder: Path) -> str:
    """The `meme_source.url` of a folder: its absolute path as a file URI."""
    return folder.resolve().as_uri()


def ingest_local_folder(
    database_url: str, folder: Path, default_language_code: str | None = None
) -> LocalFolderResult:
    """Register `folder` as a 'local' source and add its new images as memes.

    `default_language_code` applies to images whose sidecar names no language; it is also stored
    as the source's language. A rerun over unchanged files adds nothing.
    """
    folder = folder.resolve()
    if not folder.is_dir():
        raise NotADirectoryError(f"local meme folder does not exist: {folder}")

    images = list(scan_folder(folder, default_language_code))
    with connect(database_url) as connection, connection.cursor() as cursor:
        source = upsert_meme_source(
            cursor, "local", local_source_url(folder), default_language_code
        )
        if not source.is_parseable:
            log.info("local source %s has status %s: not parsed", source.url, source.status)
            return LocalFolderResult(source.id, len(images), 0, 0, f"status {source.status}")
        new_raw_rows = 0
        new_memes = 0
        for image in images:
            raw_id, raw_is_new = _upsert_raw_local(cursor, source, image)
            new_raw_rows += raw_is_new
            new_memes += _create_meme(cursor, source, raw_id, image)
        record_parsed_at(cursor, source.id)

    log.info(
        "local folder %s: %d images, %d new raw rows, %d new memes",
        folder,
        len(images),
        new_raw_rows,
        new_memes,
    )
    return LocalFolderResult(source.id, len(images), new_raw_rows, new_memes)


def scan_folder(folder: Path, default_language_code: str | None) -> list[LocalImage]:
    """Every image under `folder` in a stable order, with its sidecar metadata."""
    images = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        sidecar = read_sidecar(path)
        images.append(
            LocalImage(
                relative_path=relative.as_posix(),
                file_uri=path.as_uri(),
                content_sha256=_file_sha256(path),
                caption=sidecar.caption,
                language_code=sidecar.language_code or default_language_code,
                modified_at=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
            )
        )
    return images


def read_sidecar(image_path: Path) -> Sidecar:
    """Caption and language from `<stem>.json`, else the caption from `<stem>.txt`.

    A malformed sidecar is logged and ignored: one bad file must not stop the folder.
    """
    json_path = image_path.with_suffix(".json")
    text_path = image_path.with_suffix(".txt")
    caption: str | None = None
    language_code: str | None = None
    if json_path.is_file():
        try:
            data = json.loads(json_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            log.warning("ignoring unreadable sidecar %s: %s", json_path, error)
        else:
            if isinstance(data, dict):
                caption = _clean_text(data.get("caption"))
                language_code = _clean_text(data.get("language_code"))
            else:
                log.warning("ignoring sidecar %s: expected a JSON object", json_path)
    if caption is None and text_path.is_file():
        try:
            caption = _clean_text(text_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            log.warning("ignoring unreadable sidecar %s: %s", text_path, error)
    return Sidecar(caption=caption, language_code=language_code)


def _clean_text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _file_sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _upsert_raw_local(
    cursor: psycopg2.extensions.cursor, source: MemeSource, image: LocalImage
) -> tuple[int, bool]:
    """Insert or refresh the raw row; returns (id, whether it was inserted now)."""
    cursor.execute(
        """
        insert into app.meme_raw_local as raw
            (meme_source_id, relative_path, content_sha256, caption, language_code, date)
        values (%s, %s, %s, %s, %s, %s)
        on conflict (meme_source_id, relative_path) do update
        set content_sha256 = excluded.content_sha256,
            caption = excluded.caption,
            language_code = excluded.language_code,
            date = excluded.date,
            updated_at = case
                when (raw.content_sha256, raw.caption, raw.language_code, raw.date)
                     is distinct from
                     (excluded.content_sha256, excluded.caption, excluded.language_code,
                      excluded.date)
                then now() else raw.updated_at end
        returning id, (xmax = 0) as inserted
        """,
        (
            source.id,
            image.relative_path,
            image.content_sha256,
            image.caption,
            image.language_code,
            image.modified_at,
        ),
    )
    row = cursor.fetchone()
    assert row is not None  # insert ... on conflict do update always returns the row
    return row[0], row[1]


def _create_meme(
    cursor: psycopg2.extensions.cursor, source: MemeSource, raw_id: int, image: LocalImage
) -> int:
    """Create the meme for a raw row unless it exists; returns 1 if created, else 0."""
    cursor.execute(
        """
        insert into app.meme
            (meme_source_id, raw_meme_id, status, type, content_url, caption, language_code,
             published_at)
        values (%s, %s, 'created', 'image', %s, %s, %s, %s)
        on conflict (meme_source_id, raw_meme_id) do nothing
        """,
        (
            source.id,
            raw_id,
            image.file_uri,
            image.caption,
            image.language_code,
            image.modified_at,
        ),
    )
    return cursor.rowcount
