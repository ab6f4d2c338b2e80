"""Fixtures: a served emulator, a real PTB Bot on it, and PTB Applications polling it."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator

import pytest
from PIL import Image
from telegram import Bot
from telegram.ext import Application, BaseHandler

from memefeed.telegram_emulator import TelegramEmulator

TOKEN = "424242:emulator-test-token"


def image_bytes(
    width: int = 640, height: int = 480, color: str = "red", image_format: str = "JPEG"
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    emulator = TelegramEmulator(TOKEN, bot_username="memefeed_test_bot")
    async with emulator.serve():
        yield emulator


@pytest.fixture
async def bot(emulator: TelegramEmulator) -> AsyncIterator[Bot]:
    async with Bot(
        TOKEN, base_url=emulator.api_base_url, base_file_url=emulator.file_base_url
    ) as bot:
        yield bot


@contextlib.asynccontextmanager
async def polling_application(
    emulator: TelegramEmulator, *handlers: BaseHandler
) -> AsyncIterator[Application]:
    """A real PTB Application long-polling the emulator while the block runs."""
    application = (
        Application.builder()
        .token(TOKEN)
        .base_url(emulator.api_base_url)
        .base_file_url(emulator.file_base_url)
        .build()
    )
    for handler in handlers:
        application.add_handler(handler)
    await application.initialize()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    await application.start()
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
