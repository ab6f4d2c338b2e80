"""A real python-telegram-bot Application driven by simulated users through the emulator."""

from __future__ import annotations

import asyncio

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from memefeed.telegram_emulator import TelegramEmulator
from tests.emulator.conftest import image_bytes, polling_application


async def echo_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    assert update.effective_user is not None
    payload = " ".join(context.args or []) or "nothing"
    await update.effective_message.reply_text(
        f"hello {update.effective_user.first_name}, payload={payload}",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("👍", callback_data="like:1")]]),
    )


async def rate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(text=f"got {query.data}")
    await query.edit_message_text(f"rated {query.data}")


async def test_start_command_reaches_the_handler_and_reply_shows_up(
    emulator: TelegramEmulator,
) -> None:
    user = emulator.user(5001, "Olga", language_code="ru", username="olga")
    async with polling_application(emulator, CommandHandler("start", echo_start)):
        await user.send_text("/start src_reddit")
        reply = await user.next_bot_message(timeout=5)
    assert reply.text == "hello Olga, payload=src_reddit"
    assert reply.change == "sent"
    assert [message.text for message in user.messages] == [reply.text]
    assert emulator.pending_update_count == 0


async def test_button_press_runs_callback_handler_and_answer_is_recorded(
    emulator: TelegramEmulator,
) -> None:
    user = emulator.user(5002, "Pia")
    async with polling_application(
        emulator, CommandHandler("start", echo_start), CallbackQueryHandler(rate)
    ):
        await user.send_text("/start")
        menu = await user.next_bot_message(timeout=5)
        query_id = await user.press(menu, button_text="👍")
        answer = await emulator.wait_for_callback_answer(query_id, timeout=5)
        edited = await user.wait_for(lambda message: message.change == "edited", timeout=5)
    assert answer.text == "got like:1"
    assert answer.callback_data == "like:1"
    assert answer.latency_seconds >= 0
    assert edited.message_id == menu.message_id
    assert edited.text == "rated like:1"
    assert edited.buttons == ()


async def test_user_photo_reaches_the_bot_which_downloads_it(emulator: TelegramEmulator) -> None:
    received: list[bytes] = []

    async def keep_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        photo_file = await update.message.photo[-1].get_file()
        received.append(bytes(await photo_file.download_as_bytearray()))
        await update.message.reply_text(f"thanks for {update.message.caption}")

    user = emulator.user(5003, "Quinn")
    picture = image_bytes(800, 800, "orange", image_format="PNG")
    async with polling_application(emulator, MessageHandler(filters.PHOTO, keep_photo)):
        await user.send_photo(picture, caption="my meme")
        reply = await user.next_bot_message(timeout=5)
    assert received == [picture]
    assert reply.text == "thanks for my meme"


async def test_many_users_at_once_each_get_their_own_reply(emulator: TelegramEmulator) -> None:
    users = [emulator.user(6000 + n, f"User{n}") for n in range(40)]

    async def converse(user_index: int) -> list[str]:
        user = users[user_index]
        texts = []
        for round_number in range(3):
            await user.send_text(f"/start r{round_number}")
            texts.append((await user.next_bot_message(timeout=15)).text or "")
        return texts

    async with polling_application(emulator, CommandHandler("start", echo_start)):
        conversations = await asyncio.gather(*(converse(n) for n in range(len(users))))
    for index, texts in enumerate(conversations):
        assert texts == [f"hello User{index}, payload=r{r}" for r in range(3)]
        assert [message.message_id for message in users[index].messages] == [2, 4, 6]
