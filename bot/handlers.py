"""Telegram handlers: thin adapters from updates to the onboarding, feed and reaction services."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
from telegram import Message, Update
from telegram.error import Forbidden
from telegram.ext import ContextTypes

from bot.delivery import Delivery, Recipient
from bot.feed import Feed
from bot.onboarding import TelegramProfile, mark_blocked, onboard
from bot.reactions import Reaction, ReactionOutcome, parse_reaction_callback, record_reaction
from bot.texts import interface_language, text

log = logging.getLogger(__name__)


@dataclass
class BotServices:
    """What handlers need, opened in post_init and kept in `application.bot_data`."""

    pool: asyncpg.Pool
    redis: aioredis.Redis
    feed: Feed
    delivery: Delivery


SERVICES_KEY = "memefeed_services"


def services_of(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.application.bot_data[SERVICES_KEY]


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start [payload]: onboard the user (always, before any branch), then the first meme."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    services = services_of(context)
    deep_link = context.args[0] if context.args else None
    onboarded = await onboard(
        services.pool,
        TelegramProfile(
            user_id=user.id,
            first_name=user.first_name,
            last_name=user.last_name,
            username=user.username,
            language_code=user.language_code,
            is_premium=user.is_premium,
        ),
        deep_link,
    )
    if deep_link is not None and onboarded.share_link is None:
        log.info("start with unrecognised payload %r from user %s", deep_link[:64], user.id)
    language = interface_language(onboarded.languages, user.language_code)
    if onboarded.is_new:
        await context.bot.send_message(chat.id, text(language, "welcome"))
    first_meme = None
    if onboarded.share_link is not None:
        first_meme = await services.feed.claim_specific(user.id, onboarded.share_link.meme_id)
    await services.delivery.send_next(
        context.bot, Recipient(user.id, chat.id, language), first_meme=first_meme
    )


async def react(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A like or dislike button: record it once, then the next meme."""
    query = update.callback_query
    if query is None:
        return
    services = services_of(context)
    language = interface_language([], query.from_user.language_code)
    press = parse_reaction_callback(query.data)
    if press is None:
        await query.answer(text(language, "bad_button"))
        return
    outcome = await record_reaction(
        services.pool, query.from_user.id, press.meme_id, press.reaction
    )
    if outcome is ReactionOutcome.NOT_SENT_TO_USER:
        await query.answer(text(language, "not_your_meme"))
        return
    if outcome is ReactionOutcome.ALREADY_RECORDED:
        await query.answer(text(language, "already_counted"))
        return
    await query.answer()
    chat_id = query.message.chat.id if query.message else query.from_user.id
    # A like keeps the meme in the chat; a dislike swaps it for the next one in place.
    replace = query.message if press.reaction is Reaction.DISLIKE else None
    await services.delivery.send_next(
        context.bot,
        Recipient(query.from_user.id, chat_id, language),
        replace_message=replace if isinstance(replace, Message) else None,
    )


async def retry(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The retry button under "memes ended": look again for an unseen meme."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    language = interface_language([], query.from_user.language_code)
    chat_id = query.message.chat.id if query.message else query.from_user.id
    await services_of(context).delivery.send_next(
        context.bot, Recipient(query.from_user.id, chat_id, language)
    )


async def unknown_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other button press gets a polite answer, so the client stops spinning."""
    if update.callback_query is not None:
        language = interface_language([], update.callback_query.from_user.language_code)
        await update.callback_query.answer(text(language, "bad_button"))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every failure; a Forbidden means the user blocked the bot."""
    if isinstance(context.error, Forbidden) and isinstance(update, Update):
        if update.effective_user is not None:
            await mark_blocked(services_of(context).pool, update.effective_user.id)
        return
    log.error("update %r failed", update, exc_info=context.error)
