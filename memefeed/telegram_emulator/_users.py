"""Simulated Telegram users: what a person does in the app, and what they see the bot do."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from memefeed.telegram_emulator._core import EmulatorCore
from memefeed.telegram_emulator._model import BotMessage, UserProfile

BotMessagePredicate = Callable[[BotMessage], bool]


def _is_visible(message: BotMessage) -> bool:
    return not message.deleted


class SimulatedUser:
    """One user chatting with the bot in a private chat.

    Actions are coroutines but do not depend on the loop they run in: the same user can be
    driven from the server's loop, from another thread's loop, or through
    ``EmulatorThread.run`` from plain threads. Reading the bot's messages works through a
    cursor over everything the bot did in this chat (sends, edits, deletions): ``wait_for``
    and ``next_bot_message`` return the first unread change that matches and mark it and
    everything before it read.
    """

    def __init__(self, core: EmulatorCore, profile: UserProfile) -> None:
        self._core = core
        self._profile = profile
        self._cursor = 0
        self._cursor_lock = threading.Lock()

    @property
    def profile(self) -> UserProfile:
        return self._profile

    @property
    def user_id(self) -> int:
        return self._profile.user_id

    @property
    def chat_id(self) -> int:
        """A private chat's id is the user's id."""
        return self._profile.user_id

    def _update_profile(self, profile: UserProfile) -> None:
        self._profile = profile
        self._core.register_user(profile)

    # --- actions ---------------------------------------------------------------------------

    async def send_text(self, text: str, *, reply_to: BotMessage | int | None = None) -> int:
        """Send a text message (commands get their bot_command entity); returns its id."""
        if not text:
            raise ValueError("Telegram clients do not send empty messages")
        reply_to_id = reply_to.message_id if isinstance(reply_to, BotMessage) else reply_to
        message, _ = self._core.user_sends(
            self.user_id, text=text, reply_to_message_id=reply_to_id
        )
        return int(message["message_id"])

    async def send_photo(self, photo: bytes, *, caption: str | None = None) -> int:
        """Send a photo (image bytes) with an optional caption; returns the message id."""
        sizes = await asyncio.to_thread(self._core.store_photo, photo)
        message, _ = self._core.user_sends(self.user_id, photo=sizes, caption=caption)
        return int(message["message_id"])

    async def press(
        self,
        message: BotMessage | int,
        callback_data: str | None = None,
        *,
        button_text: str | None = None,
    ) -> str:
        """Tap an inline button on a bot message; returns the callback query id.

        Name the button by ``callback_data`` or by its label (``button_text``). Pressing a
        button the message does not currently show raises LookupError, since a person
        could not do it either.
        """
        message_id = message.message_id if isinstance(message, BotMessage) else message
        if callback_data is None:
            if button_text is None:
                raise ValueError("press() needs callback_data or button_text")
            current = self._core.current_message(self.chat_id, message_id)
            if current is None:
                raise LookupError(f"the bot sent no message {message_id} to user {self.user_id}")
            callback_data = current.button(button_text).callback_data
            if callback_data is None:
                raise LookupError(f"button {button_text!r} is not a callback button")
        return self._core.user_presses(self.user_id, message_id, callback_data)

    def block_bot(self) -> None:
        """Block the bot: its sends to this user fail with 403 until unblocked."""
        self._core.set_blocked(self.user_id, True)

    def unblock_bot(self) -> None:
        self._core.set_blocked(self.user_id, False)

    # --- what the user sees ----------------------------------------------------------------

    @property
    def messages(self) -> list[BotMessage]:
        """Everything the bot sent to this chat as it looks now; deleted ones are marked."""
        return self._core.bot_messages(self.chat_id)

    @property
    def visible_messages(self) -> list[BotMessage]:
        return [message for message in self.messages if not message.deleted]

    @property
    def last_message(self) -> BotMessage | None:
        """The newest bot message still in the chat."""
        visible = self.visible_messages
        return visible[-1] if visible else None

    def refresh(self, message: BotMessage) -> BotMessage:
        """The current state of a message seen earlier."""
        current = self._core.current_message(self.chat_id, message.message_id)
        if current is None:
            raise LookupError(f"the bot sent no message {message.message_id} to {self.user_id}")
        return current

    @property
    def unread_count(self) -> int:
        with self._cursor_lock:
            return len(self._core.bot_events_since(self.chat_id, self._cursor))

    def mark_all_read(self) -> None:
        """Skip every bot change so far; the next wait only sees what happens after this."""
        with self._cursor_lock:
            self._cursor += len(self._core.bot_events_since(self.chat_id, self._cursor))

    def _take_first_match(self, predicate: BotMessagePredicate) -> BotMessage | None:
        with self._cursor_lock:
            for index, change in enumerate(
                self._core.bot_events_since(self.chat_id, self._cursor)
            ):
                if predicate(change):
                    self._cursor += index + 1
                    return change
            return None

    def _timeout_error(self, timeout: float) -> TimeoutError:
        recent = [
            (message.message_id, message.change, message.text or message.caption)
            for message in self.messages[-3:]
        ]
        return TimeoutError(
            f"user {self.user_id}: no matching bot message within {timeout}s; latest: {recent}"
        )

    async def wait_for(
        self,
        predicate: BotMessagePredicate | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - simulations state their patience in seconds
    ) -> BotMessage:
        """Wait for the next unread bot change (send, edit or deletion) matching ``predicate``.

        Unread changes before the match are passed over; on timeout nothing is marked read
        and TimeoutError is raised.
        """
        check = predicate or (lambda _message: True)
        found = await self._core.chat_signal(self.chat_id).wait_for(
            lambda: self._take_first_match(check), timeout
        )
        if found is None:
            raise self._timeout_error(timeout)
        return found

    async def next_bot_message(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - simulations state their patience in seconds
    ) -> BotMessage:
        """The bot's next new or edited message (deletions are passed over)."""
        return await self.wait_for(_is_visible, timeout)

    def wait_for_blocking(
        self, predicate: BotMessagePredicate | None = None, timeout: float = 5.0
    ) -> BotMessage:
        """:meth:`wait_for` for plain threads; never call it from inside an event loop."""
        check = predicate or (lambda _message: True)
        found = self._core.chat_signal(self.chat_id).wait_for_blocking(
            lambda: self._take_first_match(check), timeout
        )
        if found is None:
            raise self._timeout_error(timeout)
        return found

    def __repr__(self) -> str:
        return f"SimulatedUser(user_id={self.user_id}, first_name={self._profile.first_name!r})"
