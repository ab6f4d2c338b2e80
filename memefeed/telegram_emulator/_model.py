"""Immutable records the emulator hands out: safe to keep and read from any thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

MessageChange = Literal["sent", "edited", "deleted"]


@dataclass(frozen=True)
class PhotoSize:
    file_id: str
    file_unique_id: str
    width: int
    height: int
    file_size: int

    def to_api(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": self.file_size,
        }


@dataclass(frozen=True)
class UserProfile:
    """A simulated Telegram user account, as the bot sees it in ``from``."""

    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool = False

    def to_api(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        if self.is_premium:
            user["is_premium"] = True
        return user


@dataclass(frozen=True)
class InlineButton:
    """One inline keyboard button, with its place in the keyboard."""

    text: str
    row: int
    column: int
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class BotMessage:
    """A message the bot sent, as its chat shows it at one moment.

    ``change`` says what produced this state: the first send, an edit, or the deletion.
    ``revision`` counts the edits so far.
    """

    chat_id: int
    message_id: int
    date: int
    change: MessageChange
    revision: int
    text: str | None = None
    entities: tuple[dict[str, Any], ...] = ()
    caption: str | None = None
    caption_entities: tuple[dict[str, Any], ...] = ()
    photo: tuple[PhotoSize, ...] = ()
    reply_markup: dict[str, Any] | None = None
    parse_mode: str | None = None
    edit_date: int | None = None
    deleted: bool = False
    reply_to_message_id: int | None = None

    @property
    def photo_file_id(self) -> str | None:
        """The file id of the largest photo size, the one a client shows."""
        return self.photo[-1].file_id if self.photo else None

    @property
    def photo_unique_id(self) -> str | None:
        return self.photo[-1].file_unique_id if self.photo else None

    @property
    def buttons(self) -> tuple[InlineButton, ...]:
        """The inline keyboard's buttons, row by row."""
        keyboard = (self.reply_markup or {}).get("inline_keyboard") or []
        return tuple(
            InlineButton(
                text=str(button.get("text", "")),
                row=row_index,
                column=column_index,
                callback_data=button.get("callback_data"),
                url=button.get("url"),
            )
            for row_index, row in enumerate(keyboard)
            for column_index, button in enumerate(row)
        )

    def button(self, text: str) -> InlineButton:
        """The inline button whose label is ``text`` (or contains it, if none matches exactly)."""
        exact = [button for button in self.buttons if button.text == text]
        partial = [button for button in self.buttons if text in button.text]
        found = exact or partial
        if not found:
            labels = [button.text for button in self.buttons]
            raise LookupError(f"no inline button {text!r} on message {self.message_id}: {labels}")
        return found[0]


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot answered to one button press (answerCallbackQuery)."""

    callback_query_id: str
    user_id: int
    chat_id: int
    message_id: int
    callback_data: str | None
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int
    pressed_at: float
    answered_at: float

    @property
    def latency_seconds(self) -> float:
        return self.answered_at - self.pressed_at


@dataclass(frozen=True)
class ApiCall:
    """One Bot API request the emulator served, with how long it took."""

    method: str
    http_method: str
    params: dict[str, Any] = field(repr=False)
    started_at: float
    duration_seconds: float
    ok: bool
    error_code: int | None = None
    description: str | None = None


@dataclass(frozen=True)
class EmulatorUrls:
    """Where a running emulator listens; the first two go to PTB's builder as they are."""

    api_base_url: str
    file_base_url: str
    control_url: str
    port: int
