"""A PTB request class that answers the Bot API in process and records every call.

Used to run the real Application with `process_update` and no network: in tests, and in the hot
path benchmark where the network would only add noise.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 1000001, "is_bot": True, "first_name": "memefeed", "username": "memefeed_bot"}


@dataclass
class RecordedCall:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)


class RecordingRequest(BaseRequest):
    """Answers like Telegram would for the methods the bot uses; remembers each call."""

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []
        # Chats whose user blocked the bot: sends there fail with 403 as on Telegram.
        self.blocked_chat_ids: set[int] = set()
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data is not None else {}
        self.calls.append(RecordedCall(api_method, params))
        if (
            api_method.startswith("send")
            and int(params.get("chat_id", 0)) in self.blocked_chat_ids
        ):
            return 403, json.dumps(
                {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user",
                }
            ).encode()
        result = self._result_for(api_method, params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _result_for(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in {"sendMessage", "sendPhoto"}:
            return self._message(params)
        if method in {"editMessageMedia", "editMessageText", "editMessageCaption"}:
            return self._message(params, message_id=int(params.get("message_id", 0)))
        return True

    def _message(self, params: dict[str, Any], message_id: int | None = None) -> dict[str, Any]:
        chat_id = int(params.get("chat_id", 0))
        message: dict[str, Any] = {
            "message_id": message_id or next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "user"},
            "from": BOT_USER,
        }
        if "text" in params:
            message["text"] = params["text"]
        photo = params.get("photo") or (params.get("media") or {})
        if photo:
            file_id = photo if isinstance(photo, str) else f"uploaded-{next(self._file_ids)}"
            message["photo"] = [
                {"file_id": file_id, "file_unique_id": file_id[:32], "width": 512, "height": 512}
            ]
        if "reply_markup" in params:
            markup = params["reply_markup"]
            message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        return message
