"""/lang, /help, /stats, /last with a reaction change, and my_chat_member blocking."""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis
from telegram.ext import Application

from bot.feed import queue_key
from bot.reactions import Reaction, reaction_callback_data
from memefeed.recording_request import RecordingRequest
from tests.bot.helpers import markup_of, sent_meme_ids, texts_sent
from tests.bot.updates import callback_update, command_update, my_chat_member_update, tg_user
from tests.factories import create_memes


async def _start_and_react(
    bot_app: Application, request: RecordingRequest, user: dict, reactions: list[Reaction]
) -> list[int]:
    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))
    reacted = []
    for reaction in reactions:
        meme_id = sent_meme_ids(request, user["id"])[-1]
        await bot_app.process_update(
            callback_update(bot_app.bot, user, reaction_callback_data(meme_id, reaction))
        )
        reacted.append(meme_id)
    return reacted


async def test_choosing_a_language_replaces_the_users_languages_and_replans_the_queue(
    bot_app: Application,
    clean_db: asyncpg.Pool,
    recording_request: RecordingRequest,
    redis_client: aioredis.Redis,
) -> None:
    await create_memes(clean_db, 10)
    user = tg_user(701, "Alice", "en")
    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))
    assert await redis_client.llen(queue_key(701)) > 0

    await bot_app.process_update(command_update(bot_app.bot, user, "/lang"))
    await bot_app.process_update(callback_update(bot_app.bot, user, "l:en+ru", with_photo=False))

    languages = await clean_db.fetch(
        "select language_code from app.user_language where user_id = 701 order by 1"
    )
    assert [row["language_code"] for row in languages] == ["en", "ru"]
    assert await redis_client.llen(queue_key(701)) == 0
    edited = recording_request.calls_to("editMessageText")[-1]
    assert "English + Русский" in edited.params["text"]


async def test_a_forged_language_choice_changes_nothing(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    user = tg_user(702, "Alice", "en")
    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))

    await bot_app.process_update(callback_update(bot_app.bot, user, "l:xx'--", with_photo=False))

    assert await clean_db.fetchval(
        "select array_agg(language_code) from app.user_language where user_id = 702"
    ) == ["en"]
    assert recording_request.calls_to("answerCallbackQuery")[-1].params["text"]


async def test_stats_are_the_users_own_live_figures(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    await create_memes(clean_db, 6)
    user = tg_user(703)
    await _start_and_react(
        bot_app, recording_request, user, [Reaction.LIKE, Reaction.LIKE, Reaction.DISLIKE]
    )

    await bot_app.process_update(command_update(bot_app.bot, user, "/stats"))

    reply = texts_sent(recording_request, 703)[-1]
    assert "Memes you reacted to: 3" in reply
    assert "Likes: 2 (67%)" in reply


async def test_last_shows_the_last_reacted_meme_and_its_buttons_change_the_reaction(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    await create_memes(clean_db, 5)
    user = tg_user(704)
    reacted = await _start_and_react(
        bot_app, recording_request, user, [Reaction.LIKE, Reaction.DISLIKE]
    )

    await bot_app.process_update(command_update(bot_app.bot, user, "/last"))
    shown = recording_request.calls_to("sendPhoto")[-1]
    buttons = markup_of(shown.params)["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == [f"u:{reacted[-1]}:1", f"u:{reacted[-1]}:2"]

    await bot_app.process_update(callback_update(bot_app.bot, user, f"u:{reacted[-1]}:1"))

    assert (
        await clean_db.fetchval(
            "select reaction_id from app.user_meme_reaction where user_id = 704 and meme_id = $1",
            reacted[-1],
        )
        == 1
    )


async def test_a_change_for_a_meme_not_reacted_by_this_user_writes_nothing(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    await create_memes(clean_db, 5)
    owner, other = tg_user(705), tg_user(706)
    reacted = await _start_and_react(bot_app, recording_request, owner, [Reaction.LIKE])
    await bot_app.process_update(command_update(bot_app.bot, other, "/start"))
    unreacted = sent_meme_ids(recording_request, 706)[-1]

    for data in (f"u:{reacted[0]}:2", f"u:{unreacted}:2", "u:1:9", "u:x:1"):
        await bot_app.process_update(callback_update(bot_app.bot, other, data))

    rows = await clean_db.fetch(
        "select user_id, meme_id, reaction_id from app.user_meme_reaction order by 1, 2"
    )
    assert {(r["user_id"], r["meme_id"]): r["reaction_id"] for r in rows}[(705, reacted[0])] == 1
    assert all(r["reaction_id"] is None for r in rows if r["user_id"] == 706)


async def test_help_answers_in_the_users_language_and_plain_text_gets_help(
    bot_app: Application, recording_request: RecordingRequest, clean_db: asyncpg.Pool
) -> None:
    user = tg_user(707, "Маша", "ru")
    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))
    await bot_app.process_update(command_update(bot_app.bot, user, "/help"))
    assert "/lang" in texts_sent(recording_request, 707)[-1]
    assert "Жми" in texts_sent(recording_request, 707)[-1]


async def test_blocking_and_unblocking_the_bot_is_recorded(
    bot_app: Application, clean_db: asyncpg.Pool
) -> None:
    user = tg_user(708)
    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))

    await bot_app.process_update(my_chat_member_update(bot_app.bot, user, "kicked"))
    blocked = await clean_db.fetchval('select blocked_bot_at from app."user" where id = 708')
    await bot_app.process_update(my_chat_member_update(bot_app.bot, user, "member"))
    unblocked = await clean_db.fetchval('select blocked_bot_at from app."user" where id = 708')

    assert blocked is not None
    assert unblocked is None
