"""Memes people send in: an upload waits for a moderator, and an approved one joins the feed."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import asyncpg

UPLOADS_PER_DAY = 5
UPLOAD_SOURCE_URL = "telegram://user-uploads"


class UploadRefusal(enum.Enum):
    UNKNOWN_USER = "unknown_user"
    DAILY_LIMIT = "daily_limit"


@dataclass(frozen=True)
class PendingUpload:
    upload_id: int
    user_id: int
    telegram_file_id: str
    caption: str | None


class ReviewOutcome(enum.Enum):
    APPROVED = "approved"
    REJECTED = "rejected"
    ALREADY_REVIEWED = "already_reviewed"
    NOT_A_MODERATOR = "not_a_moderator"
    UNKNOWN_UPLOAD = "unknown_upload"


@dataclass(frozen=True)
class Review:
    outcome: ReviewOutcome
    uploader_id: int | None = None
    meme_id: int | None = None


async def submit_upload(
    pool: asyncpg.Pool,
    *,
    user_id: int,
    message_id: int,
    telegram_file_id: str,
    telegram_file_unique_id: str,
    caption: str | None,
) -> PendingUpload | UploadRefusal:
    """Record a photo for review, within the per-day limit; a redelivered message counts once."""
    async with pool.acquire() as connection, connection.transaction():
        user = await connection.fetchrow(
            # The row lock serialises one user's uploads, so the daily limit holds under races.
            'select id from app."user" where id = $1 for update',
            user_id,
        )
        if user is None:
            return UploadRefusal.UNKNOWN_USER
        existing = await connection.fetchrow(
            """
            select id, telegram_file_id, caption from app.meme_raw_upload
            where user_id = $1 and message_id = $2
            """,
            user_id,
            message_id,
        )
        if existing is not None:
            return PendingUpload(
                existing["id"], user_id, existing["telegram_file_id"], existing["caption"]
            )
        uploads_today = await connection.fetchval(
            """
            select count(*) from app.meme_raw_upload
            where user_id = $1 and created_at > now() - interval '1 day'
            """,
            user_id,
        )
        if uploads_today >= UPLOADS_PER_DAY:
            return UploadRefusal.DAILY_LIMIT
        upload_id = await connection.fetchval(
            """
            insert into app.meme_raw_upload
                (user_id, message_id, telegram_file_id, telegram_file_unique_id, caption,
                 language_code)
            values ($1, $2, $3, $4, $5,
                    (select language_code from app.user_language where user_id = $1
                     order by created_at, language_code limit 1))
            returning id
            """,
            user_id,
            message_id,
            telegram_file_id,
            telegram_file_unique_id,
            caption,
        )
    return PendingUpload(upload_id, user_id, telegram_file_id, caption)


async def remember_review_message(
    pool: asyncpg.Pool, upload_id: int, chat_id: int, message_id: int
) -> None:
    await pool.execute(
        """
        update app.meme_raw_upload set review_chat_id = $2, review_message_id = $3
        where id = $1
        """,
        upload_id,
        chat_id,
        message_id,
    )


async def review_upload(
    pool: asyncpg.Pool, *, upload_id: int, moderator_id: int, approve: bool
) -> Review:
    """A moderator's decision; only the first decision counts, and only moderators decide."""
    async with pool.acquire() as connection, connection.transaction():
        is_moderator = await connection.fetchval(
            """select exists (select 1 from app."user" where id = $1
                              and type in ('moderator', 'admin'))""",
            moderator_id,
        )
        if not is_moderator:
            return Review(ReviewOutcome.NOT_A_MODERATOR)
        upload = await connection.fetchrow(
            """
            update app.meme_raw_upload
            set status = $3, reviewed_by = $2, reviewed_at = now()
            where id = $1 and status = 'pending'
            returning user_id, telegram_file_id, telegram_file_unique_id, caption, language_code,
                      created_at
            """,
            upload_id,
            moderator_id,
            "approved" if approve else "rejected",
        )
        if upload is None:
            exists = await connection.fetchval(
                "select exists (select 1 from app.meme_raw_upload where id = $1)", upload_id
            )
            return Review(
                ReviewOutcome.ALREADY_REVIEWED if exists else ReviewOutcome.UNKNOWN_UPLOAD
            )
        if not approve:
            return Review(ReviewOutcome.REJECTED, uploader_id=upload["user_id"])
        # The photo already lives on Telegram, so the approved upload is servable at once.
        meme_id = await connection.fetchval(
            """
            with source as (
                insert into app.meme_source (type, url, status)
                values ('user upload', $1, 'parsing_disabled')
                on conflict (url) do update set updated_at = now()
                returning id
            )
            insert into app.meme (meme_source_id, raw_meme_id, status, type, telegram_file_id,
                                  caption, language_code, content_sha256, published_at)
            select source.id, $2, 'ok', 'image', $3, $4, $5, $6, now() from source
            on conflict (meme_source_id, raw_meme_id) do update set updated_at = now()
            returning id
            """,
            UPLOAD_SOURCE_URL,
            upload_id,
            upload["telegram_file_id"],
            upload["caption"],
            upload["language_code"],
            "telegram:" + upload["telegram_file_unique_id"],
        )
        await connection.execute(
            "update app.meme_raw_upload set meme_id = $2 where id = $1", upload_id, meme_id
        )
    return Review(ReviewOutcome.APPROVED, uploader_id=upload["user_id"], meme_id=meme_id)
