"""A local emulator of Telegram's Bot API, for end-to-end runs of memefeed without Telegram.

The real python-telegram-bot client talks to it over HTTP (``base_url`` / ``base_file_url``),
while code in the same process plays Telegram users::

    emulator = TelegramEmulator(token)
    async with emulator.serve() as urls:
        app = (
            Application.builder()
            .token(token)
            .base_url(urls.api_base_url)
            .base_file_url(urls.file_base_url)
            .build()
        )
        user = emulator.user(1001, first_name="Ann", language_code="en")
        await user.send_text("/start")
        reply = await user.next_bot_message(timeout=5)

Synchronous callers use ``emulator.start_in_thread()`` instead, which serves from a background
thread and runs user coroutines there with ``runner.run(...)``. The same user actions are
offered over HTTP under ``/_emulator/`` for other processes.
"""

from memefeed.telegram_emulator._emulator import DEFAULT_TOKEN, EmulatorThread, TelegramEmulator
from memefeed.telegram_emulator._errors import BotApiError
from memefeed.telegram_emulator._model import (
    ApiCall,
    BotMessage,
    CallbackAnswer,
    EmulatorUrls,
    InlineButton,
    PhotoSize,
    UserProfile,
)
from memefeed.telegram_emulator._users import SimulatedUser
from memefeed.telegram_emulator._webhook import SECRET_TOKEN_HEADER

__all__ = [
    "DEFAULT_TOKEN",
    "SECRET_TOKEN_HEADER",
    "ApiCall",
    "BotApiError",
    "BotMessage",
    "CallbackAnswer",
    "EmulatorThread",
    "EmulatorUrls",
    "InlineButton",
    "PhotoSize",
    "SimulatedUser",
    "TelegramEmulator",
    "UserProfile",
]
