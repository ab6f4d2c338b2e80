"""Handlers for what people send in (uploads, moderation) and for admins (stats, broadcasts)."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ContextTypes

from bot.admin import (
    BROADCAST_ID,
    admin_stats,
    broadcast_recipients,
    claim_delivery,
    create_broadcast,
    finish_broadcast,
    is_admin,
)
from bot.handlers import SERVICES_KEY, BotServices, services_of, user_interface_language
from bot.keyboards import parse_review, review_keyboard
from bot.onboarding import set_blocked, user_languages
from bot.texts import interface_language, text
from bot.uploads import (
    UPLOADS_PER_DAY,
    PendingUpload,
    ReviewOutcome,
    UploadRefusal,
    remember_review_message,
    review_upload,
    submit_upload,
)

log = logging.getLogger(__name__)


async def upload_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo in the private chat: a meme suggestion, sent on to the review chat."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not message.photo:
        return
    services = services_of(context)
    language = await user_interface_language(context, user)
    largest = message.photo[-1]
    result = await submit_upload(
        services.pool,
        user_id=user.id,
        message_id=message.message_id,
        telegram_file_id=largest.file_id,
        telegram_file_unique_id=largest.file_unique_id,
        caption=message.caption,
    )
    if result is UploadRefusal.UNKNOWN_USER:
        await message.reply_text(text(language, "upload_unknown_user"))
        return
    if result is UploadRefusal.DAILY_LIMIT:
        await message.reply_text(text(language, "upload_limit", limit=UPLOADS_PER_DAY))
        return
    assert isinstance(result, PendingUpload)
    if services.review_chat_id is None:
        log.warning("upload %s waits: REVIEW_CHAT_ID is not set", result.upload_id)
    else:
        posted = await context.bot.send_photo(
            services.review_chat_id,
            result.telegram_file_id,
            caption=f"Upload #{result.upload_id} from user #{user.id}",
            reply_markup=review_keyboard(result.upload_id),
        )
        await remember_review_message(
            services.pool, result.upload_id, posted.chat.id, posted.message_id
        )
    await message.reply_text(text(language, "upload_received"))


async def refuse_non_image(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file, video or sticker instead of a photo: a polite refusal."""
    if update.effective_message is None or update.effective_user is None:
        return
    language = await user_interface_language(context, update.effective_user)
    await update.effective_message.reply_text(text(language, "not_an_image"))


async def review(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Approve or reject an upload; only moderators' taps count."""
    query = update.callback_query
    if query is None:
        return
    parsed = parse_review(query.data)
    language = await user_interface_language(context, query.from_user)
    if parsed is None:
        await query.answer(text(language, "bad_button"))
        return
    upload_id, approve = parsed
    services = services_of(context)
    decision = await review_upload(
        services.pool, upload_id=upload_id, moderator_id=query.from_user.id, approve=approve
    )
    if decision.outcome is ReviewOutcome.NOT_A_MODERATOR:
        await query.answer(text(language, "moderators_only"), show_alert=True)
        return
    if decision.outcome in {ReviewOutcome.ALREADY_REVIEWED, ReviewOutcome.UNKNOWN_UPLOAD}:
        await query.answer(text(language, "already_reviewed"))
        return
    await query.answer()
    verdict = "✅ approved" if decision.outcome is ReviewOutcome.APPROVED else "❌ rejected"
    if query.message is not None:
        await context.bot.edit_message_caption(
            chat_id=query.message.chat.id,
            message_id=query.message.message_id,
            caption=f"Upload #{upload_id}: {verdict} by #{query.from_user.id}",
        )
    if decision.uploader_id is not None:
        key = (
            "upload_approved" if decision.outcome is ReviewOutcome.APPROVED else "upload_rejected"
        )
        uploader_language = interface_language(
            await user_languages(services.pool, decision.uploader_id), None
        )
        try:
            await context.bot.send_message(decision.uploader_id, text(uploader_language, key))
        except Forbidden:
            await set_blocked(services.pool, decision.uploader_id)


async def _admin_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """The admin's interface language, or None after refusing anyone who is not an admin."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    language = await user_interface_language(context, user)
    if not await is_admin(services_of(context).pool, user.id):
        await context.bot.send_message(chat.id, text(language, "admins_only"))
        return None
    return language


async def admin_statistics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/admin_stats: active users, reactions today, memes per session (admins only)."""
    language = await _admin_language(update, context)
    if language is None or update.effective_chat is None:
        return
    figures = await admin_stats(services_of(context).pool)
    await context.bot.send_message(
        update.effective_chat.id,
        text(
            language,
            "admin_stats",
            active_users_24h=figures.active_users_24h,
            reactions_today=figures.reactions_today,
            memes_per_session=figures.memes_per_session,
        ),
    )


async def broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/broadcast ID TEXT: send TEXT once to every reachable user (admins only)."""
    language = await _admin_language(update, context)
    user, chat = update.effective_user, update.effective_chat
    if language is None or user is None or chat is None:
        return
    services = services_of(context)
    args = context.args or []
    if len(args) < 2 or not BROADCAST_ID.match(args[0]):
        await context.bot.send_message(chat.id, text(language, "broadcast_usage"))
        return
    broadcast_id, body = args[0], " ".join(args[1:])
    if not await create_broadcast(services.pool, broadcast_id, body, user.id):
        await context.bot.send_message(
            chat.id, text(language, "broadcast_duplicate", broadcast_id=broadcast_id)
        )
        return
    recipients = await broadcast_recipients(services.pool, broadcast_id)
    await context.bot.send_message(
        chat.id,
        text(language, "broadcast_started", broadcast_id=broadcast_id, recipients=len(recipients)),
    )
    context.application.create_task(
        _deliver_broadcast(context.application, broadcast_id, body, recipients, chat.id, language)
    )


async def _deliver_broadcast(
    application: Application,
    broadcast_id: str,
    body: str,
    recipients: list[int],
    report_chat_id: int,
    language: str,
) -> int:
    """Send one broadcast; PTB's AIORateLimiter keeps it within Telegram's limits."""
    services: BotServices = application.bot_data[SERVICES_KEY]
    delivered = 0
    for user_id in recipients:
        if not await claim_delivery(services.pool, broadcast_id, user_id):
            continue
        try:
            await application.bot.send_message(user_id, body, parse_mode=None)
            delivered += 1
        except Forbidden:
            await set_blocked(services.pool, user_id)
        except TelegramError as error:
            log.warning("broadcast %s to %s failed: %s", broadcast_id, user_id, error)
        await asyncio.sleep(0)
    await finish_broadcast(services.pool, broadcast_id)
    await application.bot.send_message(
        report_chat_id,
        text(language, "broadcast_done", broadcast_id=broadcast_id, delivered=delivered),
    )
    return delivered
