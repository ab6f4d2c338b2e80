"""The media pipeline against a real PostgreSQL, loopback downloads and a loopback Bot API."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from pathlib import Path

import asyncpg
import pytest
from PIL import Image, ImageChops

from ingestion.local_folder import ingest_local_folder
from ingestion.media import (
    BotApiPhotoUploader,
    MediaLimits,
    StorageChatUnavailableError,
    UploadedPhoto,
    add_watermark,
    encode_jpeg,
    hamming_distance,
    least_detailed_corner,
    open_as_rgb_image,
    perceptual_hash,
    process_created_memes,
)
from tests.ingestion.conftest import (
    LoopbackServer,
    RecordedRequest,
    Reply,
    blocky_image,
    image_bytes,
    query_rows,
)

TOKEN = "123456:TEST-token"
STORAGE_CHAT_ID = -100777
WATERMARK = "@memefeed_bot"


@dataclass(frozen=True)
class Upload:
    chat_id: str
    photo: bytes


@dataclass
class FakeBotApi:
    """`sendPhoto` as the Bot API answers it; queued error payloads are answered first."""

    uploads: list[Upload] = field(default_factory=list)
    queued_errors: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    file_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def send_photo(self, request: RecordedRequest) -> Reply:
        if self.queued_errors:
            status, payload = self.queued_errors.pop(0)
            return Reply(status, json.dumps(payload).encode(), "application/json")
        fields = multipart_fields(request)
        self.uploads.append(Upload(fields["chat_id"].decode(), fields["photo"]))
        width, height = Image.open(io.BytesIO(fields["photo"])).size
        number = next(self.file_ids)
        # Largest size deliberately not last: the uploader must pick it by area.
        sizes = [
            {"file_id": f"small-{number}", "file_unique_id": "s", "width": 90, "height": 90},
            {
                "file_id": f"large-{number}",
                "file_unique_id": "l",
                "width": width,
                "height": height,
            },
            {"file_id": f"medium-{number}", "file_unique_id": "m", "width": 320, "height": 320},
        ]
        body = {"ok": True, "result": {"message_id": number, "photo": sizes}}
        return Reply(200, json.dumps(body).encode(), "application/json")


def multipart_fields(request: RecordedRequest) -> dict[str, bytes]:
    header = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(header + request.body)
    fields = {}
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        fields[str(part.get_param("name", header="content-disposition"))] = payload
    return fields


@pytest.fixture
def bot_api(loopback_server: LoopbackServer) -> FakeBotApi:
    fake = FakeBotApi()
    loopback_server.route(f"/bot{TOKEN}/sendPhoto", fake.send_photo)
    return fake


@pytest.fixture
def uploader(loopback_server: LoopbackServer) -> Iterator[BotApiPhotoUploader]:
    with BotApiPhotoUploader(loopback_server.base_url + "/bot", TOKEN, STORAGE_CHAT_ID) as client:
        yield client


def telegram_source(database_url: str) -> int:
    [(source_id,)] = query_rows(
        database_url,
        "insert into app.meme_source (type, url) values ('telegram', 'https://t.me/test_src') "
        "on conflict (url) do update set type = excluded.type returning id",
    )
    return source_id


def add_meme(database_url: str, content_url: str) -> int:
    """A 'created' meme of a Telegram source pointing at `content_url`."""
    source_id = telegram_source(database_url)
    [(meme_id,)] = query_rows(
        database_url,
        """
        insert into app.meme (meme_source_id, raw_meme_id, content_url, published_at)
        values (%s, (select coalesce(max(raw_meme_id), 0) + 1 from app.meme), %s, now())
        returning id
        """,
        (source_id, content_url),
    )
    return meme_id


def meme_row(database_url: str, meme_id: int) -> dict[str, object]:
    columns = (
        "status",
        "status_reason",
        "telegram_file_id",
        "width",
        "height",
        "content_sha256",
        "perceptual_hash",
        "duplicate_of",
    )
    [row] = query_rows(
        database_url, f"select {', '.join(columns)} from app.meme where id = %s", (meme_id,)
    )
    return dict(zip(columns, row, strict=True))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` grayscale pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + chunk(b"IEND", b"")
    )


def partly_plain_image(plain_corner: str, size: tuple[int, int] = (480, 360)) -> Image.Image:
    """Noise everywhere except one plain grey quadrant in `plain_corner`."""
    image = Image.effect_noise(size, 90).convert("RGB")
    width, height = size
    left = 0 if plain_corner.endswith("left") else width // 2
    top = 0 if plain_corner.startswith("top") else height // 2
    image.paste((128, 128, 128), (left, top, left + width // 2, top + height // 2))
    return image


def test_a_good_image_is_watermarked_uploaded_and_ok(
    clean_db: asyncpg.Pool,
    database_url: str,
    loopback_server: LoopbackServer,
    bot_api: FakeBotApi,
    uploader: BotApiPhotoUploader,
) -> None:
    original = partly_plain_image("top_left")
    original_png = image_bytes(original)
    meme_id = add_meme(database_url, loopback_server.serve_bytes("/good.png", original_png))

    result = process_created_memes(database_url, uploader, watermark_text=WATERMARK)

    assert dict(result.status_counts) == {"ok": 1}
    assert result.stopped_reason is None
    [upload] = bot_api.uploads
    assert upload.chat_id == str(STORAGE_CHAT_ID)
    uploaded = Image.open(io.BytesIO(upload.photo))
    assert uploaded.format == "JPEG"
    assert uploaded.mode == "RGB"
    assert uploaded.size == original.size

    # The same picture encoded without a watermark: JPEG works in independent 16 px blocks, so
    # every block the watermark did not touch comes out identical.
    unmarked = Image.open(io.BytesIO(encode_jpeg(original, MediaLimits().jpeg_quality)))
    changed = ImageChops.difference(uploaded.convert("RGB"), unmarked.convert("RGB")).getbbox()
    assert changed is not None, "the upload carries no watermark"
    assert changed[2] <= original.width // 2 + 16
    assert changed[3] <= original.height // 2 + 16

    row = meme_row(database_url, meme_id)
    assert row["status"] == "ok"
    assert row["status_reason"] is None
    assert row["telegram_file_id"] == "large-1"
    assert (row["width"], row["height"]) == original.size
    assert row["content_sha256"] == hashlib.sha256(original_png).hexdigest()
    assert row["perceptual_hash"] == perceptual_hash(original)


def test_local_folder_memes_go_through_the_pipeline(
    clean_db: asyncpg.Pool,
    database_url: str,
    tmp_path: Path,
    bot_api: FakeBotApi,
    uploader: BotApiPhotoUploader,
) -> None:
    (tmp_path / "a.png").write_bytes(image_bytes(blocky_image(21)))
    (tmp_path / "b.jpg").write_bytes(b"plain text with an image suffix")
    ingest_local_folder(database_url, tmp_path)

    result = process_created_memes(database_url, uploader, watermark_text=WATERMARK)

    assert dict(result.status_counts) == {"ok": 1, "not_an_image": 1}
    assert len(bot_api.uploads) == 1
    statuses = query_rows(
        database_url,
        "select raw.relative_path, meme.status from app.meme as meme "
        "join app.meme_raw_local as raw on raw.id = meme.raw_meme_id order by 1",
    )
    assert statuses == [("a.png", "ok"), ("b.jpg", "not_an_image")]


def test_a_batch_of_bad_memes_records_each_failure_and_carries_on(
    clean_db: asyncpg.Pool,
    database_url: str,
    loopback_server: LoopbackServer,
    bot_api: FakeBotApi,
    uploader: BotApiPhotoUploader,
) -> None:
    first_image = blocky_image(31)
    near_copy = first_image.resize((288, 216), Image.Resampling.LANCZOS)
    oversized = image_bytes(blocky_image(32), "BMP")  # BMP: big and uncompressed
    serve = loopback_server.serve_bytes
    meme_ids = {
        "text": add_meme(database_url, serve("/notes.txt", b"hello, not a picture", "text/plain")),
        "bomb": add_meme(database_url, serve("/bomb.png", png_declaring(30_000, 30_000))),
        "missing": add_meme(database_url, loopback_server.base_url + "/gone.jpg"),
        "good": add_meme(database_url, serve("/first.png", image_bytes(first_image))),
        "oversized": add_meme(database_url, serve("/big.bmp", oversized)),
        "near_copy": add_meme(
            database_url, serve("/copy.jpg", image_bytes(near_copy, "JPEG", quality=70))
        ),
        "other_good": add_meme(database_url, serve("/other.png", image_bytes(blocky_image(33)))),
    }
    limits = MediaLimits(max_download_bytes=len(oversized) - 1)

    result = process_created_memes(
        database_url, uploader, watermark_text=WATERMARK, batch_size=2, limits=limits
    )

    rows = {name: meme_row(database_url, meme_id) for name, meme_id in meme_ids.items()}
    assert {name: row["status"] for name, row in rows.items()} == {
        "text": "not_an_image",
        "bomb": "too_large",
        "missing": "broken_content_link",
        "good": "ok",
        "oversized": "too_large",
        "near_copy": "duplicate",
        "other_good": "ok",
    }
    assert dict(result.status_counts) == {
        "not_an_image": 1,
        "too_large": 2,
        "broken_content_link": 1,
        "ok": 2,
        "duplicate": 1,
    }
    assert "404" in str(rows["missing"]["status_reason"])
    assert "decompression bomb" in str(rows["bomb"]["status_reason"])
    assert rows["near_copy"]["duplicate_of"] == meme_ids["good"]
    for name in ("text", "bomb", "missing", "oversized", "near_copy"):
        assert rows[name]["status_reason"], name
        assert rows[name]["telegram_file_id"] is None, name
    assert len(bot_api.uploads) == 2  # the duplicate was never uploaded


@pytest.mark.parametrize(
    ("width", "height", "reason"),
    [
        (30_000, 30_000, "decompression bomb"),  # past Pillow's hard limit: an error
        (10_000, 10_000, "decompression bomb"),  # between Pillow's limits: a warning
        (8_000, 8_000, "exceeds 50000000 pixels"),  # under Pillow's limits, over ours
        (21_000, 900, "more elongated than 20:1"),
    ],
)
def test_decompression_bombs_and_huge_images_are_too_large(
    clean_db: asyncpg.Pool,
    database_url: str,
    loopback_server: LoopbackServer,
    bot_api: FakeBotApi,
    uploader: BotApiPhotoUploader,
    width: int,
    height: int,
    reason: str,
) -> None:
    meme_id = add_meme(
        database_url, loopback_server.serve_bytes("/bomb.png", png_declaring(width, height))
    )

    process_created_memes(database_url, uploader, watermark_text=WATERMARK)

    row = meme_row(database_url, meme_id)
    assert row["status"] == "too_large"
    assert reason in str(row["status_reason"])
    assert bot_api.uploads == []


@pytest.mark.parametrize("send_length", [True, False])
def test_downloads_past_the_size_cap_are_aborted(
    clean_db: asyncpg.Pool,
    database_url: str,
    loopback_server: LoopbackServer,
    bot_api: FakeBotApi,
    uploader: BotApiPhotoUploader,
    send_length: bool,
) -> None:
    small = image_bytes(blocky_image(41))
    large = image_bytes(Image.effect_noise((400, 400), 60).convert("RGB"))
    assert len(small) < 20_000 < len(large)

    def serve(body: bytes) -> Callable[[RecordedRequest], Reply]:
        return lambda _request: Reply(body=body, content_type="image/png", send_length=send_length)

    loopback_server.route("/small.png", serve(small))
    loopback_server.route("/large.png", serve(large))
    small_id = add_meme(database_url, loopback_server.base_url + "/small.png")
    large_id = add_meme(database_url, loopback_server.base_url + "/large.png")

    process_created_memes(
        database_url,
        uploader,
        watermark_text=WATERMARK,
        limits=MediaLimits(max_download_bytes=20_000),
    )

    assert meme_row(database_url, small_id)["status"] == "ok"
    large_row = meme_row(database_url, large_id)
    assert large_row["status"] == "too_large"
    expected_reason = "content-length" if send_length else "aborted"
    assert expected_reason in str(large_row["status_reason"])


def test_a_local_file_past_the_size_cap_is_too_large(
    clean_db: asyncpg.Pool, database_url: str, tmp_path: Path, uploader: BotApiPhotoUploader
) -> None:
    (tmp_path / "big.png").write_bytes(image_bytes(Image.effect_noise((300, 300), 60)))
    ingest_local_folder(database_url, tmp_path)

    result = process_created_memes(
        database_url,
        uploader,
        watermark_text=WATERMARK,
        limits=MediaLimits(max_download_bytes=1_000),
    )

    assert dict(result.status_counts) == {"too_large": 1}


def test_an_exact_copy_is_a_duplicate_and_a_different_image_is_not(
    clean_db: asyncpg.Pool,
    database_url: str,
    loopback_server: LoopbackServer,
    bot_api: FakeBotApi,
    uploader: BotApiPhotoUploader,
) -> None:
    content = image_bytes(blocky_image(51))
    first = add_meme(database_url, loopback_server.serve_bytes("/a.png", content))
    copy = add_meme(database_url, loopback_server.serve_bytes("/a-again.png", content))
    different = add_meme(
        database_url, loopback_server.serve_bytes("/b.png", image_bytes(blocky_image(52)))
    )

    process_created_memes(database_url, uploader, watermark_text=WATERMARK)

    assert meme_row(database_url, first)["status"] == "ok"
    copy_row = meme_row(database_url, copy)
    assert (copy_row["status"], copy_row["duplicate_of"]) == ("duplicate", first)
    assert meme_row(database_url, different)["status"] == "ok"
    assert len(bot_api.uploads) == 2


def test_file_urls_of_non_local_sources_are_never_read(
    clean_db: asyncpg.Pool, database_url: str, tmp_path: Path, uploader: BotApiPhotoUploader
) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(image_bytes(blocky_image(61)))
    meme_id = add_meme(database_url, secret.as_uri())
    ftp_id = add_meme(database_url, "ftp://example.org/meme.png")

    process_created_memes(database_url, uploader, watermark_text=WATERMARK)

    row = meme_row(database_url, meme_id)
    assert row["status"] == "broken_content_link"
    assert "only for local sources" in str(row["status_reason"])
    assert meme_row(database_url, ftp_id)["status"] == "broken_content_link"


def test_a_local_meme_pointing_outside_its_folder_is_not_read(
    clean_db: asyncpg.Pool, database_url: str, tmp_path: Path, uploader: BotApiPhotoUploader
) -> None:
    folder = tmp_path / "memes"
    folder.mkdir()
    (folder / "a.png").write_bytes(image_bytes(blocky_image(62)))
    outside = tmp_path / "outside.png"
    outside.write_bytes(image_bytes(blocky_image(63)))
    ingest_local_folder(database_url, folder)
    query_rows(
        database_url, "update app.meme set content_url = %s returning id", (outside.as_uri(),)
    )

    result = process_created_memes(database_url, uploader, watermark_text=WATERMARK)

    assert dict(result.status_counts) == {"broken_content_link": 1}


def test_a_refused_upload_leaves_the_meme_for_retry_and_the_batch_goes_on(
    clean_db: asyncpg.Pool,
    database_url: str,
    loopback_server: LoopbackServer,
    bot_api: FakeBotApi,
    uploader: BotApiPhotoUploader,
) -> None:
    bot_api.queued_errors.append(
        (400, {"ok": False, "error_code": 400, "description": "Bad Request: IMAGE_PROCESS_FAILED"})
    )
    refused = add_meme(
        database_url, loopback_server.serve_bytes("/a.png", image_bytes(blocky_image(71)))
    )
    accepted = add_meme(
        database_url, loopback_server.serve_bytes("/b.png", image_bytes(blocky_image(72)))
    )

    result = process_created_memes(database_url, uploader, watermark_text=WATERMARK)

    assert dict(result.status_counts) == {"created": 1, "ok": 1}
    refused_row = meme_row(database_url, refused)
    assert refused_row["status"] == "created"
    assert "IMAGE_PROCESS_FAILED" in str(refused_row["status_reason"])
    assert meme_row(database_url, accepted)["status"] == "ok"

    retry = process_created_memes(database_url, uploader, watermark_text=WATERMARK)

    assert dict(retry.status_counts) == {"ok": 1}
    assert meme_row(database_url, refused)["status_reason"] is None


def test_flood_control_stops_the_batch(
    clean_db: asyncpg.Pool,
    database_url: str,
    loopback_server: LoopbackServer,
    bot_api: FakeBotApi,
    uploader: BotApiPhotoUploader,
) -> None:
    bot_api.queued_errors.append(
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
        )
    )
    limited = add_meme(
        database_url, loopback_server.serve_bytes("/a.png", image_bytes(blocky_image(81)))
    )
    untouched = add_meme(
        database_url, loopback_server.serve_bytes("/b.png", image_bytes(blocky_image(82)))
    )

    result = process_created_memes(database_url, uploader, watermark_text=WATERMARK)

    assert result.stopped_reason is not None
    assert "429" in result.stopped_reason
    assert dict(result.status_counts) == {"created": 1}
    assert "Too Many Requests" in str(meme_row(database_url, limited)["status_reason"])
    untouched_row = meme_row(database_url, untouched)
    assert (untouched_row["status"], untouched_row["status_reason"]) == ("created", None)
    assert loopback_server.requests_to("/b.png") == []


def test_an_unreachable_bot_api_stops_the_batch(
    clean_db: asyncpg.Pool, database_url: str, loopback_server: LoopbackServer
) -> None:
    first = add_meme(
        database_url, loopback_server.serve_bytes("/a.png", image_bytes(blocky_image(83)))
    )
    add_meme(database_url, loopback_server.serve_bytes("/b.png", image_bytes(blocky_image(84))))

    # Port 9 (discard) is not listening on loopback here: the connection is refused.
    with BotApiPhotoUploader("http://127.0.0.1:9/bot", TOKEN, STORAGE_CHAT_ID) as unreachable:
        result = process_created_memes(database_url, unreachable, watermark_text=WATERMARK)

    assert result.stopped_reason is not None
    assert result.processed == 1
    assert meme_row(database_url, first)["status"] == "created"


def test_a_bad_token_fails_the_run_loudly(
    clean_db: asyncpg.Pool,
    database_url: str,
    loopback_server: LoopbackServer,
    bot_api: FakeBotApi,
    uploader: BotApiPhotoUploader,
) -> None:
    bot_api.queued_errors.append(
        (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    )
    meme_id = add_meme(
        database_url, loopback_server.serve_bytes("/a.png", image_bytes(blocky_image(85)))
    )

    with pytest.raises(StorageChatUnavailableError, match="Unauthorized"):
        process_created_memes(database_url, uploader, watermark_text=WATERMARK)

    row = meme_row(database_url, meme_id)
    assert row["status"] == "created"
    assert "Unauthorized" in str(row["status_reason"])


def test_max_memes_bounds_a_run(
    clean_db: asyncpg.Pool,
    database_url: str,
    loopback_server: LoopbackServer,
    bot_api: FakeBotApi,
    uploader: BotApiPhotoUploader,
) -> None:
    for seed in range(5):
        add_meme(
            database_url,
            loopback_server.serve_bytes(f"/{seed}.png", image_bytes(blocky_image(90 + seed))),
        )

    result = process_created_memes(
        database_url, uploader, watermark_text=WATERMARK, batch_size=2, max_memes=3
    )

    assert result.processed == 3
    assert query_rows(
        database_url, "select status, count(*) from app.meme group by status order by status"
    ) == [("created", 2), ("ok", 3)]


def test_transparent_areas_become_white() -> None:
    transparent = Image.new("RGBA", (50, 40), (0, 0, 0, 0))
    transparent.paste((255, 0, 0, 255), (0, 0, 10, 10))

    rgb = open_as_rgb_image(image_bytes(transparent), MediaLimits())

    assert rgb.mode == "RGB"
    assert rgb.getpixel((30, 30)) == (255, 255, 255)
    assert rgb.getpixel((5, 5)) == (255, 0, 0)


def test_large_images_are_scaled_down_to_the_telegram_photo_size() -> None:
    rgb = open_as_rgb_image(image_bytes(blocky_image(1, (4000, 1000))), MediaLimits())

    assert rgb.size == (2560, 640)


def test_perceptual_hash_is_a_signed_64_bit_value_that_survives_resizing() -> None:
    image = blocky_image(101)
    resized = Image.open(
        io.BytesIO(image_bytes(image.resize((200, 150)), "JPEG", quality=60))
    ).convert("RGB")
    hashes = [perceptual_hash(blocky_image(seed)) for seed in range(100, 120)]

    assert all(-(2**63) <= value < 2**63 for value in hashes)
    assert any(value < 0 for value in hashes)
    assert hamming_distance(perceptual_hash(image), perceptual_hash(resized)) <= 4
    assert min(hamming_distance(a, b) for a, b in itertools.combinations(hashes, 2)) > 4


@pytest.mark.parametrize("corner", ["top_left", "top_right", "bottom_left", "bottom_right"])
def test_the_least_detailed_corner_is_found(corner: str) -> None:
    assert least_detailed_corner(partly_plain_image(corner), (120, 40)) == corner


def test_watermark_text_scales_with_the_image() -> None:
    def watermark_width(size: tuple[int, int]) -> int:
        plain = Image.new("RGB", size, (90, 120, 150))
        changed = ImageChops.difference(add_watermark(plain, WATERMARK), plain).getbbox()
        assert changed is not None
        return changed[2] - changed[0]

    small = watermark_width((400, 300))
    large = watermark_width((1600, 1200))

    assert 3 <= large / small <= 5
    assert large < 1600 * 0.6


def test_an_unexpected_failure_costs_one_meme_not_the_batch(
    clean_db: asyncpg.Pool, database_url: str, loopback_server: LoopbackServer
) -> None:
    class FailsOnceUploader:
        def __init__(self) -> None:
            self.calls = 0

        def upload_photo(self, jpeg_bytes: bytes) -> UploadedPhoto:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("something nobody foresaw")
            return UploadedPhoto(f"file-{self.calls}", 320, 240)

    failing = add_meme(
        database_url, loopback_server.serve_bytes("/a.png", image_bytes(blocky_image(201)))
    )
    fine = add_meme(
        database_url, loopback_server.serve_bytes("/b.png", image_bytes(blocky_image(202)))
    )

    result = process_created_memes(database_url, FailsOnceUploader(), watermark_text=WATERMARK)

    assert dict(result.status_counts) == {"created": 1, "ok": 1}
    failing_row = meme_row(database_url, failing)
    assert failing_row["status"] == "created"
    assert "something nobody foresaw" in str(failing_row["status_reason"])
    assert meme_row(database_url, fine)["telegram_file_id"] == "file-2"
