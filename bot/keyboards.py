"""Inline keyboards and captions for memes; callback data keeps a short routing prefix."""

from __future__ import annotations

import html
import random
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.reactions import Reaction, reaction_callback_data
from bot.texts import text

HEARTS = ("❤️", "♥️", "💙", "💜", "💛", "🧡", "💚", "🩵")
DISLIKE = "⏬"
RETRY_CALLBACK = "q:retry"
CAPTION_LIMIT = 1024


def reaction_markup(meme_id: int) -> dict[str, Any]:
    """The like / dislike buttons as Bot API JSON (the hot path posts it without PTB objects)."""
    return {
        "inline_keyboard": [
            [
                {
                    "text": random.choice(HEARTS),
                    "callback_data": reaction_callback_data(meme_id, Reaction.LIKE),
                },
                {
                    "text": DISLIKE,
                    "callback_data": reaction_callback_data(meme_id, Reaction.DISLIKE),
                },
            ]
        ]
    }


def retry_keyboard(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text(language, "retry"), callback_data=RETRY_CALLBACK)]]
    )


def share_url(bot_username: str, user_id: int, meme_id: int) -> str:
    return f"https://t.me/{bot_username}?start=s_{user_id}_{meme_id}"


def meme_caption(
    caption: str | None, *, bot_username: str, user_id: int, meme_id: int, language: str
) -> str:
    """The meme's own caption (escaped, trimmed to fit) plus the sharer's deep link."""
    link = (
        f'<i><a href="{html.escape(share_url(bot_username, user_id, meme_id))}">'
        f"{html.escape(text(language, 'share_link'))}</a></i>"
    )
    if not caption:
        return link
    room = CAPTION_LIMIT - len(text(language, "share_link")) - 8
    return f"{html.escape(caption[:room])}\n\n{link}"


LANGUAGE_CHOICES = (("en", "English"), ("ru", "Русский"), ("en+ru", "English + Русский"))
LANGUAGE_CALLBACK_PREFIX = "l:"
CHANGE_REACTION_PREFIX = "u:"
REVIEW_PREFIX = "m:"


def language_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(label, callback_data=f"{LANGUAGE_CALLBACK_PREFIX}{codes}")
                for codes, label in LANGUAGE_CHOICES[:2]
            ],
            [
                InlineKeyboardButton(
                    LANGUAGE_CHOICES[2][1],
                    callback_data=f"{LANGUAGE_CALLBACK_PREFIX}{LANGUAGE_CHOICES[2][0]}",
                )
            ],
        ]
    )


def parse_language_choice(data: str | None) -> list[str] | None:
    """`l:en`, `l:ru` or `l:en+ru`; None for anything else."""
    choice = (data or "").removeprefix(LANGUAGE_CALLBACK_PREFIX)
    if choice not in {codes for codes, _ in LANGUAGE_CHOICES}:
        return None
    return choice.split("+")


def change_reaction_keyboard(meme_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    HEARTS[0],
                    callback_data=f"{CHANGE_REACTION_PREFIX}{meme_id}:{int(Reaction.LIKE)}",
                ),
                InlineKeyboardButton(
                    DISLIKE,
                    callback_data=f"{CHANGE_REACTION_PREFIX}{meme_id}:{int(Reaction.DISLIKE)}",
                ),
            ]
        ]
    )


def review_keyboard(upload_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("✅ Approve", callback_data=f"{REVIEW_PREFIX}a:{upload_id}"),
                InlineKeyboardButton("❌ Reject", callback_data=f"{REVIEW_PREFIX}r:{upload_id}"),
            ]
        ]
    )


def parse_review(data: str | None) -> tuple[int, bool] | None:
    """`m:a:<upload_id>` (approve) or `m:r:<upload_id>` (reject)."""
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[1] not in {"a", "r"} or not parts[2].isdigit():
        return None
    if len(parts[2]) > 18:
        return None
    return int(parts[2]), parts[1] == "a"
