"""The Bot API methods the emulator serves, each turning call parameters into a result."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from memefeed.telegram_emulator._core import (
    EmulatorCore,
    WebhookSettings,
    check_caption_length,
    check_text_length,
    validate_reply_markup,
)
from memefeed.telegram_emulator._errors import WRONG_FILE_ID, BotApiError, bad_request
from memefeed.telegram_emulator._formatting import parse_formatted
from memefeed.telegram_emulator._model import PhotoSize
from memefeed.telegram_emulator._requests import ApiParams

MethodHandler = Callable[[EmulatorCore, ApiParams], Awaitable[Any]]

MAX_LONG_POLL_SECONDS = 50
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _reply_markup(params: ApiParams) -> dict[str, Any] | None:
    return validate_reply_markup(params.json("reply_markup", "reply keyboard markup"))


def _formatted_caption(
    caption: str | None, parse_mode: str | None, explicit_entities: Any
) -> tuple[str | None, tuple[dict[str, Any], ...]]:
    if caption is None or caption == "":
        return None, ()
    plain, entities = parse_formatted(caption, parse_mode, explicit_entities)
    check_caption_length(plain)
    return plain, tuple(entities)


async def _photo_from_reference(
    core: EmulatorCore, params: ApiParams, field: str, reference: Any
) -> tuple[PhotoSize, ...]:
    """Resolve a photo given as an upload in ``field``, ``attach://name`` or a file id."""
    upload = params.file(field)
    if upload is None and isinstance(reference, str) and reference.startswith("attach://"):
        upload = params.file(reference.removeprefix("attach://"))
        if upload is None:
            raise bad_request(f"file {reference} not found in the request")
    if upload is not None:
        # Image decoding is CPU work; a worker thread keeps other requests flowing meanwhile.
        return await asyncio.to_thread(core.store_photo, upload.data)
    if not isinstance(reference, str) or not reference.strip():
        raise bad_request("there is no photo in the request")
    if reference.startswith(("http://", "https://")):
        # The emulator has no internet to fetch from; Telegram's wording for an unusable URL.
        raise bad_request(WRONG_FILE_ID)
    return core.photo_by_file_id(reference)


def _reply_target(params: ApiParams) -> tuple[int | None, bool]:
    parameters = params.json("reply_parameters", "reply parameters")
    if isinstance(parameters, dict) and parameters.get("message_id") is not None:
        return int(parameters["message_id"]), bool(parameters.get("allow_sending_without_reply"))
    return params.integer("reply_to_message_id"), params.boolean("allow_sending_without_reply")


# --- identity and session ---------------------------------------------------------------------


async def get_me(core: EmulatorCore, params: ApiParams) -> Any:
    return core.get_me()


async def log_out(core: EmulatorCore, params: ApiParams) -> Any:
    return True


async def get_updates(core: EmulatorCore, params: ApiParams) -> Any:
    limit = min(max(params.integer("limit") or 100, 1), 100)
    timeout = min(max(params.number("timeout") or 0.0, 0.0), MAX_LONG_POLL_SECONDS)
    allowed_updates = params.json("allowed_updates", "allowed updates")
    if allowed_updates is not None and not isinstance(allowed_updates, list):
        raise bad_request("can't parse allowed updates JSON object")
    generation = core.begin_polling(params.integer("offset"), allowed_updates)
    updates = await core.updates_changed.wait_for(
        lambda: core.poll_updates(generation, limit), timeout
    )
    return updates or []


async def set_webhook(core: EmulatorCore, params: ApiParams) -> Any:
    url = (params.string("url") or "").strip()
    allowed_updates = params.json("allowed_updates", "allowed updates")
    drop_pending = params.boolean("drop_pending_updates")
    if not url:
        core.set_webhook(None, allowed_updates=allowed_updates, drop_pending_updates=drop_pending)
        return True
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    # Telegram would reach any public HTTPS address; the emulator only delivers on this machine.
    if not is_loopback_host(parts.hostname):
        raise bad_request("bad webhook: the emulator delivers webhooks to loopback addresses only")
    secret_token = params.string("secret_token")
    if secret_token is not None and not _SECRET_TOKEN.fullmatch(secret_token):
        raise bad_request("secret token contains unallowed characters")
    max_connections = params.integer("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    core.set_webhook(
        WebhookSettings(url=url, secret_token=secret_token, max_connections=max_connections),
        allowed_updates=allowed_updates,
        drop_pending_updates=drop_pending,
    )
    return True


async def delete_webhook(core: EmulatorCore, params: ApiParams) -> Any:
    core.set_webhook(
        None,
        allowed_updates=None,
        drop_pending_updates=params.boolean("drop_pending_updates"),
    )
    return True


async def get_webhook_info(core: EmulatorCore, params: ApiParams) -> Any:
    return core.webhook_info()


# --- commands ---------------------------------------------------------------------------------


async def set_my_commands(core: EmulatorCore, params: ApiParams) -> Any:
    commands = params.json("commands", "bot commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse bot commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND_NAME.fullmatch(
            str(command.get("command", ""))
        ):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    core.set_commands(
        [{"command": c["command"], "description": c["description"]} for c in commands],
        params.json("scope", "bot command scope"),
        params.string("language_code"),
    )
    return True


async def get_my_commands(core: EmulatorCore, params: ApiParams) -> Any:
    return core.get_commands(
        params.json("scope", "bot command scope"), params.string("language_code")
    )


async def delete_my_commands(core: EmulatorCore, params: ApiParams) -> Any:
    core.delete_commands(params.json("scope", "bot command scope"), params.string("language_code"))
    return True


# --- sending ----------------------------------------------------------------------------------


async def send_message(core: EmulatorCore, params: ApiParams) -> Any:
    raw_text = params.string("text")
    if raw_text is None or not raw_text.strip():
        raise bad_request("message text is empty")
    parse_mode = params.string("parse_mode")
    text, entities = parse_formatted(raw_text, parse_mode, params.json("entities", "entities"))
    check_text_length(text)
    reply_to, without_reply = _reply_target(params)
    return core.send_bot_message(
        params.string("chat_id"),
        text=text,
        entities=entities,
        reply_markup=_reply_markup(params),
        parse_mode=parse_mode,
        reply_to_message_id=reply_to,
        allow_sending_without_reply=without_reply,
    )


async def send_photo(core: EmulatorCore, params: ApiParams) -> Any:
    chat_ref = params.string("chat_id")
    parse_mode = params.string("parse_mode")
    caption, caption_entities = _formatted_caption(
        params.string("caption"), parse_mode, params.json("caption_entities", "entities")
    )
    reply_markup = _reply_markup(params)
    reply_to, without_reply = _reply_target(params)
    # Checked before the upload is processed, as Telegram refuses before storing anything.
    core.ensure_writable(chat_ref)
    photo = await _photo_from_reference(core, params, "photo", params.string("photo"))
    return core.send_bot_message(
        chat_ref,
        photo=photo,
        caption=caption,
        caption_entities=caption_entities,
        reply_markup=reply_markup,
        parse_mode=parse_mode,
        reply_to_message_id=reply_to,
        allow_sending_without_reply=without_reply,
    )


async def send_chat_action(core: EmulatorCore, params: ApiParams) -> Any:
    core.ensure_writable(params.string("chat_id"))
    return True


# --- editing and deleting ---------------------------------------------------------------------


def _edit_target(params: ApiParams) -> tuple[str | None, int | None]:
    if params.has("inline_message_id") and not params.has("chat_id"):
        # Messages sent via inline mode are outside what the emulator models.
        raise bad_request("MESSAGE_ID_INVALID")
    return params.string("chat_id"), params.integer("message_id")


async def edit_message_text(core: EmulatorCore, params: ApiParams) -> Any:
    chat_ref, message_id = _edit_target(params)
    raw_text = params.string("text")
    if raw_text is None or not raw_text.strip():
        raise bad_request("message text is empty")
    parse_mode = params.string("parse_mode")
    text, entities = parse_formatted(raw_text, parse_mode, params.json("entities", "entities"))
    check_text_length(text)
    return core.edit_bot_message(
        chat_ref,
        message_id,
        needs="text",
        changes={
            "text": text,
            "entities": tuple(entities),
            "reply_markup": _reply_markup(params),
            "parse_mode": parse_mode,
        },
    )


async def edit_message_caption(core: EmulatorCore, params: ApiParams) -> Any:
    chat_ref, message_id = _edit_target(params)
    parse_mode = params.string("parse_mode")
    caption, caption_entities = _formatted_caption(
        params.string("caption"), parse_mode, params.json("caption_entities", "entities")
    )
    return core.edit_bot_message(
        chat_ref,
        message_id,
        needs="caption",
        changes={
            "caption": caption,
            "caption_entities": caption_entities,
            "reply_markup": _reply_markup(params),
            "parse_mode": parse_mode,
        },
    )


async def edit_message_media(core: EmulatorCore, params: ApiParams) -> Any:
    chat_ref, message_id = _edit_target(params)
    media = params.json("media", "InputMedia")
    if not isinstance(media, dict):
        raise bad_request("can't parse InputMedia JSON object")
    if media.get("type") != "photo":
        raise bad_request("the emulator can only put photos into edited messages")
    parse_mode = media.get("parse_mode")
    caption, caption_entities = _formatted_caption(
        media.get("caption"), parse_mode, media.get("caption_entities")
    )
    reply_markup = _reply_markup(params)
    core.ensure_writable(chat_ref)
    photo = await _photo_from_reference(core, params, "media", media.get("media"))
    return core.edit_bot_message(
        chat_ref,
        message_id,
        needs="media",
        changes={
            "photo": photo,
            "caption": caption,
            "caption_entities": caption_entities,
            "reply_markup": reply_markup,
            "parse_mode": parse_mode,
        },
    )


async def edit_message_reply_markup(core: EmulatorCore, params: ApiParams) -> Any:
    chat_ref, message_id = _edit_target(params)
    return core.edit_bot_message(
        chat_ref, message_id, needs="any", changes={"reply_markup": _reply_markup(params)}
    )


async def delete_message(core: EmulatorCore, params: ApiParams) -> Any:
    core.delete_message(params.string("chat_id"), params.integer("message_id"))
    return True


async def delete_messages(core: EmulatorCore, params: ApiParams) -> Any:
    message_ids = params.json("message_ids", "message identifiers")
    if not isinstance(message_ids, list) or not 1 <= len(message_ids) <= 100:
        raise bad_request("message identifiers are not specified")
    chat_ref = params.string("chat_id")
    core.ensure_writable(chat_ref)
    for message_id in message_ids:
        # deleteMessages skips messages that cannot be found, as Telegram's does.
        try:
            core.delete_message(chat_ref, int(message_id))
        except BotApiError as error:
            if error.error_code != 400:
                raise
    return True


# --- callbacks, files, chats ------------------------------------------------------------------


async def answer_callback_query(core: EmulatorCore, params: ApiParams) -> Any:
    core.answer_callback(
        params.string("callback_query_id"),
        text=params.string("text"),
        show_alert=params.boolean("show_alert"),
        url=params.string("url"),
        cache_time=params.integer("cache_time") or 0,
    )
    return True


async def get_file(core: EmulatorCore, params: ApiParams) -> Any:
    return core.file_info(params.string("file_id"))


async def get_chat(core: EmulatorCore, params: ApiParams) -> Any:
    return core.chat_info(params.string("chat_id"))


# Telegram matches method names case-insensitively, so the table is keyed by lower-case name.
METHODS: dict[str, MethodHandler] = {
    name.lower(): handler
    for name, handler in {
        "getMe": get_me,
        "logOut": log_out,
        "close": log_out,
        "getUpdates": get_updates,
        "setWebhook": set_webhook,
        "deleteWebhook": delete_webhook,
        "getWebhookInfo": get_webhook_info,
        "setMyCommands": set_my_commands,
        "getMyCommands": get_my_commands,
        "deleteMyCommands": delete_my_commands,
        "sendMessage": send_message,
        "sendPhoto": send_photo,
        "sendChatAction": send_chat_action,
        "editMessageText": edit_message_text,
        "editMessageCaption": edit_message_caption,
        "editMessageMedia": edit_message_media,
        "editMessageReplyMarkup": edit_message_reply_markup,
        "deleteMessage": delete_message,
        "deleteMessages": delete_messages,
        "answerCallbackQuery": answer_callback_query,
        "getFile": get_file,
        "getChat": get_chat,
    }.items()
}
