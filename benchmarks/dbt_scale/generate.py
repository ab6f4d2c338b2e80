"""Create `memefeed_bench` and load a realistic app dataset into it with COPY.

    .venv/bin/python -m benchmarks.dbt_scale.generate              # 100k users, 200k memes, 10M
    .venv/bin/python -m benchmarks.dbt_scale.generate --scale 0.05 # a smoke-test size
    .venv/bin/python -m benchmarks.dbt_scale.generate --force      # drop and load again

Idempotent: when the database already holds a complete dataset of the requested size it is
left alone (a half-loaded one is dropped and loaded again). Shape of the data:

- a few hundred meme sources (Telegram channels with raw posts and view counts, local
  folders, user uploads), sizes skewed;
- memes: mostly 'ok' with a telegram_file_id, some duplicates / broken / pending; languages
  ru / en / other; published over the last year;
- users with Telegram-like ids growing with signup time, 1-2 languages, a few moderators,
  admins and users who blocked the bot, and ~4% who never got a meme;
- reactions: per-user activity is Zipf-like; each user's history is a chain of sessions
  (sends seconds apart, sessions separated by hours or days); reaction times log-normal;
  the last send of most sessions is left unreacted (~5% of sends); memes are picked with
  Zipf popularity, mostly from the user's languages, never twice for a user; the like
  chance follows the meme's quality and the user's bias;
- deep links for a few % of users, among them `s_<user>_<meme>` share links whose openers
  have the sharer as inviter.

Generation is vectorised with numpy and streamed to COPY chunk by chunk (a few hundred
thousand rows at a time). The reaction table's primary key, indexes and all foreign keys
are dropped during the load and re-created (and so validated) afterwards; then VACUUM ANALYZE,
which sets the rows' hint bits as autovacuum would on a live database: otherwise the first
reader of the 10M fresh rows writes them (the floor's first pass took 32 s instead of 21 s).
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeAlias

import numpy as np
import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from benchmarks.dbt_scale.common import (
    BENCH_DATABASE,
    META_SCHEMA,
    Progress,
    bench_database_url,
    database_exists,
    format_seconds,
    log,
    server_url_from_env,
)
from memefeed.migrations import upgrade_to_head
from memefeed.services import create_database, drop_database

Connection: TypeAlias = psycopg2.extensions.connection

FULL_USERS = 100_000
FULL_MEMES = 200_000
FULL_REACTIONS = 10_000_000

SECONDS_PER_DAY = 86_400
MEME_STATUS_DELAY_US = 5 * 60 * 10**6
HISTORY_DAYS = 365
REACTION_ROWS_PER_CHUNK = 250_000

# Shares of what a source, a meme, a user is. Tuples of (value, probability).
SOURCE_TYPES = (("telegram", 0.85), ("local", 0.10), ("user upload", 0.05))
SOURCE_LANGUAGES = (("ru", 0.55), ("en", 0.35), ("uk", 0.04), ("es", 0.03), ("de", 0.03))
MEME_STATUSES = (
    ("ok", 0.88),
    ("duplicate", 0.05),
    ("broken_content_link", 0.02),
    ("created", 0.015),
    ("not_an_image", 0.01),
    ("ad", 0.01),
    ("too_large", 0.005),
    ("waiting_review", 0.01),
)
MEME_TYPES = (("image", 0.85), ("animation", 0.08), ("video", 0.07))
TELEGRAM_LANGUAGES = (
    ("ru", 0.52),
    ("en", 0.28),
    ("uk", 0.06),
    ("es", 0.03),
    ("de", 0.03),
    ("pt", 0.02),
    ("kk", 0.02),
    ("", 0.04),  # Telegram sent no language_code
)
RUSSIAN_READING_TELEGRAM_LANGUAGES = {"ru", "uk", "kk"}
RECOMMENDERS = (("lr_smoothed", 0.55), ("exploration", 0.25), ("fallback", 0.20))
COLD_START_SENDS = 10
FIRST_NAMES = ("Alex", "Maria", "Ivan", "Olga", "Sam", "Dmitry", "Anna", "Max", "Kate", "Юля")

GHOST_USER_SHARE = 0.04  # users who never got a meme
USER_ACTIVITY_EXPONENT = 0.8  # Zipf-like: activity of the k-th most active user ~ k^-0.8
MEME_POPULARITY_EXPONENT = 0.9
MAX_USER_SHARE_OF_POOL = 0.3  # the most active user saw at most 30% of their language's memes
MEAN_SESSION_SENDS = 18
UNREACTED_SESSION_END_SHARE = 0.9  # ~ 0.9 / 18 = 5% of sends are unreacted
OWN_LANGUAGE_DRAW_SHARE = 0.85
SHARE_LINK_USER_SHARE = 0.02
OTHER_DEEP_LINK_USER_SHARE = 0.02


@dataclass(frozen=True)
class DatasetSize:
    users: int
    memes: int
    reactions: int


@dataclass
class Memes:
    """Meme ids are 1..n; arrays are indexed by meme id - 1."""

    source_id: np.ndarray
    language: np.ndarray  # 'ru' / 'en' / other codes
    is_ok: np.ndarray
    published_at_us: np.ndarray
    quality: np.ndarray  # the chance a neutral user likes it
    # ok memes by popularity, most popular first: all, Russian, English
    popular_all: np.ndarray
    popular_ru: np.ndarray
    popular_en: np.ndarray


@dataclass
class Users:
    """Users in signup order; arrays are indexed by position."""

    telegram_id: np.ndarray
    reaction_count: np.ndarray
    telegram_language: np.ndarray
    reads_russian: np.ndarray  # primary pool: Russian memes, else English
    is_bilingual: np.ndarray
    like_bias: np.ndarray
    inviter_position: np.ndarray  # -1: no inviter (opened a share link otherwise)
    shared_meme_id: np.ndarray
    other_deep_link: np.ndarray  # '' when none


def pick(rng: np.random.Generator, choices: Iterable[tuple[str, float]], size: int) -> np.ndarray:
    values, weights = zip(*choices, strict=True)
    probabilities = np.asarray(weights, dtype=float)
    return rng.choice(
        np.asarray(values, dtype=object), size=size, p=probabilities / probabilities.sum()
    )


def zipf_cdf(size: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.power(np.arange(size, dtype=float) + 5.0, exponent)
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def timestamps(microseconds: np.ndarray) -> list[str]:
    """Epoch microseconds -> ISO-8601 UTC strings COPY reads as timestamptz."""
    as_datetime = microseconds.astype("datetime64[us]")
    return np.datetime_as_string(as_datetime, unit="us", timezone="UTC").tolist()


def csv_text(columns: list[list[str]]) -> io.StringIO:
    """Rows of already-formatted fields (no commas, quotes or newlines; '' is NULL)."""
    buffer = io.StringIO()
    buffer.write("\n".join(map(",".join, zip(*columns, strict=True))))
    buffer.write("\n")
    buffer.seek(0)
    return buffer


def copy_rows(
    connection: Connection, table: str, columns: tuple[str, ...], data: io.StringIO
) -> None:
    statement = sql.SQL("copy {} ({}) from stdin with (format csv)").format(
        sql.SQL(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with connection.cursor() as cursor:
        cursor.copy_expert(statement.as_string(connection), data)


def optional_ints(values: np.ndarray, present: np.ndarray) -> list[str]:
    return np.where(present, values.astype(str), "").tolist()


# ------------------------------------------------------------------------------ sources, memes


def load_sources_and_memes(
    connection: Connection, rng: np.random.Generator, size: DatasetSize, now_us: int
) -> Memes:
    source_count = max(12, min(300, size.memes // 700))
    source_types = pick(rng, SOURCE_TYPES, source_count)
    source_types[:3] = ["telegram", "local", "user upload"]
    source_languages = pick(rng, SOURCE_LANGUAGES, source_count)
    source_languages[:6] = ["ru", "en", "ru", "en", "ru", "en"]
    source_ids = np.arange(1, source_count + 1)
    source_urls = [
        f"https://t.me/s/memes_channel_{source_id}"
        if source_type == "telegram"
        else f"/srv/memes/folder_{source_id}"
        if source_type == "local"
        else f"upload://moderators/{source_id}"
        for source_id, source_type in zip(source_ids.tolist(), source_types, strict=True)
    ]
    source_statuses = np.where(rng.random(source_count) < 0.9, "parsing_enabled", "snoozed")
    copy_rows(
        connection,
        "app.meme_source",
        ("id", "type", "url", "status", "language_code", "created_at"),
        csv_text(
            [
                source_ids.astype(str).tolist(),
                source_types.tolist(),
                source_urls,
                source_statuses.tolist(),
                source_languages.tolist(),
                timestamps(
                    now_us - rng.integers(200, 400, source_count) * SECONDS_PER_DAY * 10**6
                ),
            ]
        ),
    )

    # some channels are far bigger than others
    source_weights = 1.0 / np.power(rng.permutation(source_count) + 3.0, 0.7)
    meme_sources = rng.choice(source_ids, size=size.memes, p=source_weights / source_weights.sum())
    meme_source_types = source_types[meme_sources - 1]
    meme_languages = np.where(
        rng.random(size.memes) < 0.93,
        source_languages[meme_sources - 1],
        pick(rng, SOURCE_LANGUAGES, size.memes),
    )
    statuses = pick(rng, MEME_STATUSES, size.memes)
    statuses[0] = "ok"
    # published over the last year, with more memes lately
    published_age_us = (
        (1 - np.sqrt(rng.random(size.memes))) * HISTORY_DAYS * SECONDS_PER_DAY * 10**6
    ).astype(np.int64)
    published_at_us = np.sort(now_us - published_age_us - 3_600 * 10**6)
    meme_ids = np.arange(1, size.memes + 1)

    # raw rows: Telegram posts (with views) and local files; uploads point at themselves
    is_telegram = meme_source_types == "telegram"
    is_local = meme_source_types == "local"
    raw_ids = meme_ids.copy()
    raw_ids[is_telegram] = np.arange(1, is_telegram.sum() + 1)
    raw_ids[is_local] = np.arange(1, is_local.sum() + 1)
    views = (rng.lognormal(np.log(8_000), 1.0, size.memes)).astype(np.int64)
    post_ids = raw_ids * 3 + 1000
    telegram_rows = np.flatnonzero(is_telegram)
    copy_rows(
        connection,
        "app.meme_raw_telegram",
        ("id", "meme_source_id", "post_id", "url", "date", "content", "media", "views"),
        csv_text(
            [
                raw_ids[telegram_rows].astype(str).tolist(),
                meme_sources[telegram_rows].astype(str).tolist(),
                post_ids[telegram_rows].astype(str).tolist(),
                [
                    f"https://t.me/memes_channel_{source}/{post}"
                    for source, post in zip(
                        meme_sources[telegram_rows].tolist(),
                        post_ids[telegram_rows].tolist(),
                        strict=True,
                    )
                ],
                timestamps(published_at_us[telegram_rows]),
                np.where(rng.random(len(telegram_rows)) < 0.3, "funny caption", "").tolist(),
                ['"[{""type"": ""photo""}]"'] * len(telegram_rows),
                views[telegram_rows].astype(str).tolist(),
            ]
        ),
    )
    local_rows = np.flatnonzero(is_local)
    copy_rows(
        connection,
        "app.meme_raw_local",
        ("id", "meme_source_id", "relative_path", "content_sha256", "language_code", "date"),
        csv_text(
            [
                raw_ids[local_rows].astype(str).tolist(),
                meme_sources[local_rows].astype(str).tolist(),
                [f"memes/{raw_id}.jpg" for raw_id in raw_ids[local_rows].tolist()],
                [f"{meme_id:064x}" for meme_id in meme_ids[local_rows].tolist()],
                meme_languages[local_rows].tolist(),
                timestamps(published_at_us[local_rows]),
            ]
        ),
    )

    is_ok = statuses == "ok"
    has_file = is_ok | (statuses == "duplicate")
    duplicate_of = np.maximum(1, (rng.random(size.memes) * meme_ids).astype(np.int64))
    is_duplicate = statuses == "duplicate"
    hashes = rng.integers(-(2**62), 2**62, size.memes)
    progress = Progress("memes", size.memes)
    copy_rows(
        connection,
        "app.meme",
        (
            "id",
            "meme_source_id",
            "raw_meme_id",
            "status",
            "type",
            "telegram_file_id",
            "language_code",
            "content_sha256",
            "perceptual_hash",
            "width",
            "height",
            "duplicate_of",
            "published_at",
            "created_at",
            "updated_at",
        ),
        csv_text(
            [
                meme_ids.astype(str).tolist(),
                meme_sources.astype(str).tolist(),
                raw_ids.astype(str).tolist(),
                statuses.tolist(),
                pick(rng, MEME_TYPES, size.memes).tolist(),
                [
                    f"AgACAgIAAxkBAAI{meme_id:010d}" if file else ""
                    for meme_id, file in zip(meme_ids.tolist(), has_file.tolist(), strict=True)
                ],
                meme_languages.tolist(),
                [f"{value & 0xFFFFFFFF:064x}" for value in hashes.tolist()],
                hashes.astype(str).tolist(),
                rng.integers(300, 1280, size.memes).astype(str).tolist(),
                rng.integers(300, 1280, size.memes).astype(str).tolist(),
                optional_ints(duplicate_of, is_duplicate & (duplicate_of < meme_ids)),
                timestamps(published_at_us),
                # drawn here, in the order the dataset always drew it
                timestamps(
                    created_at_us := published_at_us + rng.integers(60, 7_200, size.memes) * 10**6
                ),
                # the media pipeline sets a meme's status minutes after ingestion, and nothing
                # changes it later in this dataset
                timestamps(created_at_us + MEME_STATUS_DELAY_US),
            ]
        ),
    )
    progress.advance(size.memes)

    ok_ids = meme_ids[is_ok]
    popular_all = rng.permutation(ok_ids)
    popularity_rank = np.empty(size.memes, dtype=float)
    popularity_rank[popular_all - 1] = np.arange(len(popular_all)) / len(popular_all)
    quality = np.clip(
        0.75 * rng.beta(3, 3, size.memes) + 0.25 * (1 - np.nan_to_num(popularity_rank, nan=1.0)),
        0.02,
        0.98,
    )
    popular_languages = meme_languages[popular_all - 1]
    return Memes(
        source_id=meme_sources,
        language=meme_languages,
        is_ok=is_ok,
        published_at_us=published_at_us,
        quality=quality,
        popular_all=popular_all,
        popular_ru=popular_all[popular_languages == "ru"],
        popular_en=popular_all[popular_languages == "en"],
    )


# ------------------------------------------------------------------------------------ users


def plan_users(rng: np.random.Generator, size: DatasetSize, memes: Memes) -> Users:
    telegram_ids = np.sort(rng.choice(7_000_000_000, size=size.users, replace=False)) + 10**8
    telegram_languages = pick(rng, TELEGRAM_LANGUAGES, size.users)
    reads_russian = np.isin(telegram_languages, list(RUSSIAN_READING_TELEGRAM_LANGUAGES))
    is_bilingual = rng.random(size.users) < 0.25

    # Zipf-like activity over a random order of users, capped by what a user could see
    is_active = rng.random(size.users) >= GHOST_USER_SHARE
    if not is_active.any():
        is_active[0] = True
    activity_rank = np.zeros(size.users)
    activity_rank[is_active] = rng.permutation(int(is_active.sum())) + 1.0
    weights = np.where(
        is_active, np.power(np.maximum(activity_rank, 1.0), -USER_ACTIVITY_EXPONENT), 0
    )
    pool_sizes = np.where(reads_russian, len(memes.popular_ru), len(memes.popular_en))
    caps = np.where(is_active, np.maximum(1, (pool_sizes * MAX_USER_SHARE_OF_POOL)), 0).astype(
        np.int64
    )
    total = min(size.reactions, int(caps.sum()))
    counts = np.zeros(size.users, dtype=np.int64)
    for _ in range(50):
        room = caps - counts
        open_weights = np.where(room > 0, weights, 0)
        missing = total - int(counts.sum())
        if missing <= 0 or open_weights.sum() == 0:
            break
        share = np.floor(open_weights / open_weights.sum() * missing).astype(np.int64)
        counts += np.minimum(share, room)
        if share.sum() == 0:
            break
    # hand out the rounding remainder one by one
    missing = total - int(counts.sum())
    while missing > 0:
        open_positions = np.flatnonzero(counts < caps)
        chosen = rng.choice(open_positions, size=min(missing, len(open_positions)), replace=False)
        counts[chosen] += 1
        missing = total - int(counts.sum())

    # share links: a user opens an older user's link to a meme
    inviter_position = np.full(size.users, -1, dtype=np.int64)
    shared_meme_id = np.zeros(size.users, dtype=np.int64)
    invited = np.flatnonzero(rng.random(size.users) < SHARE_LINK_USER_SHARE)
    invited = invited[invited > 0]
    inviter_position[invited] = (rng.random(len(invited)) * invited).astype(np.int64)
    popular_cdf = zipf_cdf(len(memes.popular_all), MEME_POPULARITY_EXPONENT)
    shared_meme_id[invited] = memes.popular_all[
        np.searchsorted(popular_cdf, rng.random(len(invited)))
    ]
    other_links = np.where(
        rng.random(size.users) < OTHER_DEEP_LINK_USER_SHARE,
        rng.choice(np.array(["promo_autumn", "promo_tiktok", "ref_channel", "start"]), size.users),
        "",
    )
    return Users(
        telegram_id=telegram_ids,
        reaction_count=counts,
        telegram_language=telegram_languages,
        reads_russian=reads_russian,
        is_bilingual=is_bilingual,
        like_bias=rng.normal(0, 0.12, size.users),
        inviter_position=inviter_position,
        shared_meme_id=shared_meme_id,
        other_deep_link=other_links,
    )


def user_chunks(users: Users) -> Iterator[np.ndarray]:
    """Consecutive user positions holding about REACTION_ROWS_PER_CHUNK reactions each."""
    boundaries = np.cumsum(users.reaction_count + 1)
    start = 0
    while start < len(boundaries):
        base = boundaries[start - 1] if start else 0
        stop = int(np.searchsorted(boundaries, base + REACTION_ROWS_PER_CHUNK, side="right"))
        stop = max(stop, start + 1)
        yield np.arange(start, min(stop, len(boundaries)))
        start = stop


# ------------------------------------------------------------------------------- reactions


@dataclass
class ChunkReactions:
    user_position: np.ndarray
    meme_id: np.ndarray
    sent_at_us: np.ndarray
    reacted_at_us: np.ndarray
    reaction_id: np.ndarray  # 0 = unreacted
    recommended_by: np.ndarray


def draw_memes(
    rng: np.random.Generator, users: Users, memes: Memes, positions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per user `reaction_count` distinct memes, popular ones more often, in a random order.

    Returns (user position, meme id) rows grouped by user.
    """
    counts = users.reaction_count[positions]
    pools = (memes.popular_ru, memes.popular_en, memes.popular_all)
    cdfs = [zipf_cdf(len(pool), MEME_POPULARITY_EXPONENT) for pool in pools]
    key_base = len(memes.quality) + 1
    chosen_keys = np.empty(0, dtype=np.int64)
    missing = counts.copy()
    for round_number in range(30):
        wanted = (
            np.where(missing > 0, missing + missing // 2 + 4, 0)
            if round_number < 3
            else (np.where(missing > 0, missing * 3 + 8, 0))
        )
        draw_users = np.repeat(positions, wanted)
        if not len(draw_users):
            break
        if round_number < 3:
            own_share = np.where(users.is_bilingual[draw_users], 0.6, OWN_LANGUAGE_DRAW_SHARE)
            roll = rng.random(len(draw_users))
            russian = users.reads_russian[draw_users]
            second_language = (
                users.is_bilingual[draw_users] & (roll >= own_share) & (roll < own_share + 0.3)
            )
            pool_index = np.where(russian ^ second_language, 0, 1)
            pool_index = np.where(roll >= own_share + 0.3, 2, pool_index)
            draw_memes_ids = np.empty(len(draw_users), dtype=np.int64)
            for index, (pool, cdf) in enumerate(zip(pools, cdfs, strict=True)):
                rows = pool_index == index
                picks = np.searchsorted(cdf, rng.random(int(rows.sum())))
                draw_memes_ids[rows] = pool[np.minimum(picks, len(pool) - 1)]
        else:  # the tail: uniform over every ok meme
            draw_memes_ids = memes.popular_all[
                rng.integers(0, len(memes.popular_all), len(draw_users))
            ]
        chosen_keys = np.unique(
            np.concatenate([chosen_keys, draw_users * key_base + draw_memes_ids])
        )
        have = np.bincount(chosen_keys // key_base - positions[0], minlength=len(positions))
        missing = np.maximum(counts - have, 0)
        if not missing.any():
            break
    user_of_key = chosen_keys // key_base
    order = np.lexsort((rng.random(len(chosen_keys)), user_of_key))
    user_of_key, chosen_keys = user_of_key[order], chosen_keys[order]
    first_row_of_user = np.searchsorted(user_of_key, positions)
    rank_in_user = np.arange(len(user_of_key)) - first_row_of_user[user_of_key - positions[0]]
    keep = rank_in_user < counts[user_of_key - positions[0]]
    return user_of_key[keep], chosen_keys[keep] % key_base


def build_reactions(
    rng: np.random.Generator, users: Users, memes: Memes, positions: np.ndarray, now_us: int
) -> ChunkReactions:
    user_position, meme_id = draw_memes(rng, users, memes, positions)
    rows = len(user_position)
    if rows == 0:
        empty = np.empty(0, dtype=np.int64)
        return ChunkReactions(empty, empty, empty, empty, empty, np.empty(0, dtype=object))
    new_user = np.ones(rows, dtype=bool)
    new_user[1:] = user_position[1:] != user_position[:-1]
    last_of_user = np.ones(rows, dtype=bool)
    last_of_user[:-1] = new_user[1:]
    user_start_row = np.maximum.accumulate(np.where(new_user, np.arange(rows), 0))
    position_in_user = np.arange(rows) - user_start_row

    session_end = (rng.random(rows) < 1 / MEAN_SESSION_SENDS) | last_of_user
    unreacted = session_end & (rng.random(rows) < UNREACTED_SESSION_END_SHARE)
    reaction_seconds = np.clip(rng.lognormal(np.log(4.5), 0.65, rows), 0.3, 600)
    send_delay_seconds = 0.3 + rng.exponential(0.7, rows)

    # sessions of a user are spread over their active time: the busier, the shorter the gaps
    sessions_of_user = np.bincount(user_position - positions[0], weights=session_end)
    gap_median_seconds = np.clip(
        0.3 * HISTORY_DAYS * SECONDS_PER_DAY / np.maximum(sessions_of_user, 1),
        7_200,
        5 * SECONDS_PER_DAY,
    )[user_position - positions[0]]
    session_gap_seconds = 1_860 + rng.lognormal(np.log(gap_median_seconds), 1.0)
    step_seconds = np.where(
        session_end & ~last_of_user,
        reaction_seconds + session_gap_seconds,
        reaction_seconds + send_delay_seconds,
    )
    step_us = (step_seconds * 1e6).astype(np.int64)
    cumulative = np.cumsum(step_us)
    offset_us = cumulative - step_us  # time from the user's first send to this send
    offset_us -= offset_us[user_start_row]
    span_us = offset_us[last_of_user] + step_us[last_of_user]

    # when each user was last active: most recently, a churned third any time last year
    active_users = user_position[last_of_user]
    churned = rng.random(len(active_users)) < 0.35
    idle_days = np.where(
        churned,
        rng.random(len(active_users)) * HISTORY_DAYS * 0.8,
        rng.exponential(2.0, len(active_users)),
    )
    # ... but the whole history stays within the last HISTORY_DAYS where it fits
    room_days = np.maximum(HISTORY_DAYS - 1 - span_us / (SECONDS_PER_DAY * 1e6), 0)
    idle_days = np.minimum(idle_days, room_days)
    last_send_us = now_us - (idle_days * SECONDS_PER_DAY * 1e6).astype(np.int64) - 600 * 10**6
    first_send_us = last_send_us - span_us
    first_send_of_row = np.repeat(
        first_send_us, np.diff(np.append(np.flatnonzero(new_user), rows))
    )
    sent_at_us = first_send_of_row + offset_us
    reacted_at_us = sent_at_us + (reaction_seconds * 1e6).astype(np.int64)

    like_chance = np.clip(memes.quality[meme_id - 1] + users.like_bias[user_position], 0.03, 0.97)
    reaction_id = np.where(rng.random(rows) < like_chance, 1, 2)
    reaction_id[unreacted] = 0
    recommended_by = pick(rng, RECOMMENDERS, rows)
    recommended_by[position_in_user < COLD_START_SENDS] = "cold_start"
    return ChunkReactions(
        user_position=user_position,
        meme_id=meme_id,
        sent_at_us=sent_at_us,
        reacted_at_us=reacted_at_us,
        reaction_id=reaction_id,
        recommended_by=recommended_by,
    )


def load_users_and_reactions(
    connection: Connection, rng_seed: int, users: Users, memes: Memes, now_us: int
) -> int:
    user_progress = Progress("users", len(users.telegram_id))
    reaction_progress = Progress("reactions", int(users.reaction_count.sum()))
    loaded_reactions = 0
    for chunk_number, positions in enumerate(user_chunks(users)):
        rng = np.random.default_rng([rng_seed, 1, chunk_number])
        reactions = build_reactions(rng, users, memes, positions, now_us)
        first_offsets = positions[0]
        first_send = np.full(len(positions), -1, dtype=np.int64)
        last_send = np.full(len(positions), -1, dtype=np.int64)
        if len(reactions.user_position):
            local = reactions.user_position - first_offsets
            starts = np.flatnonzero(np.r_[True, local[1:] != local[:-1]])
            ends = np.r_[starts[1:], len(local)] - 1
            first_send[local[starts]] = reactions.sent_at_us[starts]
            last_send[local[ends]] = np.maximum(
                reactions.sent_at_us[ends], reactions.reacted_at_us[ends]
            )
        has_sends = first_send >= 0
        onboarding_us = rng.integers(5, 600, len(positions)) * 10**6
        ghost_signup_us = now_us - (
            (rng.random(len(positions)) * (HISTORY_DAYS - 2) + 2) * SECONDS_PER_DAY * 1e6
        ).astype(np.int64)
        created_us = np.where(has_sends, first_send - onboarding_us, ghost_signup_us)
        write_users(connection, rng, users, positions, created_us, last_send, has_sends)
        write_reactions(connection, users, reactions)
        user_progress.advance(len(positions))
        loaded_reactions += len(reactions.user_position)
        reaction_progress.advance(len(reactions.user_position))
    user_progress.finish()
    reaction_progress.finish()
    return loaded_reactions


def write_users(
    connection: Connection,
    rng: np.random.Generator,
    users: Users,
    positions: np.ndarray,
    created_us: np.ndarray,
    last_send_us: np.ndarray,
    has_sends: np.ndarray,
) -> None:
    count = len(positions)
    ids = users.telegram_id[positions]
    user_types = pick(
        rng,
        (("user", 0.80), ("active_user", 0.13), ("blocked_bot", 0.06), ("moderator", 0.01)),
        count,
    )
    if positions[0] == 0:
        user_types[:2] = "admin"
    blocked = user_types == "blocked_bot"
    blocked_at_us = (
        np.maximum(last_send_us, created_us)
        + rng.integers(3_600, 30 * SECONDS_PER_DAY, count) * 10**6
    )
    inviter_positions = users.inviter_position[positions]
    has_inviter = inviter_positions >= 0
    inviter_ids = np.where(has_inviter, users.telegram_id[np.maximum(inviter_positions, 0)], 0)
    columns = [
        ids.astype(str).tolist(),
        np.where(rng.random(count) < 0.5, np.char.add("nick", ids.astype(str)), "").tolist(),
        user_types.tolist(),
        optional_ints(inviter_ids, has_inviter),
        timestamps(created_us),
        np.where(
            has_sends, np.array(timestamps(np.maximum(last_send_us, 0)), dtype=object), ""
        ).tolist(),
        np.where(blocked, np.array(timestamps(blocked_at_us), dtype=object), "").tolist(),
    ]
    copy_rows(
        connection,
        'app."user"',
        ("id", "nickname", "type", "inviter_id", "created_at", "last_active_at", "blocked_bot_at"),
        csv_text(columns),
    )

    share_links = np.where(
        has_inviter,
        np.char.add(
            np.char.add(np.char.add("s_", inviter_ids.astype(str)), "_"),
            users.shared_meme_id[positions].astype(str),
        ),
        "",
    )
    deep_links = np.where(has_inviter, share_links, users.other_deep_link[positions])
    telegram_languages = users.telegram_language[positions]
    copy_rows(
        connection,
        "app.user_tg",
        (
            "id",
            "username",
            "first_name",
            "last_name",
            "is_premium",
            "language_code",
            "deep_link",
            "created_at",
            "updated_at",
        ),
        csv_text(
            [
                ids.astype(str).tolist(),
                np.where(rng.random(count) < 0.6, np.char.add("u", ids.astype(str)), "").tolist(),
                rng.choice(np.array(FIRST_NAMES), count).tolist(),
                np.where(rng.random(count) < 0.3, "Smith", "").tolist(),
                np.where(rng.random(count) < 0.05, "true", "false").tolist(),
                telegram_languages.tolist(),
                deep_links.tolist(),
                timestamps(created_us),
                timestamps(created_us),
            ]
        ),
    )

    reads_russian = users.reads_russian[positions]
    primary = np.where(reads_russian, "ru", "en")
    second = np.where(reads_russian, "en", "ru")
    bilingual = users.is_bilingual[positions]
    language_user_ids = np.concatenate([ids, ids[bilingual]])
    copy_rows(
        connection,
        "app.user_language",
        ("user_id", "language_code", "created_at"),
        csv_text(
            [
                language_user_ids.astype(str).tolist(),
                np.concatenate([primary, second[bilingual]]).tolist(),
                timestamps(np.concatenate([created_us, created_us[bilingual]])),
            ]
        ),
    )

    with_link = deep_links != ""
    # a share link's sharer also opened their own link now and then (no invite)
    own_link_openers = has_inviter & (rng.random(count) < 0.1)
    copy_rows(
        connection,
        "app.user_deep_link_log",
        ("user_id", "deep_link", "created_at"),
        csv_text(
            [
                np.concatenate([ids[with_link], inviter_ids[own_link_openers]])
                .astype(str)
                .tolist(),
                np.concatenate([deep_links[with_link], share_links[own_link_openers]]).tolist(),
                timestamps(np.concatenate([created_us[with_link], created_us[own_link_openers]])),
            ]
        ),
    )


def write_reactions(connection: Connection, users: Users, reactions: ChunkReactions) -> None:
    if not len(reactions.user_position):
        return
    reacted = reactions.reaction_id > 0
    copy_rows(
        connection,
        "app.user_meme_reaction",
        ("user_id", "meme_id", "recommended_by", "sent_at", "reaction_id", "reacted_at"),
        csv_text(
            [
                users.telegram_id[reactions.user_position].astype(str).tolist(),
                reactions.meme_id.astype(str).tolist(),
                reactions.recommended_by.tolist(),
                timestamps(reactions.sent_at_us),
                optional_ints(reactions.reaction_id, reacted),
                np.where(
                    reacted, np.array(timestamps(reactions.reacted_at_us), dtype=object), ""
                ).tolist(),
            ]
        ),
    )


# ------------------------------------------------------------------ constraints and metadata


@dataclass
class DeferredDefinitions:
    """Keys and indexes dropped for the load, re-created (and so validated) after it."""

    constraints: list[tuple[str, str, str]]  # (table, name, definition)
    indexes: list[str]


def drop_keys_for_load(connection: Connection) -> DeferredDefinitions:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            select conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            from pg_constraint
            where connamespace = 'app'::regnamespace
              and (contype = 'f'
                   or (contype = 'p' and conrelid = 'app.user_meme_reaction'::regclass))
            """
        )
        constraints = [(table, name, definition) for table, name, definition in cursor.fetchall()]
        cursor.execute(
            """
            select indexdef from pg_indexes
            where schemaname = 'app' and tablename = 'user_meme_reaction'
              and indexname not in (select conname from pg_constraint
                                    where conrelid = 'app.user_meme_reaction'::regclass)
            """
        )
        indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            """
            select indexname from pg_indexes
            where schemaname = 'app' and tablename = 'user_meme_reaction'
              and indexname not in (select conname from pg_constraint
                                    where conrelid = 'app.user_meme_reaction'::regclass)
            """
        )
        for (index_name,) in cursor.fetchall():
            cursor.execute(sql.SQL("drop index app.{}").format(sql.Identifier(index_name)))
        for table, name, _ in constraints:
            cursor.execute(
                sql.SQL("alter table {} drop constraint {}").format(
                    sql.SQL(table), sql.Identifier(name)
                )
            )
    return DeferredDefinitions(constraints=constraints, indexes=indexes)


def restore_keys(connection: Connection, deferred: DeferredDefinitions) -> None:
    with connection.cursor() as cursor:
        cursor.execute("set maintenance_work_mem = '1GB'")
        # primary key first: foreign keys and the planner want it
        for table, name, definition in sorted(
            deferred.constraints, key=lambda c: "PRIMARY" not in c[2]
        ):
            started = time.monotonic()
            cursor.execute(
                sql.SQL("alter table {} add constraint {} {}").format(
                    sql.SQL(table), sql.Identifier(name), sql.SQL(definition)
                )
            )
            log(f"  {table}: {name} in {format_seconds(time.monotonic() - started)}")
        for definition in deferred.indexes:
            started = time.monotonic()
            cursor.execute(definition)
            log(f"  {definition.split(' ON ')[0]} in {format_seconds(time.monotonic() - started)}")


def backdate_publication(connection: Connection) -> None:
    """A meme is published before it is first sent (and its raw post with it)."""
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            create temporary table first_sends on commit drop as
            select meme_id, min(sent_at) as first_sent_at
            from app.user_meme_reaction
            group by meme_id
            """
        )
        cursor.execute(
            """
            update app.meme
            set published_at = backdated.published_at,
                created_at = backdated.published_at + interval '10 minutes',
                updated_at = backdated.published_at + interval '15 minutes'
            from (
                select meme_id, first_sent_at,
                       first_sent_at - interval '1 hour' * (1 + random() * 48) as published_at
                from first_sends
            ) as backdated
            where meme.id = backdated.meme_id and meme.published_at > backdated.first_sent_at
            """
        )
        moved = cursor.rowcount
        cursor.execute(
            """
            update app.meme_raw_telegram
            set date = meme.published_at
            from app.meme
            join app.meme_source on meme_source.id = meme.meme_source_id
            where meme_source.type = 'telegram' and meme.raw_meme_id = meme_raw_telegram.id
              and meme_raw_telegram.date > meme.published_at
            """
        )
    log(
        f"  moved published_at before the first send for {moved:,} memes "
        f"in {format_seconds(time.monotonic() - started)}"
    )


def reset_sequences(connection: Connection) -> None:
    with connection.cursor() as cursor:
        for table in (
            "meme_source",
            "meme_raw_telegram",
            "meme_raw_local",
            "meme",
            "user_deep_link_log",
        ):
            cursor.execute(
                sql.SQL(
                    "select setval(pg_get_serial_sequence({}, 'id'), "
                    "coalesce((select max(id) from app.{}), 0) + 1, false)"
                ).format(sql.Literal(f"app.{table}"), sql.Identifier(table))
            )


def loaded_dataset(database_url: str) -> dict[str, object] | None:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select to_regclass(%s)", (f"{META_SCHEMA}.dataset",))
            if cursor.fetchone()[0] is None:
                return None
            cursor.execute(
                f"select users, memes, reactions, seed, loaded_at, load_seconds "
                f"from {META_SCHEMA}.dataset"
            )
            row = cursor.fetchone()
    finally:
        connection.close()
    if row is None:
        return None
    keys = ("users", "memes", "reactions", "seed", "loaded_at", "load_seconds")
    return dict(zip(keys, row, strict=True))


def record_dataset(
    connection: Connection, size: DatasetSize, reactions: int, seed: int, load_seconds: float
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"create schema if not exists {META_SCHEMA}")
        cursor.execute(
            f"""
            create table {META_SCHEMA}.dataset (
                users integer not null, memes integer not null, reactions bigint not null,
                requested_reactions bigint not null, seed integer not null,
                loaded_at timestamptz not null default now(), load_seconds double precision
            )
            """
        )
        cursor.execute(
            f"insert into {META_SCHEMA}.dataset "
            "(users, memes, reactions, requested_reactions, seed, load_seconds) "
            "values (%s, %s, %s, %s, %s, %s)",
            (size.users, size.memes, reactions, size.reactions, seed, load_seconds),
        )


# ------------------------------------------------------------------------------------- main


def generate(server_url: str, size: DatasetSize, seed: int, force: bool) -> dict[str, object]:
    database_url = bench_database_url(server_url)
    if database_exists(server_url, BENCH_DATABASE) and not force:
        existing = loaded_dataset(database_url)
        if existing is not None and (existing["users"], existing["memes"]) == (
            size.users,
            size.memes,
        ):
            log(
                f"{BENCH_DATABASE} already holds {existing['users']:,} users, "
                f"{existing['memes']:,} memes, {existing['reactions']:,} reactions "
                f"(loaded {existing['loaded_at']:%Y-%m-%d %H:%M}); skipping (--force to reload)"
            )
            return existing
        reason = "a partial load" if existing is None else "a dataset of another size"
        log(f"{BENCH_DATABASE} holds {reason}: dropping it")
    started = time.monotonic()
    drop_database(server_url, BENCH_DATABASE)
    create_database(server_url, BENCH_DATABASE)
    upgrade_to_head(database_url)
    log(f"created {BENCH_DATABASE} and migrated it to head")

    now_us = int(datetime.now(UTC).timestamp() * 1e6)
    rng = np.random.default_rng([seed, 0])
    connection = psycopg2.connect(database_url)
    try:
        deferred = drop_keys_for_load(connection)
        memes = load_sources_and_memes(connection, rng, size, now_us)
        users = plan_users(rng, size, memes)
        reactions = load_users_and_reactions(connection, seed, users, memes, now_us)
        copy_seconds = time.monotonic() - started
        log(f"COPY done in {format_seconds(copy_seconds)}; re-creating keys and indexes")
        backdate_publication(connection)
        restore_keys(connection, deferred)
        reset_sequences(connection)
        connection.commit()
        analyze_started = time.monotonic()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("vacuum analyze")
        log(f"VACUUM ANALYZE in {format_seconds(time.monotonic() - analyze_started)}")
        load_seconds = time.monotonic() - started
        connection.autocommit = False
        record_dataset(connection, size, reactions, seed, load_seconds)
        connection.commit()
    finally:
        connection.close()
    log(
        f"loaded {size.users:,} users, {size.memes:,} memes, {reactions:,} reactions "
        f"in {format_seconds(load_seconds)} (COPY {format_seconds(copy_seconds)})"
    )
    loaded = loaded_dataset(database_url)
    assert loaded is not None
    return loaded


def dataset_size(arguments: argparse.Namespace) -> DatasetSize:
    return DatasetSize(
        users=arguments.users or max(50, round(FULL_USERS * arguments.scale)),
        memes=arguments.memes or max(200, round(FULL_MEMES * arguments.scale)),
        reactions=arguments.reactions or max(1_000, round(FULL_REACTIONS * arguments.scale)),
    )


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=float, default=1.0, help="share of the full size")
    parser.add_argument("--users", type=int, help=f"default {FULL_USERS:,} x scale")
    parser.add_argument("--memes", type=int, help=f"default {FULL_MEMES:,} x scale")
    parser.add_argument("--reactions", type=int, help=f"default {FULL_REACTIONS:,} x scale")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--server-url", default=server_url_from_env())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_size_arguments(parser)
    parser.add_argument("--force", action="store_true", help="drop and load even if loaded")
    arguments = parser.parse_args()
    generate(arguments.server_url, dataset_size(arguments), arguments.seed, arguments.force)


if __name__ == "__main__":
    main()
