"""The ASGI app: the Bot API, file downloads, and the user-side control API under /_emulator."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from memefeed.telegram_emulator._bot_api import METHODS
from memefeed.telegram_emulator._errors import BotApiError
from memefeed.telegram_emulator._model import ApiCall, BotMessage
from memefeed.telegram_emulator._requests import ApiParams, parse_body
from memefeed.telegram_emulator._webhook import deliver_webhook_updates

if TYPE_CHECKING:
    from memefeed.telegram_emulator._emulator import TelegramEmulator

logger = logging.getLogger(__name__)

_NOT_FOUND = BotApiError(404, "Not Found")
_UNAUTHORIZED = BotApiError(401, "Unauthorized")


def _error_response(error: BotApiError) -> JSONResponse:
    return JSONResponse(error.to_api(), status_code=error.error_code)


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def bot_message_json(message: BotMessage) -> dict[str, Any]:
    data = dataclasses.asdict(message)
    data["photo_file_id"] = message.photo_file_id
    return data


def build_app(emulator: TelegramEmulator) -> Starlette:
    core = emulator._core

    async def bot_api(request: Request) -> Response:
        method = request.path_params["method"]
        started_at = time.time()
        started = time.perf_counter()
        params = ApiParams({})
        try:
            if request.path_params["token"] != core.token:
                raise _UNAUTHORIZED
            handler = METHODS.get(method.lower())
            if handler is None:
                raise _NOT_FOUND
            values: dict[str, Any] = dict(request.query_params)
            body_values, files = parse_body(
                await request.body(), request.headers.get("content-type", "")
            )
            values.update(body_values)
            params = ApiParams(values, files)
            response = _ok(await handler(core, params))
            error: BotApiError | None = None
        except BotApiError as api_error:
            error = api_error
            response = _error_response(api_error)
        except Exception:
            logger.exception("emulator failed on %s", method)
            error = BotApiError(500, "Internal Server Error")
            response = _error_response(error)
        core.record_api_call(
            ApiCall(
                method=method,
                http_method=request.method,
                params=params.summary(),
                started_at=started_at,
                duration_seconds=time.perf_counter() - started,
                ok=error is None,
                error_code=error.error_code if error else None,
                description=error.description if error else None,
            )
        )
        return response

    async def download_file(request: Request) -> Response:
        if request.path_params["token"] != core.token:
            return _error_response(_UNAUTHORIZED)
        found = core.file_content(request.path_params["file_path"])
        if found is None:
            return _error_response(_NOT_FOUND)
        data, mime_type = found
        return Response(data, media_type=mime_type)

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error_response(_NOT_FOUND)

    control = _ControlApi(emulator)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sender = asyncio.create_task(
            deliver_webhook_updates(
                core,
                attempts=emulator.webhook_attempts,
                retry_delay_seconds=emulator.webhook_retry_delay_seconds,
                request_timeout=emulator.webhook_timeout_seconds,
            ),
            name="telegram-emulator-webhook",
        )
        try:
            yield
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    return Starlette(
        routes=[
            Route("/bot{token}/{method}", bot_api, methods=["GET", "POST"]),
            Route("/file/bot{token}/{file_path:path}", download_file, methods=["GET"]),
            *control.routes(),
        ],
        exception_handlers={404: not_found, 405: not_found},
        lifespan=lifespan,
    )


ControlHandler = Callable[[Request], Awaitable[Any]]


class _ControlApi:
    """User-side actions over HTTP, so a simulation can run in another process.

    Every answer has the Bot API's envelope: {"ok": true, "result": ...} or ok=false with an
    error_code and description.
    """

    def __init__(self, emulator: TelegramEmulator) -> None:
        self._emulator = emulator

    def routes(self) -> list[Route]:
        def route(path: str, handler: ControlHandler, method: str) -> Route:
            return Route(f"/_emulator{path}", self._wrap(handler), methods=[method])

        return [
            route("/", self.describe, "GET"),
            route("/users/{user_id:int}/send_text", self.send_text, "POST"),
            route("/users/{user_id:int}/send_photo", self.send_photo, "POST"),
            route("/users/{user_id:int}/press", self.press, "POST"),
            route("/users/{user_id:int}/block", self.block, "POST"),
            route("/users/{user_id:int}/unblock", self.unblock, "POST"),
            route("/users/{user_id:int}/messages", self.messages, "GET"),
            route("/users/{user_id:int}/next_message", self.next_message, "GET"),
            route("/chats", self.create_chat, "POST"),
            route("/chats/{chat_id:int}/messages", self.chat_messages, "GET"),
            route("/callback_answers", self.callback_answers, "GET"),
            route("/api_calls", self.api_calls, "GET"),
        ]

    @staticmethod
    def _wrap(handler: ControlHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return _ok(await handler(request))
            except BotApiError as error:
                return _error_response(error)
            except LookupError as error:
                return _error_response(BotApiError(404, str(error).strip("'\"")))
            except (ValueError, KeyError, TypeError, RuntimeError) as error:
                return _error_response(BotApiError(400, str(error)))
            except TimeoutError as error:
                return _error_response(BotApiError(408, str(error)))

        return endpoint

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        body = await request.body()
        if not body:
            return {}
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("the request body must be a JSON object")
        return decoded

    async def _user(self, request: Request, body: dict[str, Any] | None = None) -> Any:
        user_id = int(request.path_params["user_id"])
        profile = {
            key: body[key]
            for key in ("first_name", "last_name", "username", "language_code")
            if body and body.get(key) is not None
        }
        if profile or user_id not in self._emulator.known_user_ids:
            return self._emulator.user(user_id, **profile)
        return self._emulator.user(user_id)

    async def describe(self, request: Request) -> Any:
        return {"bot": self._emulator._core.get_me(), "token_prefix": self._emulator.bot_id}

    async def send_text(self, request: Request) -> Any:
        body = await self._json(request)
        user = await self._user(request, body)
        message_id = await user.send_text(str(body["text"]), reply_to=body.get("reply_to"))
        return {"message_id": message_id}

    async def send_photo(self, request: Request) -> Any:
        body = await self._json(request)
        user = await self._user(request, body)
        try:
            photo = base64.b64decode(body["photo_base64"], validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValueError("photo_base64 is not valid base64") from error
        message_id = await user.send_photo(photo, caption=body.get("caption"))
        return {"message_id": message_id}

    async def press(self, request: Request) -> Any:
        body = await self._json(request)
        user = await self._user(request)
        query_id = await user.press(
            int(body["message_id"]),
            body.get("callback_data"),
            button_text=body.get("button_text"),
        )
        return {"callback_query_id": query_id}

    async def block(self, request: Request) -> Any:
        (await self._user(request)).block_bot()
        return True

    async def unblock(self, request: Request) -> Any:
        (await self._user(request)).unblock_bot()
        return True

    async def messages(self, request: Request) -> Any:
        user = await self._user(request)
        return [bot_message_json(message) for message in user.messages]

    async def next_message(self, request: Request) -> Any:
        user = await self._user(request)
        timeout = float(request.query_params.get("timeout", "5"))
        return bot_message_json(await user.next_bot_message(timeout=timeout))

    async def create_chat(self, request: Request) -> Any:
        body = await self._json(request)
        self._emulator.create_chat(
            int(body["chat_id"]),
            chat_type=body.get("type", "channel"),
            title=body.get("title"),
            username=body.get("username"),
        )
        return True

    async def chat_messages(self, request: Request) -> Any:
        chat_id = int(request.path_params["chat_id"])
        return [bot_message_json(message) for message in self._emulator.chat_messages(chat_id)]

    async def callback_answers(self, request: Request) -> Any:
        return [dataclasses.asdict(answer) for answer in self._emulator.callback_answers]

    async def api_calls(self, request: Request) -> Any:
        limit = int(request.query_params.get("limit", "100"))
        calls = self._emulator.api_calls[-limit:] if limit > 0 else []
        return [dataclasses.asdict(call) for call in calls]
