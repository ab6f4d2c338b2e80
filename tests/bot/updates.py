"""Update factories in the shape Telegram sends them."""

from __future__ import annotations

import itertools
import time
from typing import Any

from telegram import Bot, Update

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


def tg_user(
    user_id: int, first_name: str = "Alice", language_code: str | None = "en", **extra: Any
) -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "language_code": language_code,
        **extra,
    }


def command_update(bot: Bot, user: dict[str, Any], text: str) -> Update:
    command = text.split()[0]
    data = {
        "update_id": next(_update_ids),
        "message": {
            "message_id": next(_message_ids),
            "date": int(time.time()),
            "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }
    return Update.de_json(data, bot)


def callback_update(
    bot: Bot, user: dict[str, Any], data: str, *, message_id: int = 1, with_photo: bool = True
) -> Update:
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
        "from": {"id": 1000001, "is_bot": True, "first_name": "memefeed"},
    }
    if with_photo:
        message["photo"] = [{"file_id": "x", "file_unique_id": "x", "width": 1, "height": 1}]
    return Update.de_json(
        {
            "update_id": next(_update_ids),
            "callback_query": {
                "id": str(next(_update_ids)),
                "from": user,
                "chat_instance": str(user["id"]),
                "data": data,
                "message": message,
            },
        },
        bot,
    )
