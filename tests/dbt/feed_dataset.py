"""A small, realistic app dataset for the dbt build, and the figures it should give.

The expected figures are computed here in plain Python from the same rows, independently of
the SQL, so the tests compare two implementations of each formula.

Shape:
- three sources: an English and a Russian Telegram channel (with view counts) and a local folder;
- memes 1-30 English (1-20 from the channel, 21-30 from the folder), 31-40 Russian, all 'ok';
  meme 41 is a duplicate and meme 42 still 'created' (neither is servable);
- raters 101-104 (English) react to memes 1-12 half like / half dislike, then all like meme 13
  ("loved") and all dislike meme 14 ("hated"), and are sent meme 15 without reacting;
  their sessions are split by a 45-minute gap (and for 102 also by exactly 30 minutes);
- 105 reads Russian and has seen memes 31-33; 106 reads only German (no German memes);
  107 has no language rows; 108-110 read English and were never sent anything;
- 108 and 109 opened 101's share link of meme 13 (101 also opened it, which is no invite).
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

LIKE, DISLIKE = 1, 2
LOVED_MEME, HATED_MEME, UNREACTED_MEME = 13, 14, 15
RATERS = (101, 102, 103, 104)
RU_READER, DE_READER, NO_LANGUAGE_USER = 105, 106, 107
FRESH_EN_READERS = (108, 109, 110)
SHARER = 101

# reaction times (s) of the raters on the loved meme: 0.2 s and 61 s fall outside 0.5-60 s
LOVED_REACTION_SECONDS = {101: 2.0, 102: 4.0, 103: 0.2, 104: 61.0}

SESSION_GAP = timedelta(minutes=30)
TIME_SPENT_MAX_GAP_SECONDS = 120
MIN_USER_REACTIONS, MIN_MEME_REACTIONS = 10, 3
REACTION_TIME_WINDOW = (0.5, 60.0)


@dataclass(frozen=True)
class Meme:
    meme_id: int
    source_id: int
    language_code: str
    status: str = "ok"
    views: int | None = None
    published_days_ago: int = 5

    @property
    def is_servable(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Reaction:
    user_id: int
    meme_id: int
    sent_at: datetime
    reaction_id: int | None
    reacted_at: datetime | None


@dataclass
class FeedDataset:
    now: datetime
    memes: list[Meme] = field(default_factory=list)
    users: dict[int, list[str]] = field(default_factory=dict)  # user -> languages
    inviters: dict[int, int] = field(default_factory=dict)  # user -> inviter
    reactions: list[Reaction] = field(default_factory=list)
    deep_links: list[tuple[int, str]] = field(default_factory=list)

    # ---------------------------------------------------------------- building the rows

    @classmethod
    def build(cls, now: datetime) -> FeedDataset:
        data = cls(now=now)
        for meme_id in range(1, 21):
            data.memes.append(
                Meme(
                    meme_id,
                    1,
                    "en",
                    views=1000 + (meme_id * 7 % 20) * 50,
                    published_days_ago=meme_id % 7 + 1,
                )
            )
        for meme_id in range(21, 31):
            data.memes.append(Meme(meme_id, 3, "en", published_days_ago=10))
        for meme_id in range(31, 41):
            data.memes.append(Meme(meme_id, 2, "ru", views=500 + meme_id))
        data.memes.append(Meme(41, 1, "en", status="duplicate", views=10))
        data.memes.append(Meme(42, 3, "en", status="created"))

        for user_id in (*RATERS, *FRESH_EN_READERS):
            data.users[user_id] = ["en"]
        data.users[RU_READER] = ["ru"]
        data.users[DE_READER] = ["de"]
        data.users[NO_LANGUAGE_USER] = []
        data.inviters = {108: SHARER, 109: SHARER}

        start = (now - timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
        for index, user_id in enumerate(RATERS):
            data._add_rater_history(user_id, index, start + timedelta(hours=index))
        russian_start = start + timedelta(hours=8)
        data.reactions += [
            _reacted(RU_READER, 31, russian_start, 3, LIKE),
            _reacted(RU_READER, 32, russian_start + timedelta(seconds=30), 5, DISLIKE),
            Reaction(RU_READER, 33, russian_start + timedelta(seconds=60), None, None),
        ]

        share_link = f"s_{SHARER}_{LOVED_MEME}"
        data.deep_links = [
            (SHARER, share_link),  # opening one's own link invites nobody
            (108, share_link),
            (109, share_link),
            (109, share_link),  # the same user twice counts once
            (110, "s_abc_13"),  # malformed
            (110, "promo_autumn"),
        ]
        return data

    def _add_rater_history(self, user_id: int, index: int, start: datetime) -> None:
        """14 reactions 30 s apart: memes 1-12, then the loved and the hated meme.

        A 45-minute pause follows the 6th reaction; rater 102 also pauses exactly 30 minutes
        after the 11th (a new session too).
        """
        reacted_at = start
        for position, meme_id in enumerate([*range(1, 13), LOVED_MEME, HATED_MEME]):
            if position == 6:
                reacted_at += timedelta(minutes=45)
            elif position == 11 and user_id == 102:
                reacted_at += SESSION_GAP
            elif position > 0:
                reacted_at += timedelta(seconds=30)
            if meme_id == LOVED_MEME:
                reaction, seconds = LIKE, LOVED_REACTION_SECONDS[user_id]
            elif meme_id == HATED_MEME:
                reaction, seconds = DISLIKE, 3.0
            else:
                reaction = LIKE if (meme_id + index) % 2 == 0 else DISLIKE
                seconds = 3.0 + position % 4
            self.reactions.append(_reacted(user_id, meme_id, reacted_at, seconds, reaction))
        self.reactions.append(
            Reaction(user_id, UNREACTED_MEME, reacted_at + timedelta(seconds=10), None, None)
        )

    async def insert(self, pool: asyncpg.Pool) -> None:
        async with pool.acquire() as connection, connection.transaction():
            await connection.executemany(
                "insert into app.meme_source (id, type, url, language_code) "
                "values ($1, $2, $3, $4)",
                [
                    (1, "telegram", "https://t.me/memes_en", "en"),
                    (2, "telegram", "https://t.me/memes_ru", "ru"),
                    (3, "local", "/srv/memes", "en"),
                ],
            )
            for meme in self.memes:
                published_at = self.now - timedelta(days=meme.published_days_ago, hours=1)
                if meme.views is not None:
                    raw_id = await connection.fetchval(
                        """
                        insert into app.meme_raw_telegram
                            (meme_source_id, post_id, url, date, views)
                        values ($1, $2, $3, $4, $5) returning id
                        """,
                        meme.source_id,
                        meme.meme_id,
                        f"https://t.me/s/{meme.source_id}/{meme.meme_id}",
                        published_at,
                        meme.views,
                    )
                else:
                    raw_id = await connection.fetchval(
                        """
                        insert into app.meme_raw_local
                            (meme_source_id, relative_path, content_sha256, date)
                        values ($1, $2, $3, $4) returning id
                        """,
                        meme.source_id,
                        f"meme_{meme.meme_id}.jpg",
                        f"sha-{meme.meme_id}",
                        published_at,
                    )
                await connection.execute(
                    """
                    insert into app.meme (id, meme_source_id, raw_meme_id, status,
                                          telegram_file_id, language_code, published_at)
                    values ($1, $2, $3, $4, $5, $6, $7)
                    """,
                    meme.meme_id,
                    meme.source_id,
                    raw_id,
                    meme.status,
                    f"file-{meme.meme_id}" if meme.is_servable else None,
                    meme.language_code,
                    published_at,
                )
            for user_id in sorted(self.users):
                await connection.execute(
                    'insert into app."user" (id, nickname, inviter_id, created_at) '
                    "values ($1, $2, $3, $4)",
                    user_id,
                    f"user{user_id}",
                    self.inviters.get(user_id),
                    self.now - timedelta(days=4),
                )
                await connection.execute(
                    "insert into app.user_tg (id, first_name) values ($1, $2)",
                    user_id,
                    f"User {user_id}",
                )
                await connection.executemany(
                    "insert into app.user_language (user_id, language_code) values ($1, $2)",
                    [(user_id, language) for language in self.users[user_id]],
                )
            await connection.executemany(
                """
                insert into app.user_meme_reaction
                    (user_id, meme_id, recommended_by, sent_at, reaction_id, reacted_at)
                values ($1, $2, 'fixture', $3, $4, $5)
                """,
                [
                    (r.user_id, r.meme_id, r.sent_at, r.reaction_id, r.reacted_at)
                    for r in self.reactions
                ],
            )
            await connection.executemany(
                "insert into app.user_deep_link_log (user_id, deep_link) values ($1, $2)",
                self.deep_links,
            )

    # ------------------------------------------------------ expected figures, in Python

    def servable_meme_ids(self) -> set[int]:
        return {meme.meme_id for meme in self.memes if meme.is_servable}

    def languages_of(self, meme_ids: set[int]) -> dict[int, str]:
        return {m.meme_id: m.language_code for m in self.memes if m.meme_id in meme_ids}

    def sent_pairs(self) -> set[tuple[int, int]]:
        return {(r.user_id, r.meme_id) for r in self.reactions}

    def meme_counts(self) -> dict[int, tuple[int, int, int]]:
        """meme -> (nlikes, ndislikes, nmemes_sent)."""
        counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        for r in self.reactions:
            counts[r.meme_id][0] += r.reaction_id == LIKE
            counts[r.meme_id][1] += r.reaction_id == DISLIKE
            counts[r.meme_id][2] += 1
        return {meme_id: (c[0], c[1], c[2]) for meme_id, c in counts.items()}

    def sec_to_react(self, meme_id: int) -> float:
        low, high = REACTION_TIME_WINDOW
        seconds = [
            (r.reacted_at - r.sent_at).total_seconds()
            for r in self.reactions
            if r.meme_id == meme_id and r.reacted_at is not None
        ]
        within = [s for s in seconds if low <= s <= high]
        return statistics.median(within) if within else 99999.0

    def lr_smoothed(self) -> dict[int, float]:
        per_user: dict[int, list[Reaction]] = defaultdict(list)
        for r in self.reactions:
            if r.reaction_id is not None:
                per_user[r.user_id].append(r)
        debiased: dict[int, list[float]] = defaultdict(list)
        for rows in per_user.values():
            total = 0
            for count, r in enumerate(sorted(rows, key=lambda r: (r.sent_at, r.meme_id)), 1):
                sign = 1 if r.reaction_id == LIKE else -1
                total += sign
                if count >= MIN_USER_REACTIONS:
                    debiased[r.meme_id].append(sign - total / count)
        return {
            meme_id: statistics.fmean(values) if len(values) >= MIN_MEME_REACTIONS else 0.0
            for meme_id, values in debiased.items()
        }

    def _reaction_times(self, user_id: int) -> list[datetime]:
        return sorted(
            r.reacted_at for r in self.reactions if r.user_id == user_id and r.reacted_at
        )

    def session_lengths(self, user_id: int) -> list[int]:
        """Reactions per session; a gap of SESSION_GAP or more starts a new session."""
        lengths: list[int] = []
        previous: datetime | None = None
        for reacted_at in self._reaction_times(user_id):
            if previous is not None and reacted_at - previous < SESSION_GAP:
                lengths[-1] += 1
            else:
                lengths.append(1)
            previous = reacted_at
        return lengths

    def time_spent_sec(self, user_id: int) -> int:
        gaps = [
            (b - a).total_seconds() for a, b in itertools.pairwise(self._reaction_times(user_id))
        ]
        return round(sum(g for g in gaps if g < TIME_SPENT_MAX_GAP_SECONDS))

    def invited_count(self, meme_id: int) -> int:
        openers = set()
        for user_id, link in self.deep_links:
            parts = link.split("_")
            if len(parts) != 3:
                continue
            prefix, sharer, shared_meme = parts
            if prefix == "s" and sharer.isdigit() and shared_meme.isdigit():
                is_invite = int(shared_meme) == meme_id and int(sharer) != user_id
                if is_invite:
                    openers.add(user_id)
        return len(openers)

    def raw_impr_rank(self) -> dict[int, int]:
        """Quartile of views within the source; memes without views get 0."""
        ranks = {meme.meme_id: 0 for meme in self.memes}
        by_source: dict[int, list[Meme]] = defaultdict(list)
        for meme in self.memes:
            if meme.views is not None:
                by_source[meme.source_id].append(meme)
        for memes in by_source.values():
            ordered = sorted(memes, key=lambda m: (-(m.views or 0), m.meme_id))
            for position, meme in enumerate(ordered):
                ranks[meme.meme_id] = 4 * position // len(ordered)
        return ranks


def _reacted(
    user_id: int, meme_id: int, reacted_at: datetime, seconds: float, reaction_id: int
) -> Reaction:
    return Reaction(
        user_id, meme_id, reacted_at - timedelta(seconds=seconds), reaction_id, reacted_at
    )
