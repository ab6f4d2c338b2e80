"""TelegramEmulator: one emulated bot, its HTTP server, and the simulated users around it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import uvicorn
from starlette.applications import Starlette

from memefeed.telegram_emulator._app import build_app
from memefeed.telegram_emulator._bot_api import is_loopback_host
from memefeed.telegram_emulator._core import EmulatorCore
from memefeed.telegram_emulator._model import (
    ApiCall,
    BotMessage,
    CallbackAnswer,
    EmulatorUrls,
    UserProfile,
)
from memefeed.telegram_emulator._users import SimulatedUser

ResultT = TypeVar("ResultT")

DEFAULT_TOKEN = "123456789:EMULATOR-memefeed-test-token-AAAAAAAAAA"
_DEFAULT_BOT_ID = 123456789
_STARTUP_TIMEOUT_SECONDS = 10.0


def _bot_id_from_token(token: str) -> int:
    # Real tokens are "<bot id>:<secret>"; getMe's id is that prefix.
    prefix = token.split(":", 1)[0]
    return int(prefix) if prefix.isdigit() else _DEFAULT_BOT_ID


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without signal handling: an emulator inside a host must not take its Ctrl+C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class TelegramEmulator:
    """A local stand-in for Telegram's Bot API for one bot token.

    Serve it with ``async with emulator.serve() as urls`` (in the running loop) or
    ``emulator.start_in_thread()`` (own thread and loop), point python-telegram-bot at
    ``urls.api_base_url`` / ``urls.file_base_url``, and act as users with ``emulator.user()``.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "memefeed_bot",
        bot_first_name: str = "Memefeed",
        clock: Callable[[], float] = time.time,
        webhook_attempts: int = 3,
        webhook_retry_delay_seconds: float = 0.2,
        webhook_timeout_seconds: float = 10.0,
        api_call_log_limit: int | None = 100_000,
    ) -> None:
        if not token or "/" in token:
            raise ValueError("the token must be non-empty and contain no '/'")
        self.token = token
        self.bot_id = _bot_id_from_token(token)
        self.webhook_attempts = max(1, webhook_attempts)
        self.webhook_retry_delay_seconds = webhook_retry_delay_seconds
        self.webhook_timeout_seconds = webhook_timeout_seconds
        self._core = EmulatorCore(
            token=token,
            bot_id=self.bot_id,
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            clock=clock,
            api_call_log_limit=api_call_log_limit,
        )
        self._users: dict[int, SimulatedUser] = {}
        self._users_lock = threading.Lock()
        self._app: Starlette | None = None
        self._urls: EmulatorUrls | None = None

    # --- the HTTP side ---------------------------------------------------------------------

    @property
    def app(self) -> Starlette:
        """The ASGI app; its lifespan runs the webhook sender."""
        if self._app is None:
            self._app = build_app(self)
        return self._app

    @property
    def urls(self) -> EmulatorUrls:
        if self._urls is None:
            raise RuntimeError("the emulator is not serving; use serve() or start_in_thread()")
        return self._urls

    @property
    def api_base_url(self) -> str:
        """For ``Application.builder().base_url(...)``: the token is appended by PTB."""
        return self.urls.api_base_url

    @property
    def file_base_url(self) -> str:
        """For ``Application.builder().base_file_url(...)``."""
        return self.urls.file_base_url

    @contextlib.asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[EmulatorUrls]:
        """Run the HTTP server in the current event loop while the block runs."""
        if not is_loopback_host(host):
            raise ValueError(f"the emulator listens on loopback addresses only, not {host!r}")
        if self._urls is not None:
            raise RuntimeError("this emulator is already serving")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP must be explicit: asyncio sets TCP_NODELAY on accepted connections only
        # when the socket says it is TCP, and without it every response stalls ~40 ms on
        # Nagle's algorithm meeting the client's delayed ACK.
        listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        bound_port = listener.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=3,
        )
        server = _EmbeddedServer(config)
        self._core.shut_down_polls(False)
        serving = asyncio.create_task(server.serve(sockets=[listener]), name="telegram-emulator")
        try:
            deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
            while not server.started:
                if serving.done():
                    serving.result()
                    raise RuntimeError("the emulator's HTTP server stopped during startup")
                if time.monotonic() > deadline:
                    raise RuntimeError("the emulator's HTTP server did not start in time")
                await asyncio.sleep(0.005)
            url_host = f"[{host}]" if family == socket.AF_INET6 else host
            root = f"http://{url_host}:{bound_port}"
            self._urls = EmulatorUrls(
                api_base_url=f"{root}/bot",
                file_base_url=f"{root}/file/bot",
                control_url=f"{root}/_emulator",
                port=bound_port,
            )
            yield self._urls
        finally:
            self._urls = None
            # Long polls would otherwise hold uvicorn's graceful shutdown for their timeout.
            self._core.shut_down_polls(True)
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await serving
            listener.close()

    def start_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> EmulatorThread:
        """Serve from a background thread with its own loop, for synchronous callers."""
        runner = EmulatorThread(self, host, port)
        runner.start()
        return runner

    @contextlib.contextmanager
    def serve_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[EmulatorThread]:
        runner = self.start_in_thread(host, port)
        try:
            yield runner
        finally:
            runner.stop()

    # --- the Telegram world ----------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        is_premium: bool = False,
    ) -> SimulatedUser:
        """The simulated user with this id, created on first use.

        Calling it again returns the same object; profile fields given then replace the old.
        """
        if user_id <= 0:
            raise ValueError("user ids are positive; negative ids belong to groups and channels")
        with self._users_lock:
            existing = self._users.get(user_id)
            wants_update = any(
                value is not None for value in (first_name, last_name, username, language_code)
            )
            if existing is not None and not wants_update and not is_premium:
                return existing
            profile = UserProfile(
                user_id=user_id,
                first_name=first_name
                or (existing.profile.first_name if existing else f"User {user_id}"),
                last_name=last_name,
                username=username,
                language_code=language_code,
                is_premium=is_premium,
            )
            if existing is not None:
                existing._update_profile(profile)
                return existing
            self._core.register_user(profile)
            user = SimulatedUser(self._core, profile)
            self._users[user_id] = user
            return user

    @property
    def known_user_ids(self) -> frozenset[int]:
        with self._users_lock:
            return frozenset(self._users)

    def create_chat(
        self,
        chat_id: int,
        *,
        chat_type: str = "channel",
        title: str | None = None,
        username: str | None = None,
    ) -> None:
        """Make a channel or group the bot can post to (e.g. the meme storage channel)."""
        self._core.create_chat(chat_id, chat_type=chat_type, title=title, username=username)

    def chat_messages(self, chat_id: int) -> list[BotMessage]:
        """What the bot posted to any chat, as it looks now."""
        return self._core.bot_messages(chat_id)

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """Every answerCallbackQuery so far, oldest first."""
        return self._core.callback_answers()

    async def wait_for_callback_answer(
        self,
        callback_query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - simulations state their patience in seconds
    ) -> CallbackAnswer:
        answer = await self._core.callback_answers_changed.wait_for(
            lambda: self._core.callback_answer(callback_query_id), timeout
        )
        if answer is None:
            raise TimeoutError(f"callback query {callback_query_id} not answered in {timeout}s")
        return answer

    @property
    def api_calls(self) -> list[ApiCall]:
        """Every Bot API request served (up to the log limit), oldest first."""
        return self._core.api_calls()

    def api_calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.api_calls if call.method.lower() == method.lower()]

    @property
    def pending_update_count(self) -> int:
        """Updates the bot has not confirmed (or the webhook not delivered) yet."""
        return self._core.pending_update_count()

    async def wait_until_updates_consumed(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - simulations state their patience in seconds
    ) -> None:
        """Wait until the bot has fetched and confirmed every update so far."""
        done = await self._core.updates_changed.wait_for(
            lambda: True if self._core.pending_update_count() == 0 else None, timeout
        )
        if done is None:
            raise TimeoutError(f"{self.pending_update_count} updates still pending")


class EmulatorThread:
    """An emulator served from a daemon thread with its own event loop."""

    def __init__(self, emulator: TelegramEmulator, host: str, port: int) -> None:
        self.emulator = emulator
        self._host = host
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="telegram-emulator", daemon=True)
        self._ready = threading.Event()
        self._stop_requested: asyncio.Event | None = None
        self._startup_error: BaseException | None = None
        self._urls: EmulatorUrls | None = None

    @property
    def urls(self) -> EmulatorUrls:
        if self._urls is None:
            raise RuntimeError("the emulator thread is not running")
        return self._urls

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(_STARTUP_TIMEOUT_SECONDS):
            raise RuntimeError("the emulator thread did not start in time")
        if self._startup_error is not None:
            raise RuntimeError("the emulator thread failed to start") from self._startup_error

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop_requested = asyncio.Event()
        try:
            async with self.emulator.serve(self._host, self._port) as urls:
                self._urls = urls
                self._ready.set()
                await self._stop_requested.wait()
        except BaseException as error:
            self._startup_error = error
            raise
        finally:
            self._urls = None
            self._ready.set()

    def run(self, coroutine: Coroutine[Any, Any, ResultT], timeout: float = 30.0) -> ResultT:
        """Run a coroutine (e.g. ``user.send_text(...)``) in the emulator's loop and wait."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        stop_requested = self._stop_requested
        if stop_requested is not None:
            self._loop.call_soon_threadsafe(stop_requested.set)
        self._thread.join(_STARTUP_TIMEOUT_SECONDS)

    def __enter__(self) -> EmulatorThread:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
