"""Onboarding: every universal side effect of /start, idempotent and before any deep-link branch.

DESIGN.md lessons 1 and 2: the user is created by one upsert that returns the row, the Telegram
profile, deep-link log and language rows are written in the same transaction, and a user whose
language rows are missing gets them back on the next /start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg

CYRILLIC = re.compile(r"[\u0400-\u04FF]")
# Telegram clients in these locales read Russian-language memes far more often than English ones.
RUSSIAN_READING_LANGUAGES = frozenset({"ru", "uk", "be", "kk", "ky", "uz", "tg", "hy", "az"})
SHARE_LINK = re.compile(r"^s_(\d{1,20})_(\d{1,20})$")
MAX_DEEP_LINK_LENGTH = 64


@dataclass(frozen=True)
class TelegramProfile:
    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool | None = None


@dataclass(frozen=True)
class ShareLink:
    inviter_id: int
    meme_id: int


@dataclass(frozen=True)
class OnboardedUser:
    user_id: int
    is_new: bool
    user_type: str
    languages: tuple[str, ...]
    share_link: ShareLink | None


def parse_share_link(deep_link: str | None) -> ShareLink | None:
    match = SHARE_LINK.match(deep_link or "")
    if match is None:
        return None
    return ShareLink(inviter_id=int(match.group(1)), meme_id=int(match.group(2)))


def languages_from_profile(profile: TelegramProfile) -> list[str]:
    """Content languages to start a new user with, most telling signal first."""
    languages: list[str] = []
    full_name = f"{profile.first_name} {profile.last_name or ''}"
    telegram_language = (profile.language_code or "").split("-")[0].lower()[:8] or None
    if CYRILLIC.search(full_name) or telegram_language in RUSSIAN_READING_LANGUAGES:
        languages.append("ru")
    if telegram_language and telegram_language not in languages:
        languages.append(telegram_language)
    if not languages:
        languages.append("en")
    return languages


async def onboard(
    pool: asyncpg.Pool, profile: TelegramProfile, deep_link: str | None
) -> OnboardedUser:
    """Apply every /start side effect in one transaction and return the user."""
    deep_link = (deep_link or "")[:MAX_DEEP_LINK_LENGTH] or None
    share_link = parse_share_link(deep_link)
    async with pool.acquire() as connection, connection.transaction():
        user = await connection.fetchrow(
            """
            insert into app."user" (id, type, last_active_at)
            values ($1, 'user', now())
            on conflict (id) do update
                set last_active_at = now(),
                    blocked_bot_at = null,
                    type = case when app."user".type = 'blocked_bot' then 'user'
                                else app."user".type end
            returning id, type, (xmax = 0) as is_new
            """,
            profile.user_id,
        )
        assert user is not None
        await connection.execute(
            """
            insert into app.user_tg
                (id, username, first_name, last_name, is_premium, language_code, deep_link)
            values ($1, $2, $3, $4, $5, $6, $7)
            on conflict (id) do update
                set username = excluded.username,
                    first_name = excluded.first_name,
                    last_name = excluded.last_name,
                    is_premium = excluded.is_premium,
                    language_code = excluded.language_code,
                    -- the first share-link attribution is kept for invite stats
                    deep_link = case when app.user_tg.deep_link ~ '^s_[0-9]+_[0-9]+$'
                                     then app.user_tg.deep_link
                                     else coalesce(excluded.deep_link, app.user_tg.deep_link) end,
                    updated_at = now()
            """,
            profile.user_id,
            profile.username,
            profile.first_name or "",
            profile.last_name,
            profile.is_premium,
            profile.language_code,
            deep_link,
        )
        if deep_link is not None:
            await connection.execute(
                "insert into app.user_deep_link_log (user_id, deep_link) values ($1, $2)",
                profile.user_id,
                deep_link,
            )
        # Only a user with no language rows gets them from the profile: a new user, or one whose
        # rows went missing (repair). Someone who chose languages keeps the choice.
        await connection.execute(
            """
            insert into app.user_language (user_id, language_code)
            select $1, language_code from unnest($2::text[]) as language_code
            where not exists (select 1 from app.user_language where user_id = $1)
            on conflict do nothing
            """,
            profile.user_id,
            languages_from_profile(profile),
        )
        if user["is_new"] and share_link is not None and share_link.inviter_id != profile.user_id:
            await connection.execute(
                """
                update app."user" set inviter_id = $2
                where id = $1 and inviter_id is null
                  and exists (select 1 from app."user" where id = $2)
                """,
                profile.user_id,
                share_link.inviter_id,
            )
        languages = await user_languages(connection, profile.user_id)
    return OnboardedUser(
        user_id=profile.user_id,
        is_new=bool(user["is_new"]),
        user_type=user["type"],
        languages=languages,
        share_link=share_link,
    )


def language_signal_is_clear(profile: TelegramProfile) -> bool:
    """Whether the languages guessed from the profile can be trusted without asking.

    A Cyrillic name or a Russian-reading Telegram locale says Russian; any locale other than
    English names a language. English alone (or no locale) is the default of many clients,
    so those people get a one-tap picker.
    """
    telegram_language = (profile.language_code or "").split("-")[0].lower()
    full_name = f"{profile.first_name} {profile.last_name or ''}"
    return bool(CYRILLIC.search(full_name)) or telegram_language not in {"", "en"}


async def set_languages(pool: asyncpg.Pool, user_id: int, languages: list[str]) -> None:
    """Replace the user's content languages (the /lang and picker choice)."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            """
            delete from app.user_language
            where user_id = $1 and language_code <> all($2::text[])
            """,
            user_id,
            languages,
        )
        await connection.execute(
            """
            insert into app.user_language (user_id, language_code)
            select $1, language_code from unnest($2::text[]) as language_code
            on conflict do nothing
            """,
            user_id,
            languages,
        )


async def user_languages(
    database: asyncpg.Pool | asyncpg.Connection, user_id: int
) -> tuple[str, ...]:
    """The user's content languages in the order they were added."""
    languages = await database.fetchval(
        """
        select coalesce(array_agg(language_code order by created_at, language_code), '{}')
        from app.user_language where user_id = $1
        """,
        user_id,
    )
    return tuple(languages)


async def set_blocked(pool: asyncpg.Pool, user_id: int, *, blocked: bool = True) -> None:
    """The user blocked the bot (a Forbidden answer, a my_chat_member kick) or unblocked it.

    The first time of a block is kept; /start clears it too (see `onboard`).
    """
    await pool.execute(
        """
        update app."user"
        set blocked_bot_at = case when $2 then coalesce(blocked_bot_at, now()) end
        where id = $1
        """,
        user_id,
        blocked,
    )
