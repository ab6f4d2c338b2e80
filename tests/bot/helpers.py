"""Reading what the bot sent through the recording request."""

from __future__ import annotations

import json
from typing import Any

from memefeed.recording_request import RecordingRequest


def markup_of(params: dict[str, Any]) -> dict[str, Any]:
    markup = params.get("reply_markup") or {}
    return json.loads(markup) if isinstance(markup, str) else markup


def sent_meme_ids(request: RecordingRequest, chat_id: int | None = None) -> list[int]:
    """Memes delivered (sent or swapped in), read from their like buttons, in order."""
    ids = []
    for call in request.calls:
        if call.method not in {"sendPhoto", "editMessageMedia"}:
            continue
        if chat_id is not None and int(call.params["chat_id"]) != chat_id:
            continue
        data = markup_of(call.params)["inline_keyboard"][0][0]["callback_data"]
        if data.startswith("r:"):
            ids.append(int(data.split(":")[1]))
    return ids


def texts_sent(request: RecordingRequest, chat_id: int) -> list[str]:
    return [
        call.params["text"]
        for call in request.calls_to("sendMessage")
        if int(call.params["chat_id"]) == chat_id
    ]
