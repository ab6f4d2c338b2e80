from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import asyncpg
import pytest
from telegram.ext import Application

from bot.app import BotConfig, build_application, running_in_process
from ingestion.media import BotApiPhotoUploader
from memefeed.sample_memes import generate_sample_memes
from memefeed.telegram_emulator import TelegramEmulator
from tests.factories import create_meme, create_source

TOKEN = "7000002:e2e-token"


STORAGE_CHAT_ID = -1000000000077


@dataclass
class RunningBot:
    emulator: TelegramEmulator
    application: Application
    api_base_url: str

    async def upload_memes(
        self, pool: asyncpg.Pool, count: int, *, language_code: str = "en"
    ) -> list[int]:
        """Memes whose file ids the emulator really holds, uploaded to its storage chat."""
        source_id = await create_source(pool, language_code=language_code)
        images = generate_sample_memes(Path(tempfile.mkdtemp()), count, seed=count)
        meme_ids = []
        with BotApiPhotoUploader(self.api_base_url, TOKEN, STORAGE_CHAT_ID) as uploader:
            for image in images:
                photo = await asyncio.to_thread(uploader.upload_photo, image.read_bytes())
                meme_ids.append(
                    await create_meme(
                        pool,
                        source_id,
                        language_code=language_code,
                        telegram_file_id=photo.file_id,
                    )
                )
        return meme_ids


def e2e_bot_config(
    database_url: str, redis_url: str, api_base_url: str, file_base_url: str
) -> BotConfig:
    return BotConfig(
        token=TOKEN,
        database_url=database_url,
        redis_url=redis_url,
        api_base_url=api_base_url,
        file_base_url=file_base_url,
        refill_threshold=2,
        refill_batch=5,
    )


@contextlib.asynccontextmanager
async def polling_bot_on_emulator(
    database_url: str, redis_url: str, *, review_chat_id: int | None = None
) -> AsyncIterator[RunningBot]:
    """The real bot long-polling a fresh local Bot API emulator over HTTP."""
    emulator = TelegramEmulator(TOKEN)
    async with emulator.serve() as urls:
        emulator.create_chat(STORAGE_CHAT_ID, title="storage")
        if review_chat_id is not None:
            emulator.create_chat(review_chat_id, chat_type="supergroup", title="review")
        config = e2e_bot_config(database_url, redis_url, urls.api_base_url, urls.file_base_url)
        application = build_application(replace(config, review_chat_id=review_chat_id))
        async with running_in_process(application, poll=True):
            yield RunningBot(emulator, application, urls.api_base_url)


@pytest.fixture
async def polling_bot(
    clean_db: asyncpg.Pool, database_url: str, redis_url: str, redis_client
) -> AsyncIterator[RunningBot]:
    async with polling_bot_on_emulator(database_url, redis_url) as running:
        yield running
