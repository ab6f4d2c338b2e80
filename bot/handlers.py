"""Telegram handlers: thin adapters from updates to the onboarding, feed and reaction services."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
from telegram import Message, Update, User
from telegram.error import Forbidden
from telegram.ext import ContextTypes

from bot import raw_api
from bot.delivery import Delivery, Recipient
from bot.feed import Feed
from bot.keyboards import (
    change_reaction_keyboard,
    language_keyboard,
    meme_caption,
    parse_language_choice,
)
from bot.onboarding import (
    TelegramProfile,
    language_signal_is_clear,
    onboard,
    set_blocked,
    set_languages,
    user_languages,
)
from bot.profile import change_reaction, last_reaction, personal_stats
from bot.reactions import (
    CHANGE_REACTION_CALLBACK,
    Reaction,
    ReactionOutcome,
    ReactionWriter,
    parse_reaction_callback,
)
from bot.texts import LANGUAGE_NAMES, interface_language, text

log = logging.getLogger(__name__)


@dataclass
class BotServices:
    """What handlers need, opened in post_init and kept in `application.bot_data`."""

    pool: asyncpg.Pool
    redis: aioredis.Redis
    feed: Feed
    delivery: Delivery
    reactions: ReactionWriter
    review_chat_id: int | None = None


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
    profile = TelegramProfile(
        user_id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
        is_premium=user.is_premium,
    )
    onboarded = await onboard(services.pool, profile, deep_link)
    if deep_link is not None and onboarded.share_link is None:
        log.info("start with unrecognised payload %r from user %s", deep_link[:64], user.id)
    language = interface_language(onboarded.languages, user.language_code)
    if onboarded.is_new:
        await context.bot.send_message(chat.id, text(language, "welcome"))
        if not language_signal_is_clear(profile):
            # The picker never holds the feed back: the first meme follows at once, and a
            # tap re-plans the queue (a user left waiting on a picker is a ghost).
            await context.bot.send_message(
                chat.id, text(language, "pick_language"), reply_markup=language_keyboard()
            )
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
    user_id = query.from_user.id
    # The next meme is taken first so that the reaction and its sent row cost one statement.
    popped = await services.feed.pop(user_id)
    result = await services.reactions.record(
        user_id,
        press.meme_id,
        press.reaction,
        claim=popped.meme if popped else None,
    )
    if result.outcome is not ReactionOutcome.RECORDED:
        if popped is not None:
            await services.feed.push_back(user_id, popped)
        key = (
            "already_counted"
            if result.outcome is ReactionOutcome.ALREADY_RECORDED
            else "not_your_meme"
        )
        await query.answer(text(language, key))
        return
    next_meme = None
    if popped is not None and result.claimed_next:
        services.feed.after_claim(user_id, popped)
        next_meme = popped.meme
    chat_id = query.message.chat.id if query.message else user_id
    # A like keeps the meme in the chat; a dislike swaps it for the next one in place.
    replace = query.message if press.reaction is Reaction.DISLIKE else None
    try:
        await services.delivery.send_next(
            context.bot,
            Recipient(user_id, chat_id, language),
            replace_message=replace if isinstance(replace, Message) else None,
            first_meme=next_meme,
        )
    finally:
        # Answered after the next meme is on its way: the meme, not the spinner, is what the
        # user waits for.
        await raw_api.answer_callback_query(context.bot, query.id)


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


async def choose_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on the language picker: the feed switches to those languages."""
    query = update.callback_query
    if query is None:
        return
    languages = parse_language_choice(query.data)
    language = interface_language([], query.from_user.language_code)
    if languages is None:
        await query.answer(text(language, "bad_button"))
        return
    services = services_of(context)
    await set_languages(services.pool, query.from_user.id, languages)
    await services.feed.forget_queue(query.from_user.id)
    language = interface_language(languages, None)
    await query.answer()
    names = " + ".join(LANGUAGE_NAMES.get(code, code) for code in languages)
    if query.message is not None:
        await context.bot.edit_message_text(
            text(language, "language_set", languages=names),
            chat_id=query.message.chat.id,
            message_id=query.message.message_id,
        )


async def lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/lang: the language picker."""
    if update.effective_user is None or update.effective_chat is None:
        return
    language = await user_interface_language(context, update.effective_user)
    await context.bot.send_message(
        update.effective_chat.id, text(language, "pick_language"), reply_markup=language_keyboard()
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: what the bot does and its commands."""
    if update.effective_user is None or update.effective_chat is None:
        return
    language = await user_interface_language(context, update.effective_user)
    await context.bot.send_message(update.effective_chat.id, text(language, "help"))


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats: the user's own numbers."""
    if update.effective_user is None or update.effective_chat is None:
        return
    language = await user_interface_language(context, update.effective_user)
    figures = await personal_stats(services_of(context).pool, update.effective_user.id)
    await context.bot.send_message(
        update.effective_chat.id,
        text(
            language,
            "stats",
            memes_seen=figures.memes_seen,
            likes=figures.likes,
            like_rate=figures.like_rate,
            active_days=figures.active_days,
            invited_users=figures.invited_users,
        ),
    )


async def last(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/last: the last reacted meme again, with buttons to change the reaction."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    language = await user_interface_language(context, user)
    found = await last_reaction(services_of(context).pool, user.id)
    if found is None:
        await context.bot.send_message(chat.id, text(language, "no_last"))
        return
    mark = "❤️" if found.reaction is Reaction.LIKE else "⏬"
    caption = meme_caption(
        found.meme.caption,
        bot_username=context.bot.username,
        user_id=user.id,
        meme_id=found.meme.meme_id,
        language=language,
    )
    await context.bot.send_photo(
        chat.id,
        found.meme.telegram_file_id,
        caption=f"{text(language, 'last', reaction=mark)}\n\n{caption}",
        reply_markup=change_reaction_keyboard(found.meme.meme_id),
    )


async def change_last_reaction(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button under /last: change a reaction already given (undo a mistaken tap)."""
    query = update.callback_query
    if query is None:
        return
    language = interface_language([], query.from_user.language_code)
    press = parse_reaction_callback(query.data, CHANGE_REACTION_CALLBACK)
    if press is None:
        await query.answer(text(language, "bad_button"))
        return
    changed = await change_reaction(
        services_of(context).pool, query.from_user.id, press.meme_id, press.reaction
    )
    await query.answer(text(language, "reaction_changed" if changed else "not_your_meme"))


async def chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The user blocked or unblocked the bot (my_chat_member in a private chat)."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    blocked = change.new_chat_member.status in {"kicked", "left"}
    await set_blocked(services_of(context).pool, change.from_user.id, blocked=blocked)


async def user_interface_language(context: ContextTypes.DEFAULT_TYPE, user: User) -> str:
    languages = await user_languages(services_of(context).pool, user.id)
    return interface_language(languages, user.language_code)


async def unknown_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other button press gets a polite answer, so the client stops spinning."""
    if update.callback_query is not None:
        language = interface_language([], update.callback_query.from_user.language_code)
        await update.callback_query.answer(text(language, "bad_button"))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every failure; a Forbidden means the user blocked the bot."""
    if isinstance(context.error, Forbidden) and isinstance(update, Update):
        if update.effective_user is not None:
            await set_blocked(services_of(context).pool, update.effective_user.id)
        return
    log.error("update %r failed", update, exc_info=context.error)
