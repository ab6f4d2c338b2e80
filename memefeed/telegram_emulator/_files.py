"""Turning uploaded image bytes into Telegram-style photo sizes."""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from memefeed.telegram_emulator._errors import bad_request

# Telegram's limits for sendPhoto: 10 MB, width + height <= 10000, aspect ratio <= 20.
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_SIDES_SUM = 10_000
MAX_PHOTO_ASPECT_RATIO = 20
# Telegram also keeps smaller copies (its "s", "m" and "x" sizes) next to the original, so
# bots that pick photo[0] instead of photo[-1] get a thumbnail here too, as they would there.
THUMBNAIL_SIDES = (90, 320, 800)
# getFile refuses files larger than this for bots.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

_EXTENSIONS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
    "GIF": ("gif", "image/gif"),
}


@dataclass(frozen=True)
class PhotoVariant:
    """One stored size of a photo, before it gets its file ids."""

    data: bytes
    width: int
    height: int
    extension: str
    mime_type: str


def photo_variants(data: bytes) -> list[PhotoVariant]:
    """Validate an uploaded photo and return its sizes, smallest first, original last."""
    if len(data) > MAX_PHOTO_BYTES:
        raise bad_request("PHOTO_SAVE_FILE_INVALID")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise bad_request("IMAGE_PROCESS_FAILED") from error
    width, height = image.size
    if (
        width < 1
        or height < 1
        or width + height > MAX_PHOTO_SIDES_SUM
        or max(width, height) / min(width, height) > MAX_PHOTO_ASPECT_RATIO
    ):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    variants: list[PhotoVariant] = []
    for side in THUMBNAIL_SIDES:
        if max(width, height) <= side:
            break
        thumbnail = image.convert("RGB")
        thumbnail.thumbnail((side, side), reducing_gap=2.0)
        buffer = io.BytesIO()
        thumbnail.save(buffer, format="JPEG", quality=80)
        variants.append(
            PhotoVariant(buffer.getvalue(), thumbnail.width, thumbnail.height, "jpg", "image/jpeg")
        )
    extension, mime_type = _EXTENSIONS.get(image.format or "", ("jpg", "image/jpeg"))
    # The largest size keeps the uploaded bytes, so a bot that downloads it gets what was sent.
    variants.append(PhotoVariant(data, width, height, extension, mime_type))
    return variants


def unique_file_id(data: bytes) -> str:
    """Telegram's file_unique_id is the same for the same file over time and across bots."""
    digest = hashlib.sha256(data).digest()
    return "AQAD" + base64.urlsafe_b64encode(digest).decode("ascii")[:12]


def photo_file_id(bot_id: int, sequence: int) -> str:
    """An opaque file id, valid for this bot only, as Telegram's are."""
    payload = f"{bot_id}:{sequence}".encode()
    return "AgAC" + base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")
