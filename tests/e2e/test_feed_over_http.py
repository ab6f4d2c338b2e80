"""The real PTB client over HTTP against the local Bot API emulator, on real servers."""

from __future__ import annotations

import asyncpg

from memefeed.simulation import meme_id_of
from memefeed.telegram_emulator import BotMessage
from tests.e2e.conftest import RunningBot
from tests.factories import count_rows

ONBOARDING_TABLES = ('"user"', "user_tg", "user_language", "user_deep_link_log")


def shows_meme(message: BotMessage) -> bool:
    return meme_id_of(message) is not None and message.photo_file_id is not None


async def test_start_gives_a_meme_with_buttons_and_a_like_gives_the_next(
    polling_bot: RunningBot, clean_db: asyncpg.Pool
) -> None:
    memes = await polling_bot.upload_memes(clean_db, 5)
    user = polling_bot.emulator.user(9001, "Ann", language_code="en")

    await user.send_text("/start")
    first = await user.wait_for(shows_meme, timeout=10)

    assert [button.callback_data for button in first.buttons] == [
        f"r:{meme_id_of(first)}:1",
        f"r:{meme_id_of(first)}:2",
    ]
    assert "start=s_9001_" in (first.caption_entities[0].get("url") or "")
    query_id = await user.press(first, f"r:{meme_id_of(first)}:1")
    second = await user.wait_for(shows_meme, timeout=10)
    answer = await polling_bot.emulator.wait_for_callback_answer(query_id)

    assert meme_id_of(second) != meme_id_of(first)
    assert second.message_id != first.message_id  # a like keeps the liked meme in the chat
    assert answer.text is None
    reaction = await clean_db.fetchval(
        "select reaction_id from app.user_meme_reaction where user_id = 9001 and meme_id = $1",
        meme_id_of(first),
    )
    assert reaction == 1
    assert {meme_id_of(first), meme_id_of(second)} <= set(memes)


async def test_a_dislike_swaps_the_meme_in_place(
    polling_bot: RunningBot, clean_db: asyncpg.Pool
) -> None:
    await polling_bot.upload_memes(clean_db, 4)
    user = polling_bot.emulator.user(9002, "Bob", language_code="en")
    await user.send_text("/start")
    first = await user.wait_for(shows_meme, timeout=10)

    await user.press(first, f"r:{meme_id_of(first)}:2")
    replaced = await user.wait_for(shows_meme, timeout=10)

    assert replaced.message_id == first.message_id
    assert replaced.change == "edited"
    assert meme_id_of(replaced) != meme_id_of(first)


async def test_a_second_start_by_the_same_user_creates_no_new_rows(
    polling_bot: RunningBot, clean_db: asyncpg.Pool
) -> None:
    await polling_bot.upload_memes(clean_db, 4)
    user = polling_bot.emulator.user(9003, "Вера", language_code="ru")
    await user.send_text("/start")
    await user.wait_for(shows_meme, timeout=10)
    before = [await count_rows(clean_db, table, 9003) for table in ONBOARDING_TABLES]

    await user.send_text("/start")
    await user.wait_for(shows_meme, timeout=10)

    after = [await count_rows(clean_db, table, 9003) for table in ONBOARDING_TABLES]
    assert after == before
    assert before == [1, 1, 1, 0]


async def test_the_feed_never_repeats_and_ends_only_when_nothing_unseen_is_left(
    polling_bot: RunningBot, clean_db: asyncpg.Pool
) -> None:
    memes = await polling_bot.upload_memes(clean_db, 6, language_code="ru")
    user = polling_bot.emulator.user(9004, "Ann", language_code="en")
    await user.send_text("/start")
    seen: list[int] = []
    message = await user.wait_for(shows_meme, timeout=10)
    while (meme_id := meme_id_of(message)) is not None:
        seen.append(meme_id)
        await user.press(message, f"r:{meme_id}:1")
        message = await user.wait_for(
            lambda m: shows_meme(m) or any(b.callback_data == "q:retry" for b in m.buttons),
            timeout=10,
        )

    # An English reader still gets every Russian meme before "memes ended".
    assert sorted(seen) == sorted(memes)
    assert message.buttons[0].callback_data == "q:retry"
