"""The media pipeline: turns memes in status 'created' into 'ok' memes with a `telegram_file_id`.

For each meme: fetch the bytes (a file of a local-folder source, or http(s) with timeouts and a
size cap), open them with Pillow under a pixel limit, normalise to an RGB JPEG, hash (sha256 of
the fetched bytes and a 64-bit dHash), drop exact and near duplicates of 'ok' memes, watermark,
upload to the storage chat through the Bot API, and record the result.

Outcomes, per meme (each meme is committed on its own, so one failure never undoes another):

- 'ok': uploaded; `telegram_file_id`, width and height set.
- 'not_an_image', 'too_large', 'broken_content_link', 'duplicate': final, with `status_reason`.
- still 'created', with `status_reason`: the Bot API refused or failed the upload. The content
  itself was fine, so the next run retries it. A temporary Bot API failure (429 flood control,
  5xx, a network error) also stops the rest of the batch, because every further upload would
  fail the same way; a configuration failure (bad token, storage chat missing or not writable)
  raises `StorageChatUnavailableError` after recording the reason, so the run fails loudly.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx
import psycopg2.extensions
from PIL import (
    Image,
    ImageDraw,
    ImageFilter,
    ImageFont,
    ImageOps,
    ImageStat,
    UnidentifiedImageError,
)

from ingestion import USER_AGENT
from ingestion.db import connect

log = logging.getLogger(__name__)

# Decoders we accept. Limiting Pillow to these keeps rarely used (and rarely hardened) format
# plugins away from bytes that come from the internet. (Phone "MPO" files open as JPEG.)
ACCEPTED_IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")

Corner = Literal["bottom_right", "bottom_left", "top_right", "top_left"]
# Order breaks ties between equally plain corners: bottom right is where a watermark is expected.
CORNERS: tuple[Corner, ...] = ("bottom_right", "bottom_left", "top_right", "top_left")


class MemeStatus(StrEnum):
    CREATED = "created"
    OK = "ok"
    DUPLICATE = "duplicate"
    NOT_AN_IMAGE = "not_an_image"
    TOO_LARGE = "too_large"
    BROKEN_CONTENT_LINK = "broken_content_link"


@dataclass(frozen=True)
class MediaLimits:
    max_download_bytes: int = 20 * 1024 * 1024
    # Below Pillow's own bomb limit (about 89 Mpx) and far above any real meme.
    max_image_pixels: int = 50_000_000
    # Telegram rejects photos more elongated than 20:1.
    max_aspect_ratio: float = 20.0
    # Telegram shows photos at most 2560 px on the long side; larger uploads only cost time.
    max_side_pixels: int = 2560
    # dHash bits that may differ for two images to count as the same meme.
    duplicate_max_distance: int = 4
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 20.0
    jpeg_quality: int = 90


@dataclass(frozen=True)
class UploadedPhoto:
    file_id: str
    width: int
    height: int


class PhotoUploader(Protocol):
    def upload_photo(self, jpeg_bytes: bytes) -> UploadedPhoto: ...


class ContentRejectedError(Exception):
    """The meme's content can never become an 'ok' meme."""

    def __init__(self, status: MemeStatus, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


class BotApiError(Exception):
    """The Bot API refused an upload (`ok: false`), or could not be reached (`error_code=None`)."""

    def __init__(
        self, error_code: int | None, description: str, retry_after: int | None = None
    ) -> None:
        super().__init__(f"Bot API error {error_code}: {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    @property
    def is_configuration_error(self) -> bool:
        """A wrong token, or a storage chat that is missing or not writable by the bot."""
        return self.error_code in (401, 403, 404) or (
            self.error_code == 400 and "chat not found" in self.description.lower()
        )

    @property
    def is_temporary(self) -> bool:
        return self.error_code is None or self.error_code == 429 or self.error_code >= 500


class StorageChatUnavailableError(RuntimeError):
    """Uploads to the storage chat cannot work until the configuration is fixed."""


@dataclass
class MediaPipelineResult:
    # Resulting status per processed meme; 'created' counts memes left for a retry.
    status_counts: Counter[str] = field(default_factory=Counter)
    stopped_reason: str | None = None

    @property
    def processed(self) -> int:
        return sum(self.status_counts.values())


class BotApiPhotoUploader:
    """Uploads photos to the storage chat with `sendPhoto` and returns the largest size's file_id.

    `api_base_url` is the part before the token, e.g. `https://api.telegram.org/bot` (a local
    Bot API server or a test emulator works the same way).
    """

    def __init__(
        self,
        api_base_url: str,
        token: str,
        storage_chat_id: int | str,
        *,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self._send_photo_url = f"{api_base_url}{token}/sendPhoto"
        self._storage_chat_id = str(storage_chat_id)
        self._http = httpx.Client(
            timeout=timeout or httpx.Timeout(60.0, connect=10.0),
            headers={"User-Agent": USER_AGENT},
        )

    def __enter__(self) -> BotApiPhotoUploader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def upload_photo(self, jpeg_bytes: bytes) -> UploadedPhoto:
        try:
            response = self._http.post(
                self._send_photo_url,
                data={"chat_id": self._storage_chat_id, "disable_notification": "true"},
                files={"photo": ("meme.jpg", jpeg_bytes, "image/jpeg")},
            )
        except httpx.TransportError as error:
            # The message never includes the URL, which holds the bot token.
            raise BotApiError(None, f"{type(error).__name__}: {error}") from error
        try:
            payload: dict[str, Any] = response.json()
        except ValueError as error:
            raise BotApiError(response.status_code, "the response is not JSON") from error
        if not payload.get("ok"):
            parameters = payload.get("parameters") or {}
            raise BotApiError(
                payload.get("error_code") or response.status_code,
                str(payload.get("description") or "no description"),
                parameters.get("retry_after"),
            )
        try:
            sizes = payload["result"]["photo"]
            largest = max(sizes, key=lambda size: size["width"] * size["height"])
            return UploadedPhoto(largest["file_id"], largest["width"], largest["height"])
        except (KeyError, TypeError, ValueError) as error:
            raise BotApiError(response.status_code, "no photo sizes in the response") from error


# --- the batch -----------------------------------------------------------------------------


def process_created_memes(
    database_url: str,
    uploader: PhotoUploader,
    *,
    watermark_text: str,
    batch_size: int = 50,
    max_memes: int | None = None,
    limits: MediaLimits | None = None,
) -> MediaPipelineResult:
    """Process memes in status 'created' (type 'image'), oldest first, `batch_size` at a time.

    Each meme is tried at most once per call; `max_memes` bounds the whole call. Returns the
    count of memes per resulting status. Memes another run is processing right now are skipped.
    Raises `StorageChatUnavailableError` when the Bot API says uploads cannot work at all.
    """
    limits = limits or MediaLimits()
    result = MediaPipelineResult()
    last_meme_id = 0
    with connect(database_url) as connection, ContentFetcher(limits) as fetcher:
        processor = _MemeProcessor(connection, uploader, fetcher, watermark_text, limits)
        while max_memes is None or result.processed < max_memes:
            limit = (
                batch_size if max_memes is None else min(batch_size, max_memes - result.processed)
            )
            meme_ids = _created_meme_ids(connection, after_id=last_meme_id, limit=limit)
            if not meme_ids:
                break
            for meme_id in meme_ids:
                last_meme_id = meme_id
                try:
                    status = processor.process(meme_id)
                except BotApiError as error:
                    result.status_counts[MemeStatus.CREATED.value] += 1
                    result.stopped_reason = str(error)
                    log.warning("media pipeline stopped: %s", error)
                    return result
                if status is not None:
                    result.status_counts[status.value] += 1
            log.info(
                "media pipeline: %d memes processed so far %s",
                result.processed,
                dict(result.status_counts),
            )
    return result


def _created_meme_ids(
    connection: psycopg2.extensions.connection, *, after_id: int, limit: int
) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            select id from app.meme
            where status = 'created' and type = 'image' and id > %s
            order by id
            limit %s
            """,
            (after_id, limit),
        )
        meme_ids = [row[0] for row in cursor.fetchall()]
    connection.commit()
    return meme_ids


@dataclass
class _MemeProcessor:
    """Takes one meme from 'created' to its next status, in its own transaction."""

    connection: psycopg2.extensions.connection
    uploader: PhotoUploader
    fetcher: ContentFetcher
    watermark_text: str
    limits: MediaLimits

    def process(self, meme_id: int) -> MemeStatus | None:
        """The meme's new status, or None if it is gone or another run holds it.

        Raises `BotApiError` when the batch should stop (after recording the reason) and
        `StorageChatUnavailableError` when uploads cannot work at all.
        """
        with self.connection.cursor() as cursor:
            # The row lock keeps a concurrent run from uploading the same meme twice.
            cursor.execute(
                """
                select meme.content_url, source.type, source.url
                from app.meme as meme
                join app.meme_source as source on source.id = meme.meme_source_id
                where meme.id = %s and meme.status = 'created'
                for update of meme skip locked
                """,
                (meme_id,),
            )
            row = cursor.fetchone()
            if row is None:
                self.connection.commit()
                return None
            content_url, source_type, source_url = row
            local_root = _local_source_root(source_url) if source_type == "local" else None
            try:
                status = self._prepare_and_upload(cursor, meme_id, content_url, local_root)
            except ContentRejectedError as rejection:
                log.info("meme %d: %s (%s)", meme_id, rejection.status, rejection.reason)
                _set_status(cursor, meme_id, rejection.status, rejection.reason)
                status = rejection.status
            except BotApiError as error:
                log.warning("meme %d: upload failed, left for retry: %s", meme_id, error)
                _set_status(cursor, meme_id, MemeStatus.CREATED, f"upload failed: {error}")
                self.connection.commit()
                if error.is_configuration_error:
                    raise StorageChatUnavailableError(str(error)) from error
                if error.is_temporary:
                    raise
                return MemeStatus.CREATED
            except Exception as error:
                # A bug or a failure we did not foresee must cost one meme, not the batch. The
                # transaction may be aborted (a database error), so record the reason afresh.
                log.exception("meme %d: unexpected failure, left for retry", meme_id)
                self.connection.rollback()
                _set_status(cursor, meme_id, MemeStatus.CREATED, f"unexpected error: {error!r}")
                status = MemeStatus.CREATED
        self.connection.commit()
        return status

    def _prepare_and_upload(
        self,
        cursor: psycopg2.extensions.cursor,
        meme_id: int,
        content_url: str | None,
        local_root: Path | None,
    ) -> MemeStatus:
        if not content_url:
            raise ContentRejectedError(
                MemeStatus.BROKEN_CONTENT_LINK, "the meme has no content_url"
            )
        content = self.fetcher.fetch(content_url, local_root)
        image = open_as_rgb_image(content, self.limits)
        content_sha256 = hashlib.sha256(content).hexdigest()
        image_hash = perceptual_hash(image)
        cursor.execute(
            """
            update app.meme
            set content_sha256 = %s, perceptual_hash = %s, updated_at = now()
            where id = %s
            """,
            (content_sha256, image_hash, meme_id),
        )

        duplicate_of = _find_duplicate(
            cursor, meme_id, content_sha256, image_hash, self.limits.duplicate_max_distance
        )
        if duplicate_of is not None:
            cursor.execute(
                """
                update app.meme
                set status = 'duplicate', duplicate_of = %s, status_reason = %s,
                    updated_at = now()
                where id = %s
                """,
                (duplicate_of, f"same image as meme {duplicate_of}", meme_id),
            )
            log.info("meme %d: duplicate of %d", meme_id, duplicate_of)
            return MemeStatus.DUPLICATE

        watermarked = add_watermark(image, self.watermark_text)
        uploaded = self.uploader.upload_photo(encode_jpeg(watermarked, self.limits.jpeg_quality))
        cursor.execute(
            """
            update app.meme
            set status = 'ok', status_reason = null, telegram_file_id = %s, width = %s,
                height = %s, updated_at = now()
            where id = %s
            """,
            (uploaded.file_id, uploaded.width, uploaded.height, meme_id),
        )
        return MemeStatus.OK


def _find_duplicate(
    cursor: psycopg2.extensions.cursor,
    meme_id: int,
    content_sha256: str,
    image_hash: int,
    max_distance: int,
) -> int | None:
    """The closest 'ok' meme with the same bytes or a dHash at most `max_distance` bits away."""
    cursor.execute(
        """
        select id
        from app.meme
        where status = 'ok'
          and id <> %(meme_id)s
          and (content_sha256 = %(sha256)s
               or bit_count((perceptual_hash # %(hash)s::bigint)::bit(64)) <= %(distance)s)
        order by (content_sha256 = %(sha256)s) is true desc,
                 bit_count((perceptual_hash # %(hash)s::bigint)::bit(64)),
                 id
        limit 1
        """,
        {
            "meme_id": meme_id,
            "sha256": content_sha256,
            "hash": image_hash,
            "distance": max_distance,
        },
    )
    row = cursor.fetchone()
    return row[0] if row else None


def _set_status(
    cursor: psycopg2.extensions.cursor, meme_id: int, status: MemeStatus, reason: str
) -> None:
    cursor.execute(
        "update app.meme set status = %s, status_reason = %s, updated_at = now() where id = %s",
        (str(status), reason, meme_id),
    )


def _local_source_root(source_url: str) -> Path | None:
    parts = urlsplit(source_url)
    if parts.scheme != "file":
        return None
    return Path(url2pathname(parts.path)).resolve()


# --- fetching ------------------------------------------------------------------------------


class ContentFetcher:
    """Reads meme bytes, never more than `limits.max_download_bytes`."""

    def __init__(self, limits: MediaLimits) -> None:
        self.limits = limits
        self._http = httpx.Client(
            timeout=httpx.Timeout(
                limits.read_timeout_seconds, connect=limits.connect_timeout_seconds
            ),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
            max_redirects=5,
        )

    def __enter__(self) -> ContentFetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.close()

    def fetch(self, content_url: str, local_root: Path | None) -> bytes:
        """The bytes behind `content_url`; raises `ContentRejectedError` when they cannot be had.

        `file://` is read only for memes of a local-folder source (`local_root`) and only inside
        that folder, so a URL from a channel page can never make us read and upload local files.
        """
        scheme = urlsplit(content_url).scheme.lower()
        if scheme in ("http", "https"):
            return self._download(content_url)
        if scheme == "file":
            return self._read_local_file(content_url, local_root)
        raise ContentRejectedError(
            MemeStatus.BROKEN_CONTENT_LINK, f"unsupported URL scheme {scheme or 'none'!r}"
        )

    def _download(self, url: str) -> bytes:
        cap = self.limits.max_download_bytes
        try:
            with self._http.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise ContentRejectedError(
                        MemeStatus.BROKEN_CONTENT_LINK,
                        f"download answered HTTP {response.status_code}",
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > cap:
                    raise ContentRejectedError(
                        MemeStatus.TOO_LARGE, f"content-length {declared} exceeds {cap} bytes"
                    )
                # Content-Length can be absent or wrong: count what actually arrives.
                received = bytearray()
                for chunk in response.iter_bytes():
                    received += chunk
                    if len(received) > cap:
                        raise ContentRejectedError(
                            MemeStatus.TOO_LARGE, f"download exceeds {cap} bytes; aborted"
                        )
                return bytes(received)
        except httpx.HTTPError as error:
            raise ContentRejectedError(
                MemeStatus.BROKEN_CONTENT_LINK, f"download failed: {type(error).__name__}: {error}"
            ) from error

    def _read_local_file(self, file_uri: str, local_root: Path | None) -> bytes:
        if local_root is None:
            raise ContentRejectedError(
                MemeStatus.BROKEN_CONTENT_LINK, "file:// content is allowed only for local sources"
            )
        path = Path(url2pathname(urlsplit(file_uri).path)).resolve()
        if not path.is_relative_to(local_root):
            raise ContentRejectedError(
                MemeStatus.BROKEN_CONTENT_LINK, f"{path} is outside the source folder"
            )
        cap = self.limits.max_download_bytes
        try:
            with path.open("rb") as file:
                # Read one byte past the cap to tell "exactly the cap" from "more".
                content = file.read(cap + 1)
        except OSError as error:
            raise ContentRejectedError(
                MemeStatus.BROKEN_CONTENT_LINK, f"cannot read {path}: {error.strerror or error}"
            ) from error
        if len(content) > cap:
            raise ContentRejectedError(MemeStatus.TOO_LARGE, f"file exceeds {cap} bytes")
        return content


# --- image work ----------------------------------------------------------------------------


def open_as_rgb_image(content: bytes, limits: MediaLimits) -> Image.Image:
    """Decode `content` into an upright RGB image no larger than `limits.max_side_pixels`.

    Raises `ContentRejectedError`: 'not_an_image' for anything Pillow cannot decode,
    'too_large' for a decompression bomb, too many pixels or too elongated a shape.
    """
    with warnings.catch_warnings():
        # Pillow only warns between its two bomb limits; treat that as a bomb too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(content), formats=ACCEPTED_IMAGE_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ContentRejectedError(
                MemeStatus.TOO_LARGE, f"decompression bomb: {error}"
            ) from error
        except UnidentifiedImageError as error:
            raise ContentRejectedError(
                MemeStatus.NOT_AN_IMAGE, "not a supported image format"
            ) from error
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ContentRejectedError(
                MemeStatus.NOT_AN_IMAGE, f"unreadable image: {error}"
            ) from error

        width, height = image.size
        # Checked before decoding the pixels, which is where a bomb would cost memory.
        if width < 1 or height < 1:
            raise ContentRejectedError(
                MemeStatus.NOT_AN_IMAGE, f"image has no pixels ({width}x{height})"
            )
        if width * height > limits.max_image_pixels:
            raise ContentRejectedError(
                MemeStatus.TOO_LARGE,
                f"{width}x{height} exceeds {limits.max_image_pixels} pixels",
            )
        if max(width, height) / min(width, height) > limits.max_aspect_ratio:
            raise ContentRejectedError(
                MemeStatus.TOO_LARGE,
                f"{width}x{height} is more elongated than {limits.max_aspect_ratio:g}:1",
            )
        try:
            # Only the first frame of an animated GIF or WebP is kept: memes are photos.
            image.load()
            upright = ImageOps.exif_transpose(image)
            rgb = _flatten_to_rgb(upright)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ContentRejectedError(
                MemeStatus.TOO_LARGE, f"decompression bomb: {error}"
            ) from error
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ContentRejectedError(
                MemeStatus.NOT_AN_IMAGE, f"corrupt image: {error}"
            ) from error
    rgb.thumbnail((limits.max_side_pixels, limits.max_side_pixels), Image.Resampling.LANCZOS)
    return rgb


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    """RGB with transparent areas on white, so transparent memes are not turned black."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def perceptual_hash(image: Image.Image) -> int:
    """64-bit difference hash (dHash) as a signed integer, to fit PostgreSQL's bigint.

    Each bit says whether a pixel of a 9x8 grayscale thumbnail is brighter than its right-hand
    neighbour; re-encoding, resizing and small marks change few bits.
    """
    thumbnail = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    pixels = thumbnail.tobytes()
    bits = 0
    for row in range(8):
        for column in range(8):
            left = pixels[row * 9 + column]
            right = pixels[row * 9 + column + 1]
            bits = (bits << 1) | int(left > right)
    return bits - (1 << 64) if bits >= (1 << 63) else bits


def hamming_distance(first_hash: int, second_hash: int) -> int:
    return ((first_hash ^ second_hash) & ((1 << 64) - 1)).bit_count()


def least_detailed_corner(image: Image.Image, box_size: tuple[int, int]) -> Corner:
    """The corner whose `box_size` area has the least edge detail (where text reads best and
    hides the least of the meme)."""
    edges = image.convert("L").filter(ImageFilter.FIND_EDGES)
    width, height = image.size

    def detail(corner: Corner) -> float:
        left, top = _corner_origin(corner, (width, height), box_size, margin=0)
        box = (left, top, min(width, left + box_size[0]), min(height, top + box_size[1]))
        # FIND_EDGES marks the image border itself; keep one pixel off it.
        inner = (
            min(box[0] + 1, box[2]),
            min(box[1] + 1, box[3]),
            max(box[2] - 1, box[0] + 1),
            max(box[3] - 1, box[1] + 1),
        )
        return ImageStat.Stat(edges.crop(inner)).mean[0]

    return min(CORNERS, key=detail)


def add_watermark(image: Image.Image, text: str) -> Image.Image:
    """A copy of `image` with `text` in white with a dark outline, sized to the image, in its
    least detailed corner."""
    marked = image.copy()
    text = text.strip()
    if not text:
        return marked
    width, height = marked.size
    short_side = min(width, height)
    font_size = max(10, round(short_side * 0.045))
    draw = ImageDraw.Draw(marked)
    font, stroke, text_box = _fitted_font(draw, text, font_size, max_width=width * 0.6)
    text_width = text_box[2] - text_box[0]
    text_height = text_box[3] - text_box[1]
    margin = max(3, round(short_side * 0.02))
    corner = least_detailed_corner(marked, (text_width + 2 * margin, text_height + 2 * margin))
    left, top = _corner_origin(corner, (width, height), (text_width, text_height), margin)
    draw.text(
        (left - text_box[0], top - text_box[1]),
        text,
        font=font,
        fill=(255, 255, 255),
        stroke_width=stroke,
        stroke_fill=(0, 0, 0),
    )
    return marked


def _fitted_font(
    draw: ImageDraw.ImageDraw, text: str, font_size: int, max_width: float
) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, int, tuple[int, int, int, int]]:
    """Pillow's built-in font at `font_size`, shrunk until the text fits `max_width`."""
    while True:
        font = ImageFont.load_default(size=font_size)
        stroke = max(1, font_size // 12)
        box = draw.textbbox((0, 0), text, font=font, stroke_width=stroke)
        box_ints = (int(box[0]), int(box[1]), int(box[2]), int(box[3]))
        if box_ints[2] - box_ints[0] <= max_width or font_size <= 8:
            return font, stroke, box_ints
        font_size = max(8, int(font_size * max_width / (box_ints[2] - box_ints[0])))


def _corner_origin(
    corner: Corner, image_size: tuple[int, int], box_size: tuple[int, int], margin: int
) -> tuple[int, int]:
    width, height = image_size
    right = max(0, width - box_size[0] - margin)
    bottom = max(0, height - box_size[1] - margin)
    return {
        "bottom_right": (right, bottom),
        "bottom_left": (margin, bottom),
        "top_right": (right, margin),
        "top_left": (margin, margin),
    }[corner]


def encode_jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()
