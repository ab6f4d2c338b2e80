"""Inline keyboards and captions for memes; callback data keeps a short routing prefix."""

from __future__ import annotations

import html
import random

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.reactions import Reaction, reaction_callback_data
from bot.texts import text

HEARTS = ("❤️", "♥️", "💙", "💜", "💛", "🧡", "💚", "🩵")
DISLIKE = "⏬"
RETRY_CALLBACK = "q:retry"
CAPTION_LIMIT = 1024


def reaction_keyboard(meme_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    random.choice(HEARTS),
                    callback_data=reaction_callback_data(meme_id, Reaction.LIKE),
                ),
                InlineKeyboardButton(
                    DISLIKE, callback_data=reaction_callback_data(meme_id, Reaction.DISLIKE)
                ),
            ]
        ]
    )


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
