"""Sending memes to a chat: the next one from the feed, with its buttons and share link."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg
from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, TimedOut

from bot import raw_api
from bot.feed import Feed, QueuedMeme
from bot.keyboards import meme_caption, reaction_markup, retry_keyboard
from bot.onboarding import set_blocked
from bot.texts import text

log = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 5


@dataclass(frozen=True)
class Recipient:
    user_id: int
    chat_id: int
    language: str


class Delivery:
    def __init__(self, pool: asyncpg.Pool, feed: Feed) -> None:
        self._pool = pool
        self._feed = feed

    async def send_next(
        self,
        bot: Bot,
        recipient: Recipient,
        *,
        replace_message: Message | None = None,
        first_meme: QueuedMeme | None = None,
    ) -> QueuedMeme | None:
        """Deliver the next unseen meme; "memes ended" only when the feed has nothing left.

        With `replace_message` (after a dislike) the meme is swapped in place.
        """
        meme = first_meme
        for _ in range(MAX_DELIVERY_ATTEMPTS):
            if meme is None:
                meme = await self._feed.claim_next(recipient.user_id)
            if meme is None:
                await bot.send_message(
                    recipient.chat_id,
                    text(recipient.language, "memes_ended"),
                    reply_markup=retry_keyboard(recipient.language),
                )
                return None
            try:
                await self._send(bot, recipient, meme, replace_message)
                return meme
            except Forbidden:
                await self._feed.release(recipient.user_id, meme.meme_id)
                await set_blocked(self._pool, recipient.user_id)
                return None
            except TimedOut:
                # The user may or may not have it; the sent row stays so it is never repeated.
                log.warning("timed out sending meme %s to %s", meme.meme_id, recipient.user_id)
                return meme
            except BadRequest as error:
                if replace_message is not None and "message to edit not found" in str(error):
                    replace_message = None
                    continue
                log.warning("meme %s is broken for Telegram: %s", meme.meme_id, error)
                await self._feed.release(recipient.user_id, meme.meme_id)
                await self._pool.execute(
                    """
                    update app.meme set status = 'broken_content_link', status_reason = $2,
                        updated_at = now()
                    where id = $1
                    """,
                    meme.meme_id,
                    str(error)[:500],
                )
                meme = None
        return None

    async def _send(
        self, bot: Bot, recipient: Recipient, meme: QueuedMeme, replace_message: Message | None
    ) -> None:
        caption = meme_caption(
            meme.caption,
            bot_username=bot.username,
            user_id=recipient.user_id,
            meme_id=meme.meme_id,
            language=recipient.language,
        )
        keyboard = reaction_markup(meme.meme_id)
        if replace_message is not None:
            await raw_api.replace_photo(
                bot,
                recipient.chat_id,
                replace_message.message_id,
                meme.telegram_file_id,
                caption=caption,
                reply_markup=keyboard,
            )
            return
        await raw_api.send_photo(
            bot, recipient.chat_id, meme.telegram_file_id, caption=caption, reply_markup=keyboard
        )
