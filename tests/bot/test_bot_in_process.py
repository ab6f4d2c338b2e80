"""The real PTB Application on real PostgreSQL and Redis, updates injected in process."""

from __future__ import annotations

import asyncio
import json

import asyncpg
from telegram.ext import Application

from bot.reactions import Reaction, reaction_callback_data
from memefeed.recording_request import RecordingRequest
from tests.bot.updates import callback_update, command_update, tg_user
from tests.factories import count_rows, create_memes


def _markup(params: dict) -> dict:
    markup = params["reply_markup"]
    return json.loads(markup) if isinstance(markup, str) else markup


def _sent_meme_ids(request: RecordingRequest) -> list[int]:
    return [
        int(_markup(call.params)["inline_keyboard"][0][0]["callback_data"].split(":")[1])
        for call in request.calls
        if call.method in {"sendPhoto", "editMessageMedia"}
    ]


async def test_start_onboards_a_new_user_and_sends_a_meme_with_buttons(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    await create_memes(clean_db, 3)
    user = tg_user(501, first_name="Иван", language_code="en")

    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))

    photos = recording_request.calls_to("sendPhoto")
    assert len(photos) == 1
    keyboard = _markup(photos[0].params)["inline_keyboard"][0]
    assert [button["callback_data"].split(":")[2] for button in keyboard] == ["1", "2"]
    assert await count_rows(clean_db, '"user"', 501) == 1
    assert await count_rows(clean_db, "user_tg", 501) == 1
    languages = await clean_db.fetch(
        "select language_code from app.user_language where user_id = 501 order by 1"
    )
    assert [row["language_code"] for row in languages] == ["en", "ru"]
    assert await count_rows(clean_db, "user_meme_reaction", 501) == 1


async def test_a_like_is_written_once_and_brings_the_next_meme(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    await create_memes(clean_db, 4)
    user = tg_user(502)
    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))
    first = _sent_meme_ids(recording_request)[0]

    like = reaction_callback_data(first, Reaction.LIKE)
    await bot_app.process_update(callback_update(bot_app.bot, user, like))
    await bot_app.process_update(callback_update(bot_app.bot, user, like))

    sent = _sent_meme_ids(recording_request)
    assert len(sent) == 2
    assert len(set(sent)) == 2
    row = await clean_db.fetchrow(
        "select reaction_id, reacted_at from app.user_meme_reaction "
        "where user_id = 502 and meme_id = $1",
        first,
    )
    assert row["reaction_id"] == 1
    assert row["reacted_at"] is not None
    answers = recording_request.calls_to("answerCallbackQuery")
    assert len(answers) == 2
    assert "text" in answers[1].params


async def test_a_dislike_replaces_the_meme_in_place(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    await create_memes(clean_db, 3)
    user = tg_user(503)
    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))
    first = _sent_meme_ids(recording_request)[0]

    dislike = reaction_callback_data(first, Reaction.DISLIKE)
    await bot_app.process_update(callback_update(bot_app.bot, user, dislike, message_id=7))

    edits = recording_request.calls_to("editMessageMedia")
    assert len(edits) == 1
    assert int(edits[0].params["message_id"]) == 7


async def test_every_meme_once_then_memes_ended_with_a_retry_button(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    memes = await create_memes(clean_db, 7)
    user = tg_user(504)
    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))
    for _ in range(len(memes)):
        last = _sent_meme_ids(recording_request)[-1]
        like = reaction_callback_data(last, Reaction.LIKE)
        await bot_app.process_update(callback_update(bot_app.bot, user, like))

    sent = _sent_meme_ids(recording_request)
    assert sorted(sent) == sorted(memes)
    ended = recording_request.calls_to("sendMessage")[-1]
    assert _markup(ended.params)["inline_keyboard"][0][0]["callback_data"] == "q:retry"


async def test_forged_and_malformed_callbacks_get_an_answer_and_write_nothing(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    await create_memes(clean_db, 3)
    victim, attacker = tg_user(505), tg_user(506)
    await bot_app.process_update(command_update(bot_app.bot, victim, "/start"))
    first = _sent_meme_ids(recording_request)[-1]
    like = reaction_callback_data(first, Reaction.LIKE)
    await bot_app.process_update(callback_update(bot_app.bot, victim, like))
    only_the_victims = _sent_meme_ids(recording_request)[-1]
    await bot_app.process_update(command_update(bot_app.bot, attacker, "/start"))
    assert _sent_meme_ids(recording_request)[-1] != only_the_victims
    before = await clean_db.fetch("select * from app.user_meme_reaction order by 1, 2")
    answers_before = len(recording_request.calls_to("answerCallbackQuery"))

    forged = [
        reaction_callback_data(only_the_victims, Reaction.LIKE),
        "r:999999:1",
        "r:abc:1",
        "r:1:7",
        "garbage",
        "r:" + "9" * 40 + ":1",
    ]
    for data in forged:
        await bot_app.process_update(callback_update(bot_app.bot, attacker, data))

    assert await clean_db.fetch("select * from app.user_meme_reaction order by 1, 2") == before
    answers = recording_request.calls_to("answerCallbackQuery")[answers_before:]
    assert len(answers) == len(forged)
    assert all(answer.params.get("text") for answer in answers)


async def test_a_second_start_creates_no_new_onboarding_rows(
    bot_app: Application, clean_db: asyncpg.Pool
) -> None:
    await create_memes(clean_db, 3)
    user = tg_user(507)
    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))
    counts = [await count_rows(clean_db, t, 507) for t in ('"user"', "user_tg", "user_language")]

    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))

    assert [
        await count_rows(clean_db, t, 507) for t in ('"user"', "user_tg", "user_language")
    ] == (counts)
    assert counts == [1, 1, 1]


async def test_concurrent_starts_for_one_new_user_give_one_user_row(
    bot_app: Application, clean_db: asyncpg.Pool
) -> None:
    await create_memes(clean_db, 30)
    user = tg_user(508, language_code="ru")

    await asyncio.gather(
        *(bot_app.process_update(command_update(bot_app.bot, user, "/start")) for _ in range(20))
    )

    assert await count_rows(clean_db, '"user"', 508) == 1
    assert await count_rows(clean_db, "user_language", 508) == 1
    sent = await clean_db.fetchval(
        "select count(*) from app.user_meme_reaction where user_id = 508"
    )
    distinct = await clean_db.fetchval(
        "select count(distinct meme_id) from app.user_meme_reaction where user_id = 508"
    )
    assert sent == distinct == 20
