"""The main job: ingest, materialise the asset graph, serve the feed, and say how it went.

With no TELEGRAM_BOT_TOKEN it is a full rehearsal on this machine: sample memes are drawn,
uploaded through a local Bot API emulator, and simulated users scroll the real bot over HTTP.
With a token, the same ingestion and asset graph run against Telegram and the bot serves people.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass

import asyncpg
import redis
from pydantic import SecretStr

from bot.app import BotConfig, build_application, running_in_process
from memefeed.graph import materialize_all
from memefeed.migrations import upgrade_to_head
from memefeed.sample_memes import generate_sample_memes
from memefeed.services import create_database, drop_database, running_services
from memefeed.settings import Settings, get_settings
from memefeed.simulation import SessionLog, personas, scroll_everyone
from memefeed.telegram_emulator import TelegramEmulator

log = logging.getLogger(__name__)

DEMO_TOKEN = "7000001:memefeed-local-emulator"
DEMO_STORAGE_CHAT_ID = -1000000000042
DEMO_DATABASE = "memefeed"


@dataclass(frozen=True)
class Summary:
    memes_ingested: int
    memes_by_status: dict[str, int]
    users: int
    memes_sent: int
    reactions: int
    likes: int
    memes_per_session: float
    sessions: int
    repeats: int
    engines: Counter[str]
    seconds: float

    def render(self) -> str:
        statuses = ", ".join(f"{status} {n}" for status, n in sorted(self.memes_by_status.items()))
        engines = ", ".join(f"{engine} {n}" for engine, n in self.engines.most_common())
        like_rate = self.likes / self.reactions if self.reactions else 0.0
        return "\n".join(
            [
                "",
                "memefeed main job: summary",
                f"  memes ingested     {self.memes_ingested} ok ({statuses})",
                f"  users              {self.users}",
                f"  memes sent         {self.memes_sent}",
                f"  reactions          {self.reactions} (like rate {like_rate:.0%})",
                f"  sessions           {self.sessions}",
                f"  memes per session  {self.memes_per_session:.1f}",
                f"  repeats            {self.repeats} (memes any user was sent twice)",
                f"  sent by engine     {engines}",
                f"  wall time          {self.seconds:.1f} s",
            ]
        )


def run_main_job(*, users: int, memes: int, reactions_per_session: int, rounds: int) -> int:
    settings = get_settings()
    started = time.monotonic()
    with running_services(settings.database_url, settings.redis_url, settings.data_dir) as found:
        database_url = found.database_url
        if "postgresql" in found.embedded:
            # The embedded server is ours: every rehearsal starts from an empty database.
            drop_database(database_url, DEMO_DATABASE)
            database_url = create_database(database_url, DEMO_DATABASE)
        if "redis" in found.embedded:
            redis.Redis.from_url(found.redis_url).flushdb()
        upgrade_to_head(database_url)
        settings = settings.model_copy(
            update={"database_url": database_url, "redis_url": found.redis_url}
        )
        if settings.telegram_bot_token is not None:
            return _serve_for_real(settings)
        summary = asyncio.run(
            _rehearse(settings, users, memes, reactions_per_session, rounds, started)
        )
    print(summary.render())
    if summary.reactions == 0 or summary.repeats > 0:
        print("FAILED: the loop must record reactions and never repeat a meme")
        return 1
    return 0


def _serve_for_real(settings: Settings) -> int:
    from bot.runner import run_bot

    log.info("materialising the asset graph against Telegram")
    materialize_all(settings)
    log.info("serving the feed; Dagster's schedules keep the candidates fresh from here on")
    run_bot(webhook=settings.webhook_url is not None, settings=settings)
    return 0


async def _rehearse(
    settings: Settings,
    users: int,
    memes: int,
    reactions_per_session: int,
    rounds: int,
    started: float,
) -> Summary:
    database_url, redis_url = settings.database_url, settings.redis_url
    assert database_url is not None
    assert redis_url is not None
    samples = settings.data_dir / "sample_memes"
    log.info("drawing %d sample memes in %s", memes, samples)
    await asyncio.to_thread(generate_sample_memes, samples, memes)

    emulator = TelegramEmulator(DEMO_TOKEN)
    async with emulator.serve() as urls:
        emulator.create_chat(DEMO_STORAGE_CHAT_ID, title="memefeed storage")
        settings = settings.model_copy(
            update={
                "telegram_api_base_url": urls.api_base_url,
                "telegram_file_base_url": urls.file_base_url,
                "telegram_bot_token": SecretStr(DEMO_TOKEN),
                "storage_chat_id": DEMO_STORAGE_CHAT_ID,
                "local_memes_dir": samples,
            }
        )
        await _materialize(settings, "ingestion and the first build")

        application = build_application(
            BotConfig(
                token=DEMO_TOKEN,
                database_url=database_url,
                redis_url=redis_url,
                api_base_url=urls.api_base_url,
                file_base_url=urls.file_base_url,
                refill_threshold=settings.queue_refill_threshold,
                refill_batch=settings.queue_refill_batch,
            )
        )
        people = personas(users)
        logs: list[SessionLog] = []
        async with running_in_process(application, poll=True):
            for round_number in range(1, rounds + 1):
                log.info(
                    "round %d/%d: %d simulated users scroll %d memes each",
                    round_number,
                    rounds,
                    len(people),
                    reactions_per_session,
                )
                logs += await scroll_everyone(
                    emulator, people, reactions_per_session, seed=round_number
                )
                await _materialize(settings, f"stats and candidates after round {round_number}")
    return await _summarise(database_url, logs, time.monotonic() - started)


async def _materialize(settings: Settings, why: str) -> None:
    log.info("materialising the asset graph: %s", why)
    # Ingestion uploads through the emulator served by this loop, so the graph runs in a thread.
    await asyncio.to_thread(materialize_all, settings)


async def _summarise(database_url: str, logs: list[SessionLog], seconds: float) -> Summary:
    connection = await asyncpg.connect(database_url)
    try:
        statuses = {
            row["status"]: row["n"]
            for row in await connection.fetch(
                "select status, count(*) as n from app.meme group by status"
            )
        }
        totals = await connection.fetchrow(
            """
            select
                (select count(*) from app."user") as users,
                count(*) as sent,
                count(*) filter (where reaction_id is not null) as reactions,
                count(*) filter (where reaction_id = 1) as likes,
                count(*) - count(distinct (user_id, meme_id)) as repeated_rows
            from app.user_meme_reaction
            """
        )
        sessions = await connection.fetchrow(
            """
            select coalesce(sum(nsessions), 0) as sessions,
                   coalesce(sum(nlikes + ndislikes), 0) as reacted
            from marts.user_stats
            """
        )
        engines = Counter(
            {
                row["recommended_by"]: row["n"]
                for row in await connection.fetch(
                    "select recommended_by, count(*) as n from app.user_meme_reaction group by 1"
                )
            }
        )
    finally:
        await connection.close()
    repeats_seen_by_users = sum(_repeats(log_) for log_ in _by_user(logs).values())
    assert totals is not None
    assert sessions is not None
    return Summary(
        memes_ingested=statuses.get("ok", 0),
        memes_by_status=statuses,
        users=totals["users"],
        memes_sent=totals["sent"],
        reactions=totals["reactions"],
        likes=totals["likes"],
        memes_per_session=(sessions["reacted"] / sessions["sessions"])
        if sessions["sessions"]
        else 0,
        sessions=sessions["sessions"],
        repeats=repeats_seen_by_users + totals["repeated_rows"],
        engines=engines,
        seconds=seconds,
    )


def _by_user(logs: list[SessionLog]) -> dict[int, list[int]]:
    seen: dict[int, list[int]] = {}
    for session in logs:
        seen.setdefault(session.user_id, []).extend(session.meme_ids)
    return seen


def _repeats(meme_ids: list[int]) -> int:
    return len(meme_ids) - len(set(meme_ids))
