"""Issue 4's main paths over HTTP: the picker, /last and an upload reaching the review chat."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest

from memefeed.sample_memes import generate_sample_memes
from memefeed.simulation import meme_id_of
from memefeed.telegram_emulator import BotMessage
from tests.e2e.conftest import RunningBot, polling_bot_on_emulator

REVIEW_CHAT_ID = -1000000000555


@pytest.fixture
async def bot_with_review_chat(
    clean_db: asyncpg.Pool, database_url: str, redis_url: str, redis_client
) -> AsyncIterator[RunningBot]:
    async with polling_bot_on_emulator(
        database_url, redis_url, review_chat_id=REVIEW_CHAT_ID
    ) as running:
        yield running


def has_button(prefix: str) -> Callable[[BotMessage], bool]:
    def check(message: BotMessage) -> bool:
        return any((button.callback_data or "").startswith(prefix) for button in message.buttons)

    return check


async def test_the_picker_and_the_first_meme_arrive_and_a_tap_sets_the_language(
    bot_with_review_chat: RunningBot, clean_db: asyncpg.Pool
) -> None:
    await bot_with_review_chat.upload_memes(clean_db, 3)
    user = bot_with_review_chat.emulator.user(9201, "Alice", language_code="en")

    await user.send_text("/start")
    picker = await user.wait_for(has_button("l:"), timeout=10)
    meme = await user.wait_for(has_button("r:"), timeout=10)
    await user.press(picker, "l:ru")
    confirmation = await user.wait_for(lambda m: m.message_id == picker.message_id, timeout=10)

    assert meme_id_of(meme) is not None
    assert "Русский" in (confirmation.text or "")
    assert await clean_db.fetchval(
        "select array_agg(language_code) from app.user_language where user_id = 9201"
    ) == ["ru"]


async def test_last_reshows_the_last_reaction_and_lets_the_user_change_it(
    bot_with_review_chat: RunningBot, clean_db: asyncpg.Pool
) -> None:
    await bot_with_review_chat.upload_memes(clean_db, 3)
    user = bot_with_review_chat.emulator.user(9202, "Дима", language_code="ru")
    await user.send_text("/start")
    meme = await user.wait_for(has_button("r:"), timeout=10)
    liked = meme_id_of(meme)
    await user.press(meme, f"r:{liked}:1")
    await user.wait_for(has_button("r:"), timeout=10)

    await user.send_text("/last")
    shown = await user.wait_for(has_button("u:"), timeout=10)
    query_id = await user.press(shown, f"u:{liked}:2")
    answer = await bot_with_review_chat.emulator.wait_for_callback_answer(query_id)

    assert shown.photo_file_id == meme.photo_file_id
    assert answer.text
    assert (
        await clean_db.fetchval(
            "select reaction_id from app.user_meme_reaction where user_id = 9202 and meme_id = $1",
            liked,
        )
        == 2
    )


async def test_a_photo_sent_to_the_bot_reaches_the_review_chat_with_buttons(
    bot_with_review_chat: RunningBot, clean_db: asyncpg.Pool, tmp_path: Path
) -> None:
    user = bot_with_review_chat.emulator.user(9203, "Uma", language_code="en")
    await user.send_text("/start")
    await user.wait_for(timeout=10)
    image = generate_sample_memes(tmp_path, 1)[0].read_bytes()

    await user.send_photo(image, caption="my meme")
    reply = await user.wait_for(lambda m: "moderators" in (m.text or ""), timeout=10)

    posted = bot_with_review_chat.emulator.chat_messages(REVIEW_CHAT_ID)
    upload_id = await clean_db.fetchval("select id from app.meme_raw_upload where user_id = 9203")
    assert reply.text
    assert len(posted) == 1
    assert [b.callback_data for b in posted[0].buttons] == [f"m:a:{upload_id}", f"m:r:{upload_id}"]
