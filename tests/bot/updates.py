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


def photo_update(bot: Bot, user: dict[str, Any], *, caption: str | None = None) -> Update:
    message_id = next(_message_ids)
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
        "from": user,
        "photo": [
            {
                "file_id": f"small-{message_id}",
                "file_unique_id": f"s{message_id}",
                "width": 90,
                "height": 90,
            },
            {
                "file_id": f"photo-{message_id}",
                "file_unique_id": f"p{message_id}",
                "width": 800,
                "height": 800,
            },
        ],
    }
    if caption:
        message["caption"] = caption
    return Update.de_json({"update_id": next(_update_ids), "message": message}, bot)


def document_update(bot: Bot, user: dict[str, Any]) -> Update:
    message = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
        "from": user,
        "document": {"file_id": "doc", "file_unique_id": "doc", "file_name": "meme.exe"},
    }
    return Update.de_json({"update_id": next(_update_ids), "message": message}, bot)


def my_chat_member_update(bot: Bot, user: dict[str, Any], status: str) -> Update:
    bot_user = {"id": 1000001, "is_bot": True, "first_name": "memefeed"}
    old = "member" if status == "kicked" else "kicked"
    return Update.de_json(
        {
            "update_id": next(_update_ids),
            "my_chat_member": {
                "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
                "from": user,
                "date": int(time.time()),
                "old_chat_member": {"user": bot_user, "status": old, "until_date": 0},
                "new_chat_member": {"user": bot_user, "status": status, "until_date": 0},
            },
        },
        bot,
    )
