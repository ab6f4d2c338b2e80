"""The emulated Bot API as python-telegram-bot's Bot sees it over HTTP."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken

from memefeed.telegram_emulator import TelegramEmulator
from tests.emulator.conftest import TOKEN, image_bytes

STORAGE_CHANNEL_ID = -1001234567890


def like_keyboard(meme_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("👍", callback_data=f"like:{meme_id}"),
                InlineKeyboardButton("👎", callback_data=f"dislike:{meme_id}"),
            ]
        ]
    )


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 424242
    assert me.is_bot
    assert me.username == "memefeed_test_bot"


async def test_wrong_token_and_unknown_method_answer_like_telegram(
    emulator: TelegramEmulator,
) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("424242:wrong", base_url=emulator.api_base_url):
            pass
    async with httpx.AsyncClient() as client:
        unauthorized = await client.post(f"{emulator.api_base_url}424242:wrong/getMe")
        unknown = await client.post(f"{emulator.api_base_url}{TOKEN}/sendTelepathy")
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_requests_do_not_stall_on_delayed_acks(bot: Bot) -> None:
    # Without TCP_NODELAY on the emulator's connections each response waits ~40 ms for the
    # client's delayed ACK, which made a 40-user simulation fifteen times slower.
    started = time.monotonic()
    for _ in range(30):
        await bot.get_me()
    assert time.monotonic() - started < 0.6


async def test_method_names_are_case_insensitive_and_accept_json_and_get(
    emulator: TelegramEmulator,
) -> None:
    emulator.create_chat(STORAGE_CHANNEL_ID, title="storage")
    async with httpx.AsyncClient() as client:
        by_json = await client.post(
            f"{emulator.api_base_url}{TOKEN}/SENDMESSAGE",
            json={"chat_id": STORAGE_CHANNEL_ID, "text": "json body"},
        )
        by_query = await client.get(
            f"{emulator.api_base_url}{TOKEN}/sendMessage",
            params={"chat_id": str(STORAGE_CHANNEL_ID), "text": "query string"},
        )
    assert by_json.json()["result"]["text"] == "json body"
    assert by_query.json()["result"]["text"] == "query string"
    assert by_query.json()["result"]["sender_chat"]["type"] == "channel"


async def test_sending_to_unknown_chat_is_chat_not_found(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(987654, "hello?")


async def test_bot_cannot_write_first_and_blocked_user_is_forbidden(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    user = emulator.user(2001, "Bea")
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(user.chat_id, "unsolicited")
    await user.send_text("/start")
    await bot.send_message(user.chat_id, "welcome")
    user.block_bot()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(user.chat_id, "are you there?")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_photo(user.chat_id, image_bytes())
    assert [message.text for message in user.messages] == ["welcome"]


async def test_blocking_produces_my_chat_member_update(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    user = emulator.user(2002, "Cid")
    await user.send_text("hi")
    user.block_bot()
    updates = await bot.get_updates(timeout=0)
    assert [update.my_chat_member is not None for update in updates] == [False, True]
    member_update = updates[1].my_chat_member
    assert member_update is not None
    assert member_update.new_chat_member.status == "kicked"
    assert member_update.from_user.id == user.user_id


async def test_long_poll_waits_for_an_update_and_offset_confirms(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    user = emulator.user(2003, "Dee")

    async def send_later() -> None:
        await asyncio.sleep(0.3)
        await user.send_text("late message")

    started = time.monotonic()
    sender = asyncio.create_task(send_later())
    updates = await bot.get_updates(timeout=5)
    waited = time.monotonic() - started
    await sender
    assert [update.message.text for update in updates if update.message] == ["late message"]
    assert 0.25 <= waited < 3, "the long poll must return when the update arrives"

    # Without confirmation the update is served again; a higher offset confirms it.
    again = await bot.get_updates(timeout=0)
    assert [update.update_id for update in again] == [updates[0].update_id]
    confirmed = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
    assert confirmed == ()
    assert emulator.pending_update_count == 0

    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert time.monotonic() - started >= 0.9, "an empty long poll lasts its timeout"


async def test_allowed_updates_filters_new_updates(bot: Bot, emulator: TelegramEmulator) -> None:
    user = emulator.user(2004, "Eve")
    await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    await user.send_text("ignored by the filter")
    assert await bot.get_updates(timeout=0) == ()
    await bot.get_updates(timeout=0, allowed_updates=[])
    await user.send_text("seen again")
    updates = await bot.get_updates(timeout=0)
    assert [update.message.text for update in updates if update.message] == ["seen again"]


async def test_message_ids_increase_per_chat_and_dates_are_unix_seconds(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    first, second = emulator.user(2005, "Fay"), emulator.user(2006, "Gus")
    await first.send_text("/start")
    await second.send_text("/start")
    sent = [await bot.send_message(first.chat_id, f"to first {n}") for n in range(3)]
    other = await bot.send_message(second.chat_id, "to second")
    assert [message.message_id for message in sent] == [2, 3, 4]
    assert other.message_id == 2
    assert abs(sent[0].date.timestamp() - time.time()) < 5
    assert [message.date for message in first.messages] == [int(m.date.timestamp()) for m in sent]


async def test_send_photo_upload_then_resend_by_file_id(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    emulator.create_chat(STORAGE_CHANNEL_ID, title="meme storage")
    original = image_bytes(1200, 900, "green")
    stored = await bot.send_photo(STORAGE_CHANNEL_ID, original, caption="meme #1")
    sizes = stored.photo
    assert sizes[-1].width == 1200
    assert sizes[-1].height == 900
    assert [size.width for size in sizes] == sorted(size.width for size in sizes)
    assert len({size.file_id for size in sizes}) == len(sizes)
    assert stored.caption == "meme #1"

    largest = sizes[-1]
    downloaded = await (await bot.get_file(largest.file_id)).download_as_bytearray()
    assert bytes(downloaded) == original

    user = emulator.user(3001, "Hal")
    await user.send_text("/start")
    resent = await bot.send_photo(user.chat_id, largest.file_id)
    assert resent.photo[-1].file_id == largest.file_id
    assert resent.photo[-1].file_unique_id == largest.file_unique_id
    assert user.last_message is not None
    assert user.last_message.photo_file_id == largest.file_id
    assert emulator.chat_messages(STORAGE_CHANNEL_ID)[0].caption == "meme #1"


async def test_same_content_keeps_its_unique_id(bot: Bot, emulator: TelegramEmulator) -> None:
    emulator.create_chat(STORAGE_CHANNEL_ID)
    picture = image_bytes(300, 200, "blue")
    first = await bot.send_photo(STORAGE_CHANNEL_ID, picture)
    second = await bot.send_photo(STORAGE_CHANNEL_ID, picture)
    different = await bot.send_photo(STORAGE_CHANNEL_ID, image_bytes(300, 200, "yellow"))
    assert first.photo[-1].file_unique_id == second.photo[-1].file_unique_id
    assert first.photo[-1].file_id != second.photo[-1].file_id
    assert different.photo[-1].file_unique_id != first.photo[-1].file_unique_id


async def test_unknown_file_id_and_broken_image_are_bad_requests(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    emulator.create_chat(STORAGE_CHANNEL_ID)
    with pytest.raises(BadRequest, match="Wrong file identifier/http url specified"):
        await bot.send_photo(STORAGE_CHANNEL_ID, "AgACdoesnotexist")
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(STORAGE_CHANNEL_ID, b"definitely not an image")
    assert emulator.chat_messages(STORAGE_CHANNEL_ID) == []


async def test_text_and_caption_length_limits(bot: Bot, emulator: TelegramEmulator) -> None:
    user = emulator.user(3002, "Ida")
    await user.send_text("/start")
    await bot.send_message(user.chat_id, "x" * 4096)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(user.chat_id, "x" * 4097)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(user.chat_id, image_bytes(), caption="c" * 1025)
    # Markup does not count: the limit applies to the text after entity parsing.
    await bot.send_message(user.chat_id, "<b>" + "y" * 4096 + "</b>", parse_mode="HTML")
    assert len(user.messages) == 2


async def test_parse_mode_produces_entities_and_rejects_bad_markup(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    user = emulator.user(3003, "Jo")
    await user.send_text("/start")
    sent = await bot.send_message(
        user.chat_id, "<b>Top</b> meme &amp; <i>more</i>", parse_mode="HTML"
    )
    assert sent.text == "Top meme & more"
    assert [(entity.type, entity.offset, entity.length) for entity in sent.entities] == [
        ("bold", 0, 3),
        ("italic", 11, 4),
    ]
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(user.chat_id, "1 < 2 <b>unclosed", parse_mode="HTML")
    with pytest.raises(BadRequest, match="reserved and must be escaped"):
        await bot.send_message(user.chat_id, "Version 1.0!", parse_mode="MarkdownV2")
    escaped = await bot.send_message(user.chat_id, r"*Version* 1\.0\!", parse_mode="MarkdownV2")
    assert escaped.text == "Version 1.0!"


async def test_edit_message_media_replaces_the_photo(bot: Bot, emulator: TelegramEmulator) -> None:
    user = emulator.user(3004, "Kim")
    await user.send_text("/start")
    first = await bot.send_photo(
        user.chat_id, image_bytes(400, 300, "red"), caption="meme 1", reply_markup=like_keyboard(1)
    )
    edited = await bot.edit_message_media(
        chat_id=user.chat_id,
        message_id=first.message_id,
        media=InputMediaPhoto(image_bytes(500, 500, "purple"), caption="meme 2"),
        reply_markup=like_keyboard(2),
    )
    assert not isinstance(edited, bool)
    assert edited.photo[-1].width == 500
    assert edited.edit_date is not None
    shown = user.messages[-1]
    assert shown.photo_file_id == edited.photo[-1].file_id
    assert shown.photo_file_id != first.photo[-1].file_id
    assert shown.caption == "meme 2"
    assert shown.revision == 1
    assert shown.button("👍").callback_data == "like:2"

    # By file id, and an identical edit is refused as Telegram refuses it.
    by_file_id = InputMediaPhoto(first.photo[-1].file_id, caption="meme 1 again")
    await bot.edit_message_media(by_file_id, chat_id=user.chat_id, message_id=first.message_id)
    assert user.messages[-1].photo_file_id == first.photo[-1].file_id
    assert user.messages[-1].buttons == (), "an edit without reply_markup drops the keyboard"
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_media(by_file_id, chat_id=user.chat_id, message_id=first.message_id)


async def test_edit_caption_text_markup_and_delete(bot: Bot, emulator: TelegramEmulator) -> None:
    user = emulator.user(3005, "Lou")
    await user.send_text("/start")
    photo = await bot.send_photo(user.chat_id, image_bytes(), caption="before")
    await bot.edit_message_caption(
        chat_id=user.chat_id, message_id=photo.message_id, caption="after"
    )
    text = await bot.send_message(user.chat_id, "menu", reply_markup=like_keyboard(7))
    await bot.edit_message_reply_markup(
        chat_id=user.chat_id, message_id=text.message_id, reply_markup=like_keyboard(8)
    )
    await bot.edit_message_text("menu v2", chat_id=user.chat_id, message_id=text.message_id)
    with pytest.raises(BadRequest, match="There is no text in the message to edit"):
        await bot.edit_message_text("nope", chat_id=user.chat_id, message_id=photo.message_id)
    assert await bot.delete_message(user.chat_id, photo.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(user.chat_id, photo.message_id)

    by_id = {message.message_id: message for message in user.messages}
    assert by_id[photo.message_id].caption == "after"
    assert by_id[photo.message_id].deleted
    assert by_id[text.message_id].text == "menu v2"
    assert by_id[text.message_id].revision == 2
    assert by_id[text.message_id].buttons == ()
    assert [m.message_id for m in user.visible_messages] == [text.message_id]


async def test_answer_callback_query_is_recorded_once(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    user = emulator.user(3006, "Max")
    await user.send_text("/start")
    menu = await bot.send_message(user.chat_id, "rate", reply_markup=like_keyboard(3))
    query_id = await user.press(user.messages[-1], "like:3")
    updates = await bot.get_updates(timeout=0)
    query = updates[-1].callback_query
    assert query is not None
    assert query.id == query_id
    assert query.data == "like:3"
    assert query.message is not None
    assert query.message.message_id == menu.message_id
    assert query.chat_instance

    assert await bot.answer_callback_query(query_id, text="Liked!", show_alert=True)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id, text="twice")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("no-such-query")
    [answer] = emulator.callback_answers
    assert (answer.callback_query_id, answer.text, answer.show_alert) == (query_id, "Liked!", True)
    with pytest.raises(LookupError, match="no button"):
        await user.press(menu.message_id, "not-on-the-keyboard")


async def test_commands_files_chats_and_webhook_info(bot: Bot, emulator: TelegramEmulator) -> None:
    assert await bot.set_my_commands([("start", "Start the feed"), ("help", "How it works")])
    assert [command.command for command in await bot.get_my_commands()] == ["start", "help"]
    assert await bot.get_my_commands(language_code="ru") == ()
    with pytest.raises(BadRequest):
        await bot.set_my_commands([("Bad Command!", "nope")])

    user = emulator.user(3007, "Ned", username="ned", language_code="ru")
    await user.send_text("/start")
    chat = await bot.get_chat(user.chat_id)
    assert (chat.type, chat.first_name, chat.username) == ("private", "Ned", "ned")
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("", 1)
    calls = emulator.api_calls_to("getMe")
    assert calls
    assert calls[0].ok
    assert calls[0].duration_seconds >= 0


async def test_getupdates_conflicts_with_webhook(bot: Bot, emulator: TelegramEmulator) -> None:
    await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    with pytest.raises(BadRequest, match="loopback"):
        await bot.set_webhook("https://example.com/hook")
    await emulator.user(4001, "Vic").send_text("queued while the webhook was down")
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == ()


async def test_waiting_reads_bot_changes_in_order_and_timeouts_consume_nothing(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    user = emulator.user(4002, "Wes")
    await user.send_text("/start")
    first = await bot.send_message(user.chat_id, "first")
    await bot.edit_message_text("first, edited", chat_id=user.chat_id, message_id=first.message_id)
    second = await bot.send_message(user.chat_id, "second")
    await bot.delete_message(user.chat_id, second.message_id)

    with pytest.raises(TimeoutError):
        await user.wait_for(lambda message: message.text == "never sent", timeout=0.2)
    assert user.unread_count == 4
    assert (await user.next_bot_message(timeout=1)).text == "first"
    edited = await user.next_bot_message(timeout=1)
    assert (edited.change, edited.text, edited.revision) == ("edited", "first, edited", 1)
    deletion = await user.wait_for(lambda message: message.deleted, timeout=1)
    assert deletion.message_id == second.message_id
    assert user.unread_count == 0
    assert user.last_message is not None
    assert user.last_message.text == "first, edited"
