from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from telegram.ext import Application

from bot.app import BotConfig, build_application, running_in_process
from memefeed.recording_request import RecordingRequest


@pytest.fixture
def recording_request() -> RecordingRequest:
    return RecordingRequest()


@pytest.fixture
async def bot_app(
    clean_db: asyncpg.Pool, database_url: str, redis_url: str, redis_client, recording_request
) -> AsyncIterator[Application]:
    """The real Application, answering through the recording request, on real servers."""
    application = build_application(
        BotConfig(
            token="123:TEST",
            database_url=database_url,
            redis_url=redis_url,
            rate_limit=False,
            refill_threshold=2,
            refill_batch=5,
        ),
        request=recording_request,
    )
    async with running_in_process(application):
        yield application
