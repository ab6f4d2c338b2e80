"""Uploads go to review; only moderators decide; admins see figures and broadcast once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from telegram.ext import Application

from bot.app import BotConfig, build_application, running_in_process
from bot.uploads import UPLOADS_PER_DAY
from memefeed.recording_request import RecordingRequest
from tests.bot.helpers import markup_of, texts_sent
from tests.bot.updates import (
    callback_update,
    command_update,
    document_update,
    photo_update,
    tg_user,
)

REVIEW_CHAT = -1000000000123


@pytest.fixture
async def review_bot(
    clean_db: asyncpg.Pool, database_url: str, redis_url: str, redis_client, recording_request
) -> AsyncIterator[Application]:
    application = build_application(
        BotConfig(
            token="123:TEST",
            database_url=database_url,
            redis_url=redis_url,
            rate_limit=False,
            review_chat_id=REVIEW_CHAT,
        ),
        request=recording_request,
    )
    async with running_in_process(application):
        yield application


def _review_posts(request: RecordingRequest) -> list[dict]:
    return [
        call.params
        for call in request.calls_to("sendPhoto")
        if int(call.params["chat_id"]) == REVIEW_CHAT
    ]


async def test_a_photo_becomes_a_pending_upload_posted_for_review(
    review_bot: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    user = tg_user(801)
    await review_bot.process_update(command_update(review_bot.bot, user, "/start"))

    await review_bot.process_update(photo_update(review_bot.bot, user, caption="lol"))

    upload = await clean_db.fetchrow("select * from app.meme_raw_upload where user_id = 801")
    assert upload["status"] == "pending"
    assert upload["telegram_file_id"].startswith("photo-")  # the largest size
    assert upload["caption"] == "lol"
    posts = _review_posts(recording_request)
    assert len(posts) == 1
    buttons = markup_of(posts[0])["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == [f"m:a:{upload['id']}", f"m:r:{upload['id']}"]
    assert upload["review_message_id"] is not None


async def test_only_moderators_decide_and_an_approved_upload_joins_the_feed_once(
    review_bot: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    author, stranger, moderator = tg_user(802), tg_user(803), tg_user(804)
    for person in (author, stranger, moderator):
        await review_bot.process_update(command_update(review_bot.bot, person, "/start"))
    await clean_db.execute("update app.\"user\" set type = 'moderator' where id = 804")
    await review_bot.process_update(photo_update(review_bot.bot, author))
    upload_id = await clean_db.fetchval("select id from app.meme_raw_upload")

    await review_bot.process_update(callback_update(review_bot.bot, stranger, f"m:a:{upload_id}"))
    assert await clean_db.fetchval("select status from app.meme_raw_upload") == "pending"

    await review_bot.process_update(callback_update(review_bot.bot, moderator, f"m:a:{upload_id}"))
    await review_bot.process_update(callback_update(review_bot.bot, moderator, f"m:r:{upload_id}"))

    upload = await clean_db.fetchrow("select * from app.meme_raw_upload")
    assert upload["status"] == "approved"
    assert upload["reviewed_by"] == 804
    meme = await clean_db.fetchrow("select * from app.meme where id = $1", upload["meme_id"])
    assert meme["status"] == "ok"
    assert meme["telegram_file_id"] == upload["telegram_file_id"]
    assert await clean_db.fetchval("select count(*) from app.meme") == 1
    assert "approved" in texts_sent(recording_request, 802)[-1]


async def test_uploads_stop_at_the_daily_limit_and_a_redelivered_photo_counts_once(
    review_bot: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    user = tg_user(805)
    await review_bot.process_update(command_update(review_bot.bot, user, "/start"))
    first = photo_update(review_bot.bot, user)
    await review_bot.process_update(first)
    await review_bot.process_update(first)  # Telegram redelivers after a timeout

    for _ in range(UPLOADS_PER_DAY):
        await review_bot.process_update(photo_update(review_bot.bot, user))

    assert (
        await clean_db.fetchval("select count(*) from app.meme_raw_upload where user_id = 805")
        == UPLOADS_PER_DAY
    )
    assert "tomorrow" in texts_sent(recording_request, 805)[-1]


async def test_a_non_image_gets_a_polite_refusal_and_no_upload(
    review_bot: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    user = tg_user(806)
    await review_bot.process_update(command_update(review_bot.bot, user, "/start"))

    await review_bot.process_update(document_update(review_bot.bot, user))

    assert await clean_db.fetchval("select count(*) from app.meme_raw_upload") == 0
    replies = [c.params["text"] for c in recording_request.calls_to("sendMessage")]
    assert "as a photo" in replies[-1]


async def test_admin_commands_are_refused_to_everyone_else(
    review_bot: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    user = tg_user(807)
    await review_bot.process_update(command_update(review_bot.bot, user, "/start"))

    await review_bot.process_update(command_update(review_bot.bot, user, "/admin_stats"))
    await review_bot.process_update(command_update(review_bot.bot, user, "/broadcast hi all"))

    assert texts_sent(recording_request, 807)[-2:] == ["Only admins can do that."] * 2
    assert await clean_db.fetchval("select count(*) from app.broadcast") == 0


async def test_admin_stats_count_todays_activity(
    review_bot: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    admin = tg_user(808)
    await review_bot.process_update(command_update(review_bot.bot, admin, "/start"))
    await clean_db.execute("update app.\"user\" set type = 'admin' where id = 808")

    await review_bot.process_update(command_update(review_bot.bot, admin, "/admin_stats"))

    assert "Active users (24 h): 0" in texts_sent(recording_request, 808)[-1]


async def test_a_broadcast_reaches_each_reachable_user_once(
    review_bot: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    admin, reader, blocker = tg_user(809), tg_user(810), tg_user(811)
    for person in (admin, reader, blocker):
        await review_bot.process_update(command_update(review_bot.bot, person, "/start"))
    await clean_db.execute("update app.\"user\" set type = 'admin' where id = 809")
    recording_request.blocked_chat_ids.add(811)

    await review_bot.process_update(
        command_update(review_bot.bot, admin, "/broadcast news-1 New memes are in!")
    )
    await _wait_for_text(recording_request, 809, "delivered to")
    await review_bot.process_update(
        command_update(review_bot.bot, admin, "/broadcast news-1 New memes are in!")
    )

    deliveries = [
        int(call.params["chat_id"])
        for call in recording_request.calls_to("sendMessage")
        if call.params["text"] == "New memes are in!"
    ]
    assert sorted(deliveries) == [809, 810, 811]  # 811's send failed with 403
    assert await clean_db.fetchval('select blocked_bot_at from app."user" where id = 811')
    assert "already sent" in texts_sent(recording_request, 809)[-1]
    assert await clean_db.fetchval("select count(*) from app.broadcast_delivery") == 3


async def _wait_for_text(request: RecordingRequest, chat_id: int, fragment: str) -> None:
    for _ in range(200):
        if any(fragment in sent for sent in texts_sent(request, chat_id)):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no message containing {fragment!r} to {chat_id}")
