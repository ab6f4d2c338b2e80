"""Webhook delivery, the threaded server for synchronous callers, and the HTTP control API."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Conflict

from memefeed.telegram_emulator import SECRET_TOKEN_HEADER, TelegramEmulator
from memefeed.telegram_emulator._requests import parse_multipart
from tests.emulator.conftest import TOKEN, image_bytes


@contextlib.asynccontextmanager
async def webhook_receiver(
    status_codes: list[int],
) -> AsyncIterator[tuple[str, asyncio.Queue[tuple[dict[str, Any], str | None]]]]:
    """A tiny bot-side HTTP endpoint on loopback; answers with status_codes in turn, then 200."""
    received: asyncio.Queue[tuple[dict[str, Any], str | None]] = asyncio.Queue()

    async def hook(request: Request) -> Response:
        await received.put((await request.json(), request.headers.get(SECRET_TOKEN_HEADER)))
        return Response(status_code=status_codes.pop(0) if status_codes else 200)

    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
            host="127.0.0.1",
            port=0,
            log_config=None,
            log_level="warning",
        )
    )
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(5):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no startup event
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hook", received
    finally:
        server.should_exit = True
        await serving


async def test_webhook_gets_each_update_with_the_secret_header(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    user = emulator.user(7001, "Rae")
    # The first attempt fails: the emulator retries, as Telegram does.
    async with webhook_receiver(status_codes=[500]) as (url, received):
        assert await bot.set_webhook(url, secret_token="s3cret-token")
        await user.send_text("/start via webhook")
        first_try, first_secret = await asyncio.wait_for(received.get(), 5)
        retried, retried_secret = await asyncio.wait_for(received.get(), 5)
        with pytest.raises(Conflict):
            await bot.get_updates(timeout=0)
        await emulator.wait_until_updates_consumed(timeout=5)
        info = await bot.get_webhook_info()
    assert first_try == retried
    assert first_secret == retried_secret == "s3cret-token"
    update = Update.de_json(retried, bot)
    assert update.message is not None
    assert update.message.text == "/start via webhook"
    assert update.message.from_user is not None
    assert update.message.from_user.id == user.user_id
    assert info.url == url
    assert info.pending_update_count == 0
    assert info.last_error_message is None


async def test_webhook_records_the_error_when_it_gives_up(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    emulator.webhook_retry_delay_seconds = 0.01
    user = emulator.user(7002, "Sam")
    async with webhook_receiver(status_codes=[503, 503, 503]) as (url, received):
        await bot.set_webhook(url)
        await user.send_text("lost")
        await emulator.wait_until_updates_consumed(timeout=5)
        info = await bot.get_webhook_info()
    assert received.qsize() == 3
    assert info.last_error_message is not None
    assert "503" in info.last_error_message


def test_threaded_emulator_serves_synchronous_callers() -> None:
    emulator = TelegramEmulator(TOKEN)
    emulator.create_chat(-1009999, title="storage")
    with emulator.serve_in_thread() as runner, httpx.Client() as client:
        api = f"{runner.urls.api_base_url}{TOKEN}"
        upload = client.post(
            f"{api}/sendPhoto",
            data={"chat_id": "-1009999", "caption": "from a thread"},
            files={"photo": ("meme.jpg", image_bytes(), "image/jpeg")},
        ).json()
        assert upload["ok"], upload
        file_id = upload["result"]["photo"][-1]["file_id"]

        user = emulator.user(7003, "Tia")
        runner.run(user.send_text("/start"))
        updates = client.get(f"{api}/getUpdates", params={"timeout": 1}).json()["result"]
        assert updates[0]["message"]["text"] == "/start"
        reply = client.post(
            f"{api}/sendPhoto", json={"chat_id": user.chat_id, "photo": file_id}
        ).json()
        assert reply["ok"], reply
        seen = user.wait_for_blocking(timeout=2)
    assert seen.photo_file_id == file_id
    assert emulator.chat_messages(-1009999)[0].caption == "from a thread"


async def test_control_api_drives_users_over_http(bot: Bot, emulator: TelegramEmulator) -> None:
    control = emulator.urls.control_url
    async with httpx.AsyncClient() as client:
        sent = await client.post(
            f"{control}/users/7004/send_text",
            json={"text": "/start", "first_name": "Uma", "language_code": "en"},
        )
        assert sent.json() == {"ok": True, "result": {"message_id": 1}}
        [update] = await bot.get_updates(timeout=0)
        assert update.message is not None
        assert update.message.from_user is not None
        assert update.message.from_user.first_name == "Uma"

        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
        await bot.send_message(7004, "pick", reply_markup=keyboard)
        messages = (await client.get(f"{control}/users/7004/messages")).json()["result"]
        assert [message["text"] for message in messages] == ["pick"]
        pressed = await client.post(
            f"{control}/users/7004/press",
            json={"message_id": messages[0]["message_id"], "callback_data": "a"},
        )
        query_id = pressed.json()["result"]["callback_query_id"]
        refused = await client.post(
            f"{control}/users/7004/press", json={"message_id": 99, "callback_data": "a"}
        )
        photo = await client.post(
            f"{control}/users/7004/send_photo",
            json={"photo_base64": base64.b64encode(image_bytes()).decode(), "caption": "hi"},
        )
    updates = await bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert updates[0].callback_query is not None
    assert updates[0].callback_query.id == query_id
    assert updates[1].message is not None
    assert updates[1].message.caption == "hi"
    assert refused.status_code == 404
    assert refused.json()["ok"] is False
    assert photo.json()["ok"]


def test_multipart_parser_keeps_binary_content_intact() -> None:
    payload = b"\r\n--not-the-boundary\r\n\x00\xff binary \r\n\r\n tail\r\n"
    request = httpx.Request(
        "POST",
        "http://127.0.0.1/x",
        data={"chat_id": "-100", "caption": "héllo"},
        files={"photo": ("a.jpg", payload, "image/jpeg")},
    )
    body = request.read()
    fields, files = parse_multipart(body, request.headers["content-type"])
    assert fields == {"chat_id": "-100", "caption": "héllo"}
    assert files["photo"].data == payload
    assert files["photo"].filename == "a.jpg"


def test_users_acting_from_many_threads_keep_ids_consistent() -> None:
    emulator = TelegramEmulator(TOKEN)
    users = [emulator.user(8000 + n, f"Threaded{n}") for n in range(8)]
    messages_per_user = 25

    def chatter(user_index: int) -> None:
        # Each thread runs its own event loop, as separate sync workers would.
        async def send_all() -> None:
            for n in range(messages_per_user):
                await users[user_index].send_text(f"message {n}")

        asyncio.run(send_all())

    with emulator.serve_in_thread() as runner, httpx.Client() as client:
        threads = [threading.Thread(target=chatter, args=(index,)) for index in range(len(users))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        updates: list[dict[str, Any]] = []
        offset = 0
        while len(updates) < len(users) * messages_per_user:
            batch = client.get(
                f"{runner.urls.api_base_url}{TOKEN}/getUpdates",
                params={"offset": offset, "timeout": 1},
            ).json()["result"]
            assert batch, "updates went missing"
            updates.extend(batch)
            offset = batch[-1]["update_id"] + 1
    update_ids = [update["update_id"] for update in updates]
    assert update_ids == sorted(set(update_ids))
    for user in users:
        ids = [
            update["message"]["message_id"]
            for update in updates
            if update["message"]["chat"]["id"] == user.chat_id
        ]
        assert ids == list(range(1, messages_per_user + 1))
