"""Bot API calls of the feed's hot path, made without PTB's object model.

PTB turns each result into a `Message` (and each keyboard and media into objects that are
serialised again); that was about a third of the bot's CPU per reaction in
`benchmarks/hot_path`, and the feed never reads those results. These calls post plain JSON
values through the same `Bot._post` the public methods use, so the rate limiter, the request
class and PTB's errors (`Forbidden`, `BadRequest`, `TimedOut`, ...) all still apply.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot
from telegram.constants import ParseMode

JSONDict = dict[str, Any]


async def send_photo(
    bot: Bot, chat_id: int, photo: str, *, caption: str, reply_markup: JSONDict
) -> JSONDict:
    """sendPhoto by file id with an HTML caption; returns the raw Message JSON."""
    result: JSONDict = await bot._post(
        "sendPhoto",
        {
            "chat_id": chat_id,
            "photo": photo,
            "caption": caption,
            "parse_mode": ParseMode.HTML.value,
            "reply_markup": reply_markup,
        },
    )
    return result


async def replace_photo(
    bot: Bot, chat_id: int, message_id: int, photo: str, *, caption: str, reply_markup: JSONDict
) -> JSONDict | bool:
    """editMessageMedia: swap a message's photo, caption and buttons in place."""
    result: JSONDict | bool = await bot._post(
        "editMessageMedia",
        {
            "chat_id": chat_id,
            "message_id": message_id,
            "media": {
                "type": "photo",
                "media": photo,
                "caption": caption,
                "parse_mode": ParseMode.HTML.value,
            },
            "reply_markup": reply_markup,
        },
    )
    return result


async def answer_callback_query(bot: Bot, callback_query_id: str) -> None:
    """Stop the button's spinner; the result (always true) is not worth parsing."""
    await bot._post("answerCallbackQuery", {"callback_query_id": callback_query_id})
