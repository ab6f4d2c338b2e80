"""The local-folder source against a real, migrated PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from ingestion.local_folder import ingest_local_folder, local_source_url, read_sidecar
from tests.ingestion.conftest import blocky_image, image_bytes, query_rows

MODIFIED_AT = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def write_image(path: Path, seed: int, image_format: str = "PNG") -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = image_bytes(blocky_image(seed), image_format)
    path.write_bytes(content)
    os.utime(path, (MODIFIED_AT.timestamp(), MODIFIED_AT.timestamp()))
    return content


@pytest.fixture
def meme_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "my memes"
    write_image(folder / "cat.jpg", 1, "JPEG")
    (folder / "cat.json").write_text(json.dumps({"caption": "  Cat  ", "language_code": "ru"}))
    write_image(folder / "dog.png", 2)
    (folder / "dog.txt").write_text("A dog\n")
    write_image(folder / "nested" / "owl.webp", 3, "WEBP")
    write_image(folder / "frog.gif", 4, "GIF")
    (folder / "frog.json").write_text("{not json")
    (folder / "notes.txt").write_text("not an image, no image with this stem")
    write_image(folder / ".trash" / "old.jpg", 5, "JPEG")
    return folder


def test_folder_images_become_raw_rows_and_memes(
    clean_db: asyncpg.Pool, database_url: str, meme_folder: Path
) -> None:
    result = ingest_local_folder(database_url, meme_folder, default_language_code="en")

    assert (result.seen, result.new_raw_rows, result.new_memes) == (4, 4, 4)
    [(source_id, source_type, url, parsed_at)] = query_rows(
        database_url, "select id, type, url, parsed_at from app.meme_source"
    )
    assert source_id == result.source_id
    assert source_type == "local"
    assert url == "file://" + str(meme_folder.resolve()).replace(" ", "%20")
    assert url == local_source_url(meme_folder)
    assert parsed_at is not None

    rows = query_rows(
        database_url,
        """
        select raw.relative_path, raw.caption, raw.language_code, raw.date,
               meme.status, meme.type, meme.content_url, meme.caption, meme.language_code,
               meme.published_at
        from app.meme_raw_local as raw
        join app.meme as meme
          on meme.raw_meme_id = raw.id and meme.meme_source_id = raw.meme_source_id
        order by raw.relative_path
        """,
    )
    by_path = {row[0]: row for row in rows}
    assert sorted(by_path) == ["cat.jpg", "dog.png", "frog.gif", "nested/owl.webp"]
    assert by_path["cat.jpg"][1:3] == ("Cat", "ru")  # the JSON sidecar
    assert by_path["dog.png"][1:3] == ("A dog", "en")  # the text sidecar, folder language
    assert by_path["frog.gif"][1:3] == (None, "en")  # a malformed sidecar is ignored
    assert by_path["nested/owl.webp"][1:3] == (None, "en")
    for row in rows:
        assert row[3] == MODIFIED_AT
        assert row[4:6] == ("created", "image")
        assert row[6] == (meme_folder / row[0]).resolve().as_uri()
        assert row[7:9] == row[1:3]  # the meme carries the raw row's caption and language
        assert row[9] == MODIFIED_AT


def test_content_sha256_is_the_file_hash(
    clean_db: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    content = write_image(tmp_path / "one.png", 9)

    ingest_local_folder(database_url, tmp_path)

    assert query_rows(database_url, "select content_sha256 from app.meme_raw_local") == [
        (hashlib.sha256(content).hexdigest(),)
    ]


def test_rerun_adds_nothing_and_a_new_file_adds_one(
    clean_db: asyncpg.Pool, database_url: str, meme_folder: Path
) -> None:
    ingest_local_folder(database_url, meme_folder, default_language_code="en")

    rerun = ingest_local_folder(database_url, meme_folder, default_language_code="en")

    assert (rerun.seen, rerun.new_raw_rows, rerun.new_memes) == (4, 0, 0)
    assert query_rows(
        database_url,
        "select (select count(*) from app.meme_raw_local), (select count(*) from app.meme), "
        "(select count(*) from app.meme_source)",
    ) == [(4, 4, 1)]

    write_image(meme_folder / "new.png", 6)
    third = ingest_local_folder(database_url, meme_folder, default_language_code="en")

    assert (third.seen, third.new_raw_rows, third.new_memes) == (5, 1, 1)


def test_a_changed_sidecar_updates_the_raw_row_but_adds_no_meme(
    clean_db: asyncpg.Pool, database_url: str, meme_folder: Path
) -> None:
    ingest_local_folder(database_url, meme_folder)
    (meme_folder / "dog.txt").write_text("A better caption")

    rerun = ingest_local_folder(database_url, meme_folder)

    assert rerun.new_memes == 0
    assert query_rows(
        database_url, "select caption from app.meme_raw_local where relative_path = 'dog.png'"
    ) == [("A better caption",)]


def test_json_sidecar_caption_wins_over_text_sidecar(tmp_path: Path) -> None:
    image = tmp_path / "x.png"
    (tmp_path / "x.json").write_text(json.dumps({"caption": "from json"}))
    (tmp_path / "x.txt").write_text("from text")

    assert read_sidecar(image).caption == "from json"

    (tmp_path / "x.json").write_text(json.dumps({"language_code": "de"}))
    sidecar = read_sidecar(image)
    assert (sidecar.caption, sidecar.language_code) == ("from text", "de")


def test_a_missing_folder_is_an_error(clean_db: asyncpg.Pool, database_url: str) -> None:
    with pytest.raises(NotADirectoryError):
        ingest_local_folder(database_url, Path("/nonexistent/memes"))
