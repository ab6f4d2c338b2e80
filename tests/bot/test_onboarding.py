"""/start, branch by branch: the rows it writes and what the user sees (DESIGN.md lessons 1-2)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from telegram.ext import Application

from bot.onboarding import TelegramProfile, language_signal_is_clear, languages_from_profile
from memefeed.recording_request import RecordingRequest
from tests.bot.helpers import markup_of, sent_meme_ids, texts_sent
from tests.bot.updates import command_update, tg_user
from tests.factories import create_memes


async def _rows(pool: asyncpg.Pool, user_id: int) -> dict[str, Any]:
    user = await pool.fetchrow('select * from app."user" where id = $1', user_id)
    user_tg = await pool.fetchrow("select * from app.user_tg where id = $1", user_id)
    languages = await pool.fetch(
        "select language_code from app.user_language where user_id = $1 order by 1", user_id
    )
    deep_links = await pool.fetch(
        "select deep_link from app.user_deep_link_log where user_id = $1 order by id", user_id
    )
    return {
        "user": user,
        "user_tg": user_tg,
        "languages": [row["language_code"] for row in languages],
        "deep_links": [row["deep_link"] for row in deep_links],
    }


@pytest.mark.parametrize(
    ("first_name", "language_code", "languages", "clear"),
    [
        ("Иван", "en", ["ru", "en"], True),
        ("Olga", "uk", ["ru", "uk"], True),
        ("Carmen", "es-ES", ["es"], True),
        ("Alice", "en", ["en"], False),
        ("Bob", None, ["en"], False),
    ],
)
def test_languages_come_from_the_name_script_and_the_telegram_locale(
    first_name: str, language_code: str | None, languages: list[str], clear: bool
) -> None:
    profile = TelegramProfile(user_id=1, first_name=first_name, language_code=language_code)
    assert languages_from_profile(profile) == languages
    assert language_signal_is_clear(profile) is clear


async def test_start_without_payload_creates_every_row_and_sends_the_first_meme(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    await create_memes(clean_db, 3)

    await bot_app.process_update(command_update(bot_app.bot, tg_user(601, "Дима", "ru"), "/start"))

    rows = await _rows(clean_db, 601)
    assert rows["user"] is not None
    assert rows["user_tg"]["first_name"] == "Дима"
    assert rows["user_tg"]["deep_link"] is None
    assert rows["languages"] == ["ru"]
    assert rows["deep_links"] == []
    assert len(sent_meme_ids(recording_request, 601)) == 1
    # A clear signal (Cyrillic name): no language picker.
    assert not any("l:" in str(call.params) for call in recording_request.calls_to("sendMessage"))


async def test_an_unclear_language_gets_a_one_tap_picker_and_the_meme_all_the_same(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    await create_memes(clean_db, 3)

    await bot_app.process_update(
        command_update(bot_app.bot, tg_user(602, "Alice", "en"), "/start")
    )

    pickers = [
        call
        for call in recording_request.calls_to("sendMessage")
        if markup_of(call.params).get("inline_keyboard", [[{}]])[0][0].get("callback_data", "")
        == "l:en"
    ]
    assert len(pickers) == 1
    assert len(sent_meme_ids(recording_request, 602)) == 1
    assert (await _rows(clean_db, 602))["languages"] == ["en"]


async def test_a_share_link_shows_the_shared_meme_first_and_records_the_inviter(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    memes = await create_memes(clean_db, 5)
    await bot_app.process_update(command_update(bot_app.bot, tg_user(603), "/start"))
    shared = memes[2]

    link = f"s_603_{shared}"
    await bot_app.process_update(command_update(bot_app.bot, tg_user(604), f"/start {link}"))

    rows = await _rows(clean_db, 604)
    assert rows["user"]["inviter_id"] == 603
    assert rows["user_tg"]["deep_link"] == link
    assert rows["deep_links"] == [link]
    assert sent_meme_ids(recording_request, 604)[0] == shared


async def test_a_self_invite_is_not_recorded(bot_app: Application, clean_db: asyncpg.Pool) -> None:
    memes = await create_memes(clean_db, 2)

    await bot_app.process_update(
        command_update(bot_app.bot, tg_user(605), f"/start s_605_{memes[0]}")
    )

    rows = await _rows(clean_db, 605)
    assert rows["user"]["inviter_id"] is None
    assert rows["deep_links"] == [f"s_605_{memes[0]}"]


async def test_an_unknown_payload_is_logged_and_never_breaks_onboarding(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    await create_memes(clean_db, 2)
    payload = "campaign_" + "x" * 55  # 64 characters, Telegram's maximum

    await bot_app.process_update(command_update(bot_app.bot, tg_user(606), f"/start {payload}"))
    await bot_app.process_update(
        command_update(bot_app.bot, tg_user(607), "/start s_notanumber_1'; drop table x;--")
    )

    assert (await _rows(clean_db, 606))["deep_links"] == [payload]
    assert (await _rows(clean_db, 607))["deep_links"] == ["s_notanumber_1';"]
    assert len(sent_meme_ids(recording_request, 606)) == 1
    assert len(sent_meme_ids(recording_request, 607)) == 1


async def test_a_user_whose_language_rows_went_missing_is_repaired_on_start(
    bot_app: Application, clean_db: asyncpg.Pool
) -> None:
    await create_memes(clean_db, 3)
    user = tg_user(608, "Пётр", "ru")
    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))
    await clean_db.execute("delete from app.user_language where user_id = 608")

    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))

    assert (await _rows(clean_db, 608))["languages"] == ["ru"]


async def test_fifty_concurrent_starts_for_one_new_user_give_one_row_and_no_error(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    await create_memes(clean_db, 60)
    user = tg_user(609, "Zoe", "de")
    errors: list[BaseException] = []
    bot_app.add_error_handler(lambda update, context: _record(errors, context.error))

    await asyncio.gather(
        *(bot_app.process_update(command_update(bot_app.bot, user, "/start")) for _ in range(50))
    )

    rows = await _rows(clean_db, 609)
    assert rows["user"] is not None
    assert rows["languages"] == ["de"]
    assert errors == []
    delivered = sent_meme_ids(recording_request, 609)
    assert len(delivered) == len(set(delivered)) == 50


async def _record(errors: list[BaseException], error: BaseException | None) -> None:
    if error is not None:
        errors.append(error)


async def test_a_blocked_user_is_marked_and_start_clears_it(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    await create_memes(clean_db, 3)
    user = tg_user(610)
    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))
    recording_request.blocked_chat_ids.add(610)

    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))

    assert (await _rows(clean_db, 610))["user"]["blocked_bot_at"] is not None
    recording_request.blocked_chat_ids.clear()
    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))
    assert (await _rows(clean_db, 610))["user"]["blocked_bot_at"] is None
    assert texts_sent(recording_request, 610)  # the welcome went out before the block
