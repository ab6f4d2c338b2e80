"""Webhook mode: the ASGI app under uvicorn on loopback, fed by the emulator's webhook sender."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import asyncpg
import httpx
import uvicorn

from bot.app import build_application
from bot.webhook import SECRET_HEADER, WEBHOOK_PATH, build_webhook_app
from memefeed.simulation import meme_id_of
from memefeed.telegram_emulator import TelegramEmulator
from tests.e2e.conftest import STORAGE_CHAT_ID, TOKEN, RunningBot, e2e_bot_config

SECRET = "s3cret-webhook-token"


@contextlib.asynccontextmanager
async def webhook_bot(
    database_url: str, redis_url: str
) -> AsyncIterator[tuple[TelegramEmulator, str, RunningBot]]:
    emulator = TelegramEmulator(TOKEN)
    async with emulator.serve() as urls:
        emulator.create_chat(STORAGE_CHAT_ID, title="storage")
        application = build_application(
            e2e_bot_config(database_url, redis_url, urls.api_base_url, urls.file_base_url)
        )
        # Uvicorn must know its own URL before start-up registers the webhook, so the
        # listener is bound first and the public URL is given to the app.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        public_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        app = build_webhook_app(application, secret_token=SECRET, public_url=public_url)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        task = asyncio.create_task(server.serve(sockets=[listener]))
        for _ in range(500):  # uvicorn offers a flag, not an event, for "started"
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "the webhook app did not start"
        try:
            yield emulator, public_url, RunningBot(emulator, application, urls.api_base_url)
        finally:
            server.should_exit = True
            await task


async def test_webhook_rejects_a_missing_or_wrong_secret_and_malformed_updates(
    clean_db: asyncpg.Pool, database_url: str, redis_url: str, redis_client
) -> None:
    async with (
        webhook_bot(database_url, redis_url) as (_, url, _bot),
        httpx.AsyncClient(base_url=url) as client,
    ):
        update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {}}}
        missing = await client.post(WEBHOOK_PATH, json=update)
        wrong = await client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: "nope"})
        malformed = await client.post(
            WEBHOOK_PATH, content=b"{not json", headers={SECRET_HEADER: SECRET}
        )
        health = await client.get("/healthz")

    assert missing.status_code == 403
    assert wrong.status_code == 403
    assert malformed.status_code == 400
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert await clean_db.fetchval('select count(*) from app."user"') == 0


async def test_webhook_mode_serves_the_feed_end_to_end(
    clean_db: asyncpg.Pool, database_url: str, redis_url: str, redis_client
) -> None:
    async with webhook_bot(database_url, redis_url) as (emulator, _, running):
        await running.upload_memes(clean_db, 3)
        user = emulator.user(9101, "Wendy", language_code="en")

        await user.send_text("/start")
        first = await user.wait_for(lambda m: meme_id_of(m) is not None, timeout=10)
        await user.press(first, f"r:{meme_id_of(first)}:1")
        second = await user.wait_for(lambda m: meme_id_of(m) is not None, timeout=10)

    assert meme_id_of(second) != meme_id_of(first)
    assert emulator.api_calls_to("setWebhook")[0].params["secret_token"] == SECRET
    assert (
        await clean_db.fetchval(
            "select count(*) from app.user_meme_reaction where user_id = 9101 and reaction_id = 1"
        )
        == 1
    )
