"""The emulator's state: chats, messages, files, updates, button presses and the call log.

Every mutation runs synchronously under one re-entrant lock and never awaits while holding it, so
the server's event loop, simulated users in other loops and plain threads can all share it. Waiting
happens outside the lock through :class:`ChangeSignal`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from memefeed.telegram_emulator._errors import (
    BOT_BLOCKED,
    CHAT_NOT_FOUND,
    MESSAGE_NOT_MODIFIED,
    QUERY_TOO_OLD,
    WRONG_FILE_ID,
    BotApiError,
    bad_request,
    conflict,
    forbidden,
)
from memefeed.telegram_emulator._files import (
    MAX_DOWNLOAD_BYTES,
    photo_file_id,
    photo_variants,
    unique_file_id,
)
from memefeed.telegram_emulator._formatting import utf16_length
from memefeed.telegram_emulator._model import (
    ApiCall,
    BotMessage,
    CallbackAnswer,
    MessageChange,
    PhotoSize,
    UserProfile,
)
from memefeed.telegram_emulator._signal import ChangeSignal

ALL_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
# Telegram's default when allowed_updates was never set or was set to an empty list.
DEFAULT_ALLOWED_UPDATES = ALL_UPDATE_TYPES - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200

_COMMAND = re.compile(r"(?:(?<=\s)|^)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")


@dataclass
class _StoredMessage:
    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    sender: UserProfile | None
    text: str | None = None
    entities: tuple[dict[str, Any], ...] = ()
    caption: str | None = None
    caption_entities: tuple[dict[str, Any], ...] = ()
    photo: tuple[PhotoSize, ...] = ()
    reply_markup: dict[str, Any] | None = None
    parse_mode: str | None = None
    edit_date: int | None = None
    deleted: bool = False
    revision: int = 0
    last_change: MessageChange = "sent"
    reply_to_message_id: int | None = None

    def snapshot(self) -> BotMessage:
        return BotMessage(
            chat_id=self.chat_id,
            message_id=self.message_id,
            date=self.date,
            change=self.last_change,
            revision=self.revision,
            text=self.text,
            entities=self.entities,
            caption=self.caption,
            caption_entities=self.caption_entities,
            photo=self.photo,
            reply_markup=self.reply_markup,
            parse_mode=self.parse_mode,
            edit_date=self.edit_date,
            deleted=self.deleted,
            reply_to_message_id=self.reply_to_message_id,
        )


@dataclass
class _Chat:
    chat_id: int
    chat_type: str
    title: str | None = None
    username: str | None = None
    user: UserProfile | None = None
    # A bot may only write to a user who has written to it first.
    started: bool = False
    blocked_bot: bool = False
    next_message_id: int = 1
    messages: dict[int, _StoredMessage] = field(default_factory=dict)
    bot_events: list[BotMessage] = field(default_factory=list)
    changed: ChangeSignal = field(default_factory=ChangeSignal)

    def to_api(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.chat_id, "type": self.chat_type}
        if self.user is not None:
            chat["first_name"] = self.user.first_name
            if self.user.last_name:
                chat["last_name"] = self.user.last_name
            if self.user.username:
                chat["username"] = self.user.username
        else:
            chat["title"] = self.title or f"Chat {self.chat_id}"
            if self.username:
                chat["username"] = self.username
        return chat


@dataclass(frozen=True)
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    mime_type: str


@dataclass
class _PendingCallback:
    query_id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str | None
    pressed_at: float
    answered: bool = False


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret_token: str | None
    max_connections: int


@dataclass(frozen=True)
class WebhookDelivery:
    url: str
    secret_token: str | None
    update: dict[str, Any]


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entities a Telegram client would attach to ``text``."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_length(text[: match.start()]),
            "length": utf16_length(match.group(0)),
        }
        for match in _COMMAND.finditer(text)
    ]


def validate_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Check a reply_markup the way Telegram does before a message is sent or edited."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    keyboard = markup.get("inline_keyboard")
    if keyboard is None:
        return markup
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    for row in keyboard:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            callback_data = button.get("callback_data")
            if callback_data is not None and not (
                1 <= len(str(callback_data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
            ):
                raise bad_request("BUTTON_DATA_INVALID")
    return markup


def check_text_length(text: str) -> None:
    if not text.strip():
        raise bad_request("message text is empty")
    if utf16_length(text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")


def check_caption_length(caption: str | None) -> None:
    if caption is not None and utf16_length(caption) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")


class EmulatorCore:
    """All state of one emulated bot and the Telegram world around it."""

    def __init__(
        self,
        *,
        token: str,
        bot_id: int,
        bot_username: str,
        bot_first_name: str,
        clock: Callable[[], float] = time.time,
        api_call_log_limit: int | None = 100_000,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.clock = clock
        self.lock = threading.RLock()
        # Woken on every new or confirmed update and on webhook changes: getUpdates long polls
        # and the webhook sender wait on it.
        self.updates_changed = ChangeSignal()
        self.callback_answers_changed = ChangeSignal()
        self.closing = False
        self._chats: dict[int, _Chat] = {}
        self._chat_ids_by_username: dict[str, int] = {}
        self._pending_updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._polling_generation = 0
        self._webhook: WebhookSettings | None = None
        self._webhook_allowed_updates: list[str] | None = None
        self._webhook_last_error: tuple[int, str] | None = None
        self._files_by_id: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._photo_sizes_by_file_id: dict[str, tuple[PhotoSize, ...]] = {}
        self._next_file_sequence = 1
        self._callbacks: dict[str, _PendingCallback] = {}
        self._next_callback_sequence = 1
        self._callback_answers: list[CallbackAnswer] = []
        self._api_calls: deque[ApiCall] = deque(maxlen=api_call_log_limit)
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}

    # --- identities ------------------------------------------------------------------------

    def now(self) -> int:
        return int(self.clock())

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def get_me(self) -> dict[str, Any]:
        return self.bot_user() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def register_user(self, profile: UserProfile) -> None:
        """Make the user known; a later call with the same id updates the profile."""
        with self.lock:
            chat = self._chats.get(profile.user_id)
            if chat is None:
                self._chats[profile.user_id] = _Chat(profile.user_id, "private", user=profile)
            elif chat.chat_type != "private":
                raise ValueError(f"chat id {profile.user_id} is already a {chat.chat_type}")
            else:
                chat.user = profile

    def create_chat(
        self,
        chat_id: int,
        *,
        chat_type: str = "channel",
        title: str | None = None,
        username: str | None = None,
    ) -> None:
        if chat_type not in ("channel", "group", "supergroup"):
            raise ValueError("create_chat makes channels and groups; use user() for people")
        with self.lock:
            existing = self._chats.get(chat_id)
            if existing is not None and existing.chat_type != chat_type:
                raise ValueError(f"chat id {chat_id} is already a {existing.chat_type}")
            if existing is None:
                self._chats[chat_id] = _Chat(
                    chat_id, chat_type, title=title, username=username, started=True
                )
            else:
                existing.title = title or existing.title
                existing.username = username or existing.username
            if username:
                self._chat_ids_by_username[username.lower().removeprefix("@")] = chat_id

    def _chat(self, chat_ref: int | str | None) -> _Chat:
        if chat_ref is None or chat_ref == "":
            raise bad_request("chat_id is empty")
        chat_id: int | None
        if isinstance(chat_ref, int):
            chat_id = chat_ref
        elif re.fullmatch(r"-?\d+", chat_ref.strip()):
            chat_id = int(chat_ref)
        else:
            chat_id = self._chat_ids_by_username.get(chat_ref.strip().lower().removeprefix("@"))
        chat = self._chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad_request(CHAT_NOT_FOUND)
        return chat

    def _writable_chat(self, chat_ref: int | str | None) -> _Chat:
        chat = self._chat(chat_ref)
        if chat.blocked_bot:
            raise forbidden(BOT_BLOCKED)
        if not chat.started:
            raise forbidden("bot can't initiate conversation with a user")
        return chat

    def chat_info(self, chat_ref: int | str | None) -> dict[str, Any]:
        with self.lock:
            chat = self._chat(chat_ref)
            # getChat returns ChatFullInfo, whose required fields PTB checks.
            return chat.to_api() | {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }

    def set_blocked(self, user_id: int, blocked: bool) -> None:
        """Block or unblock the bot as the user; the bot gets a my_chat_member update."""
        with self.lock:
            chat = self._chat(user_id)
            if chat.user is None or chat.blocked_bot == blocked:
                chat.blocked_bot = blocked
                return
            chat.blocked_bot = blocked
            member: dict[str, Any] = {"user": self.bot_user()}
            old_status, new_status = ("member", "kicked") if blocked else ("kicked", "member")
            old_member = member | {"status": old_status}
            new_member = member | {"status": new_status}
            if blocked:
                new_member["until_date"] = 0
            else:
                old_member["until_date"] = 0
            self._enqueue_update(
                "my_chat_member",
                {
                    "chat": chat.to_api(),
                    "from": chat.user.to_api(),
                    "date": self.now(),
                    "old_chat_member": old_member,
                    "new_chat_member": new_member,
                },
            )

    # --- messages --------------------------------------------------------------------------

    def _message_json(
        self, chat: _Chat, message: _StoredMessage, with_reply: bool = True
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": chat.to_api(),
        }
        if chat.chat_type == "channel":
            data["sender_chat"] = chat.to_api()
        elif message.from_bot:
            data["from"] = self.bot_user()
        elif message.sender is not None:
            data["from"] = message.sender.to_api()
        if message.text is not None:
            data["text"] = message.text
            if message.entities:
                data["entities"] = list(message.entities)
        if message.photo:
            data["photo"] = [size.to_api() for size in message.photo]
        if message.caption is not None:
            data["caption"] = message.caption
            if message.caption_entities:
                data["caption_entities"] = list(message.caption_entities)
        # Only inline keyboards belong to the message; reply keyboards live in the client.
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        if with_reply and message.reply_to_message_id is not None:
            replied = chat.messages.get(message.reply_to_message_id)
            if replied is not None and not replied.deleted:
                data["reply_to_message"] = self._message_json(chat, replied, with_reply=False)
        return data

    def _new_message(
        self, chat: _Chat, *, from_bot: bool, sender: UserProfile | None
    ) -> _StoredMessage:
        message = _StoredMessage(
            chat_id=chat.chat_id,
            message_id=chat.next_message_id,
            date=self.now(),
            from_bot=from_bot,
            sender=sender,
        )
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        return message

    def _record_bot_change(
        self, chat: _Chat, message: _StoredMessage, change: MessageChange
    ) -> None:
        message.last_change = change
        chat.bot_events.append(message.snapshot())
        chat.changed.notify()

    def send_bot_message(
        self,
        chat_ref: int | str | None,
        *,
        text: str | None = None,
        entities: Iterable[dict[str, Any]] = (),
        photo: tuple[PhotoSize, ...] = (),
        caption: str | None = None,
        caption_entities: Iterable[dict[str, Any]] = (),
        reply_markup: dict[str, Any] | None = None,
        parse_mode: str | None = None,
        reply_to_message_id: int | None = None,
        allow_sending_without_reply: bool = False,
    ) -> dict[str, Any]:
        with self.lock:
            chat = self._writable_chat(chat_ref)
            if reply_to_message_id is not None:
                replied = chat.messages.get(reply_to_message_id)
                if replied is None or replied.deleted:
                    if not allow_sending_without_reply:
                        raise bad_request("message to be replied not found")
                    reply_to_message_id = None
            message = self._new_message(chat, from_bot=True, sender=None)
            message.text = text
            message.entities = tuple(entities)
            message.photo = photo
            message.caption = caption
            message.caption_entities = tuple(caption_entities)
            message.reply_markup = reply_markup
            message.parse_mode = parse_mode
            message.reply_to_message_id = reply_to_message_id
            self._record_bot_change(chat, message, "sent")
            return self._message_json(chat, message)

    def edit_bot_message(
        self,
        chat_ref: int | str | None,
        message_id: int | None,
        *,
        needs: str,
        changes: dict[str, Any],
    ) -> dict[str, Any]:
        """Apply an edit* method's ``changes`` (field -> value) to a message the bot sent.

        ``needs`` is what the edited message must hold: "text", "caption", "media" or "any".
        Every edit method replaces the inline keyboard, so ``changes`` always has reply_markup.
        """
        if message_id is None:
            raise bad_request("message identifier is not specified")
        with self.lock:
            chat = self._writable_chat(chat_ref)
            message = chat.messages.get(message_id)
            if message is None or message.deleted:
                raise bad_request("message to edit not found")
            if not message.from_bot:
                raise bad_request("message can't be edited")
            if needs == "text" and message.text is None:
                raise bad_request("there is no text in the message to edit")
            if needs == "caption" and not message.photo:
                raise bad_request("there is no caption in the message to edit")
            if needs == "media" and not message.photo:
                raise bad_request("there is no media in the message to edit")
            # How the new content was written (parse_mode) does not make it different.
            if all(
                getattr(message, name) == value
                for name, value in changes.items()
                if name != "parse_mode"
            ):
                raise bad_request(MESSAGE_NOT_MODIFIED)
            for name, value in changes.items():
                setattr(message, name, value)
            message.edit_date = self.now()
            message.revision += 1
            self._record_bot_change(chat, message, "edited")
            return self._message_json(chat, message)

    def delete_message(self, chat_ref: int | str | None, message_id: int | None) -> None:
        if message_id is None:
            raise bad_request("message identifier is not specified")
        with self.lock:
            chat = self._writable_chat(chat_ref)
            message = chat.messages.get(message_id)
            if message is None or message.deleted:
                raise bad_request("message to delete not found")
            message.deleted = True
            if message.from_bot:
                self._record_bot_change(chat, message, "deleted")
            else:
                chat.changed.notify()

    def bot_messages(self, chat_id: int) -> list[BotMessage]:
        """What the bot has sent to the chat, as it looks now, oldest first."""
        with self.lock:
            chat = self._chat(chat_id)
            return [message.snapshot() for message in chat.messages.values() if message.from_bot]

    def bot_events_since(self, chat_id: int, cursor: int) -> list[BotMessage]:
        with self.lock:
            return list(self._chat(chat_id).bot_events[cursor:])

    def chat_signal(self, chat_id: int) -> ChangeSignal:
        with self.lock:
            return self._chat(chat_id).changed

    # --- the user side ---------------------------------------------------------------------

    def _user_chat(self, user_id: int) -> _Chat:
        chat = self._chats.get(user_id)
        if chat is None or chat.user is None:
            raise LookupError(f"no simulated user {user_id}; create it with emulator.user()")
        if chat.blocked_bot:
            raise RuntimeError(f"user {user_id} has blocked the bot; call unblock_bot() first")
        return chat

    def user_sends(
        self,
        user_id: int,
        *,
        text: str | None = None,
        photo: tuple[PhotoSize, ...] = (),
        caption: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> tuple[dict[str, Any], int | None]:
        """A user's message to the bot; returns it and its update id (None if not allowed)."""
        with self.lock:
            chat = self._user_chat(user_id)
            chat.started = True
            message = self._new_message(chat, from_bot=False, sender=chat.user)
            message.text = text
            if text is not None:
                message.entities = tuple(command_entities(text))
            message.photo = photo
            message.caption = caption
            message.reply_to_message_id = reply_to_message_id
            chat.changed.notify()
            message_json = self._message_json(chat, message)
            update = self._enqueue_update("message", message_json)
            return message_json, update["update_id"] if update else None

    def user_presses(self, user_id: int, message_id: int, callback_data: str) -> str:
        """A user's tap on an inline button; returns the callback query id."""
        with self.lock:
            chat = self._user_chat(user_id)
            message = chat.messages.get(message_id)
            if message is None or not message.from_bot:
                raise LookupError(f"the bot sent no message {message_id} to user {user_id}")
            if message.deleted:
                raise LookupError(f"message {message_id} was deleted; its buttons are gone")
            offered = [
                button.get("callback_data")
                for row in (message.reply_markup or {}).get("inline_keyboard") or []
                for button in row
            ]
            if callback_data not in offered:
                raise LookupError(
                    f"message {message_id} has no button with callback_data {callback_data!r}; "
                    f"it offers {offered}"
                )
            query_id = f"{self.bot_id}{self._next_callback_sequence:08d}"
            self._next_callback_sequence += 1
            self._callbacks[query_id] = _PendingCallback(
                query_id, user_id, chat.chat_id, message_id, callback_data, self.clock()
            )
            assert chat.user is not None
            self._enqueue_update(
                "callback_query",
                {
                    "id": query_id,
                    "from": chat.user.to_api(),
                    "message": self._message_json(chat, message),
                    "chat_instance": str((chat.chat_id * 2654435761 + self.bot_id) % 10**19),
                    "data": callback_data,
                },
            )
            return query_id

    def answer_callback(
        self,
        query_id: str | None,
        *,
        text: str | None,
        show_alert: bool,
        url: str | None,
        cache_time: int,
    ) -> None:
        with self.lock:
            pending = self._callbacks.get(query_id or "")
            if pending is None or pending.answered:
                raise bad_request(QUERY_TOO_OLD)
            if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
                raise bad_request("MESSAGE_TOO_LONG")
            pending.answered = True
            self._callback_answers.append(
                CallbackAnswer(
                    callback_query_id=pending.query_id,
                    user_id=pending.user_id,
                    chat_id=pending.chat_id,
                    message_id=pending.message_id,
                    callback_data=pending.data,
                    text=text,
                    show_alert=show_alert,
                    url=url,
                    cache_time=cache_time,
                    pressed_at=pending.pressed_at,
                    answered_at=self.clock(),
                )
            )
        self.callback_answers_changed.notify()

    def callback_answers(self) -> list[CallbackAnswer]:
        with self.lock:
            return list(self._callback_answers)

    def callback_answer(self, query_id: str) -> CallbackAnswer | None:
        with self.lock:
            return next(
                (
                    answer
                    for answer in self._callback_answers
                    if answer.callback_query_id == query_id
                ),
                None,
            )

    # --- updates ---------------------------------------------------------------------------

    def _enqueue_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        # Telegram never creates updates of types the bot has not asked for.
        if kind not in self._allowed_updates:
            return None
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._pending_updates.append(update)
        self.updates_changed.notify()
        return update

    def _set_allowed_updates(self, allowed_updates: list[str] | None) -> None:
        if allowed_updates is None:
            return
        self._allowed_updates = (
            frozenset(allowed_updates) & ALL_UPDATE_TYPES
            if allowed_updates
            else DEFAULT_ALLOWED_UPDATES
        )

    def _confirm_updates(self, offset: int | None) -> None:
        if not offset:
            return
        if offset < 0:
            # A negative offset keeps only the last -offset updates and forgets the rest.
            self._pending_updates = self._pending_updates[offset:]
            return
        self._pending_updates = [
            update for update in self._pending_updates if update["update_id"] >= offset
        ]

    def begin_polling(self, offset: int | None, allowed_updates: list[str] | None) -> int:
        """Start one getUpdates call; returns its generation for :meth:`poll_updates`."""
        with self.lock:
            if self._webhook is not None:
                raise conflict(
                    "can't use getUpdates method while webhook is active; use deleteWebhook "
                    "to delete the webhook first"
                )
            self._set_allowed_updates(allowed_updates)
            self._confirm_updates(offset)
            self._polling_generation += 1
            generation = self._polling_generation
        # Wakes an older long poll so it can end with Telegram's "terminated" conflict.
        self.updates_changed.notify()
        return generation

    def poll_updates(self, generation: int, limit: int) -> list[dict[str, Any]] | None:
        """Pending updates for a long poll, or None to keep waiting."""
        with self.lock:
            if generation != self._polling_generation:
                raise conflict(
                    "terminated by other getUpdates request; make sure that only one bot "
                    "instance is running"
                )
            if self.closing:
                return []
            if self._webhook is not None:
                raise conflict("terminated by setWebhook request")
            return [dict(update) for update in self._pending_updates[:limit]] or None

    def pending_update_count(self) -> int:
        with self.lock:
            return len(self._pending_updates)

    # --- webhook ---------------------------------------------------------------------------

    def set_webhook(
        self,
        settings: WebhookSettings | None,
        *,
        allowed_updates: list[str] | None,
        drop_pending_updates: bool,
    ) -> None:
        with self.lock:
            self._webhook = settings
            self._webhook_last_error = None
            self._webhook_allowed_updates = allowed_updates
            self._set_allowed_updates(allowed_updates)
            if drop_pending_updates:
                self._pending_updates.clear()
        self.updates_changed.notify()

    def webhook_info(self) -> dict[str, Any]:
        with self.lock:
            info: dict[str, Any] = {
                "url": self._webhook.url if self._webhook else "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending_updates),
            }
            if self._webhook is not None:
                info["max_connections"] = self._webhook.max_connections
                info["ip_address"] = "127.0.0.1"
                if self._webhook_allowed_updates:
                    info["allowed_updates"] = sorted(self._allowed_updates)
            if self._webhook_last_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_last_error
            return info

    def next_webhook_delivery(self) -> WebhookDelivery | None:
        with self.lock:
            if self.closing or self._webhook is None or not self._pending_updates:
                return None
            return WebhookDelivery(
                self._webhook.url, self._webhook.secret_token, dict(self._pending_updates[0])
            )

    def finish_webhook_delivery(self, update_id: int, error: str | None) -> None:
        """Drop a delivered (or given-up) update from the queue; remember the last error."""
        with self.lock:
            self._pending_updates = [
                update for update in self._pending_updates if update["update_id"] != update_id
            ]
            if error is not None:
                self._webhook_last_error = (self.now(), error)
        self.updates_changed.notify()

    # --- files -----------------------------------------------------------------------------

    def store_photo(self, data: bytes) -> tuple[PhotoSize, ...]:
        """Keep an uploaded photo and return its sizes with fresh file ids."""
        # Decoding and thumbnailing happen outside the lock so uploads run in parallel.
        variants = photo_variants(data)
        with self.lock:
            sizes: list[PhotoSize] = []
            for variant in variants:
                sequence = self._next_file_sequence
                self._next_file_sequence += 1
                stored = _StoredFile(
                    file_id=photo_file_id(self.bot_id, sequence),
                    file_unique_id=unique_file_id(variant.data),
                    file_path=f"photos/file_{sequence}.{variant.extension}",
                    data=variant.data,
                    mime_type=variant.mime_type,
                )
                self._files_by_id[stored.file_id] = stored
                self._files_by_path[stored.file_path] = stored
                sizes.append(
                    PhotoSize(
                        stored.file_id,
                        stored.file_unique_id,
                        variant.width,
                        variant.height,
                        len(variant.data),
                    )
                )
            photo = tuple(sizes)
            for size in photo:
                self._photo_sizes_by_file_id[size.file_id] = photo
            return photo

    def photo_by_file_id(self, file_id: str) -> tuple[PhotoSize, ...]:
        with self.lock:
            photo = self._photo_sizes_by_file_id.get(file_id.strip())
        if photo is None:
            raise bad_request(WRONG_FILE_ID)
        return photo

    def file_info(self, file_id: str | None) -> dict[str, Any]:
        with self.lock:
            stored = self._files_by_id.get((file_id or "").strip())
        if stored is None:
            raise bad_request("invalid file_id")
        info: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        info["file_path"] = stored.file_path
        return info

    def file_content(self, file_path: str) -> tuple[bytes, str] | None:
        with self.lock:
            stored = self._files_by_path.get(file_path)
        return (stored.data, stored.mime_type) if stored else None

    # --- commands and the call log ---------------------------------------------------------

    @staticmethod
    def _commands_key(scope: Any, language_code: str | None) -> tuple[str, str]:
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True), language_code or ""

    def set_commands(
        self, commands: list[dict[str, str]], scope: Any, language_code: str | None
    ) -> None:
        with self.lock:
            self._commands[self._commands_key(scope, language_code)] = commands

    def get_commands(self, scope: Any, language_code: str | None) -> list[dict[str, str]]:
        with self.lock:
            return list(self._commands.get(self._commands_key(scope, language_code), []))

    def delete_commands(self, scope: Any, language_code: str | None) -> None:
        with self.lock:
            self._commands.pop(self._commands_key(scope, language_code), None)

    def record_api_call(self, call: ApiCall) -> None:
        with self.lock:
            self._api_calls.append(call)

    def api_calls(self) -> list[ApiCall]:
        with self.lock:
            return list(self._api_calls)

    def current_message(self, chat_id: int, message_id: int) -> BotMessage | None:
        """The current state of a message the bot sent, or None if there is none."""
        with self.lock:
            stored = self._chat(chat_id).messages.get(message_id)
            return stored.snapshot() if stored is not None and stored.from_bot else None

    def ensure_writable(self, chat_ref: int | str | None) -> None:
        """Fail early, before an upload is processed, if the bot cannot write to the chat."""
        with self.lock:
            self._writable_chat(chat_ref)

    def shut_down_polls(self, closing: bool) -> None:
        """While closing, long polls return at once so the HTTP server can stop promptly."""
        with self.lock:
            self.closing = closing
        self.updates_changed.notify()


__all__ = ["BotApiError", "EmulatorCore", "WebhookDelivery", "WebhookSettings"]
