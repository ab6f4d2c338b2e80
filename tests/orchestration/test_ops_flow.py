"""The graph as ops run it, on real PostgreSQL and Redis: one refresh, then what follows it.

A `feed_refresh` run builds the feed from tests/dbt's dataset into a Dagster instance on disk.
Then, in order: the run's metadata; reactions reported as corrected (`memefeed backfill`)
propagate through the automation sensor's condition to the stats, candidates and queues; a
re-ingested source requests everything below it; ghost users fail their dbt checks and both
alert sensors post to the admin chat of the local Bot API emulator.

The automation condition is evaluated the way the `feed_automation` sensor does each tick
(`evaluate_automation_conditions`, with the cursor carried from tick to tick), and the
requested assets are executed the way the daemon launches them (the asset job, the requested
selection, the sensor's run tags).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
import redis.asyncio as aioredis
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    SensorResult,
    build_run_status_sensor_context,
    build_sensor_context,
    evaluate_automation_conditions,
)
from dagster._core.definitions.asset_daemon_cursor import AssetDaemonCursor

from bot.feed import QueuedMeme, queue_key
from memefeed.cli import main as memefeed_cli
from memefeed.settings import Settings
from memefeed.telegram_emulator import DEFAULT_TOKEN, TelegramEmulator
from orchestration.definitions import build_definitions
from orchestration.defs.alerts import admin_alert_on_run_failure
from orchestration.defs.automation import TRIGGER_TAG
from orchestration.defs.resources import MemefeedResource
from orchestration.lib.automation import FEED_LANE, LANE_TAG
from tests.conftest import APP_TABLES, DBT_SCHEMAS
from tests.dbt.feed_dataset import RATERS, FeedDataset

pytestmark = pytest.mark.integration

T = TypeVar("T")
CORRECTED_USER = RATERS[0]
PHANTOM_SENDS = range(1, 7)  # memes 1-6: sends to CORRECTED_USER that a bug recorded
ADMIN_CHAT = -1001234567891
GHOST_USER = 301

MEME_STATS = AssetKey(["marts", "meme_stats"])
USER_STATS = AssetKey(["marts", "user_stats"])
USER_CANDIDATES = AssetKey(["recommendations", "user_candidates"])
COLD_START_CANDIDATES = AssetKey(["recommendations", "cold_start_candidates"])
FEED_QUEUES = AssetKey(["serving", "feed_queues"])
GHOST_USERS = AssetKey(["monitoring", "ghost_users"])


def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `function` off the test's event loop: Dagster and the serving asset run their own."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(function, *args, **kwargs).result()


@dataclass
class OpsWorld:
    """The database, Redis, Dagster instance and definitions every test here shares."""

    pool: asyncpg.Pool
    redis: aioredis.Redis
    database_url: str
    dagster_home: Path
    instance: DagsterInstance
    definitions: Definitions
    refresh: ExecuteInProcessResult
    admin: TelegramEmulator
    api_base_url: str
    cursor: AssetDaemonCursor | None = None
    ticks: list[set[AssetKey]] = field(default_factory=list)

    def tick(self) -> set[AssetKey]:
        """One evaluation of the automation sensor: the assets it would request a run for."""
        result = in_thread(
            evaluate_automation_conditions, self.definitions, self.instance, cursor=self.cursor
        )
        self.cursor = result.cursor
        requested = {
            key
            for key in self.definitions.resolve_asset_graph().get_all_asset_keys()
            if result.get_num_requested(key)
        }
        self.ticks.append(requested)
        return requested

    def launch(self, selection: set[AssetKey], tags: dict[str, str]) -> ExecuteInProcessResult:
        job = self.definitions.resolve_implicit_global_asset_job_def()
        return in_thread(
            job.execute_in_process,
            instance=self.instance,
            asset_selection=sorted(selection, key=lambda key: key.to_user_string()),
            tags=tags,
            raise_on_error=False,
        )

    async def candidates(self, user_id: int) -> list[int]:
        rows = await self.pool.fetch(
            "select meme_id from recommendations.user_candidates where user_id = $1 order by rank",
            user_id,
        )
        return [row["meme_id"] for row in rows]

    async def queue(self, user_id: int) -> list[int]:
        raw = await self.redis.lrange(queue_key(user_id), 0, -1)
        return [QueuedMeme.decode(item).meme_id for item in raw]


@pytest.fixture(scope="module")
async def world(
    db_pool: asyncpg.Pool,
    database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[OpsWorld]:
    """The dataset, its users active today, and one `feed_refresh` run (about a minute)."""
    for schema in DBT_SCHEMAS:
        await db_pool.execute(f"drop schema if exists {schema} cascade")
    tables = ", ".join(f"app.{table}" for table in APP_TABLES)
    await db_pool.execute(f"truncate {tables}, ops.alert_log restart identity cascade")
    await FeedDataset.build(datetime.now(UTC)).insert(db_pool)
    await db_pool.execute("update app.\"user\" set last_active_at = now() - interval '1 hour'")
    redis = aioredis.from_url(redis_url)
    await redis.flushdb()

    admin = TelegramEmulator(DEFAULT_TOKEN)
    admin.create_chat(ADMIN_CHAT, chat_type="supergroup", title="memefeed admins")
    dagster_home = tmp_path_factory.mktemp("dagster_home")
    settings = Settings(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        LOCAL_MEMES_DIR=None,
        TELEGRAM_CHANNELS=[],
        TELEGRAM_BOT_TOKEN=None,
    )
    definitions = build_definitions(settings)
    with (
        admin.serve_in_thread() as runner,
        DagsterInstance.from_config(str(dagster_home)) as instance,
    ):
        refresh = in_thread(
            definitions.resolve_job_def("feed_refresh").execute_in_process, instance=instance
        )
        assert refresh.success
        yield OpsWorld(
            pool=db_pool,
            redis=redis,
            database_url=database_url,
            dagster_home=dagster_home,
            instance=instance,
            definitions=definitions,
            refresh=refresh,
            admin=admin,
            api_base_url=runner.urls.api_base_url,
        )
    await redis.flushdb()
    await redis.aclose()


def _metadata(result: ExecuteInProcessResult, key: AssetKey) -> dict[str, object]:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    return {name: value.value for name, value in event.materialization.metadata.items()}


# ------------------------------------------------------------------ what a refresh reports


async def test_a_refresh_reports_row_counts_and_timings_for_tables_and_serving(
    world: OpsWorld,
) -> None:
    for key in (MEME_STATS, USER_STATS, USER_CANDIDATES):
        metadata = _metadata(world.refresh, key)
        rows = await world.pool.fetchval(f"select count(*) from {key.path[0]}.{key.path[1]}")
        assert metadata["dagster/row_count"] == rows > 0, key
        assert isinstance(metadata["Execution Duration"], float), key
    # a view's count would run its query: none
    assert "dagster/row_count" not in _metadata(
        world.refresh, AssetKey(["staging", "stg_app__meme"])
    )
    serving = _metadata(world.refresh, FEED_QUEUES)
    users = await world.pool.fetchval('select count(*) from app."user"')
    assert serving["users"] == users
    assert isinstance(serving["duration_seconds"], float)


async def test_after_a_full_refresh_nothing_is_left_to_propagate(world: OpsWorld) -> None:
    assert world.tick() == set()


# ------------------------------------------------------------------ propagation (lesson 4)


async def test_reactions_reported_corrected_rebuild_stats_candidates_and_queues(
    world: OpsWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before_candidates = await world.candidates(CORRECTED_USER)
    before_queue = await world.queue(CORRECTED_USER)
    before_built_at = await world.pool.fetchval(
        "select max(built_at) from recommendations.user_candidates"
    )
    assert before_queue
    assert not set(before_candidates) & set(PHANTOM_SENDS)

    # The correction: the sends were never made. No user acts after it.
    await world.pool.execute(
        "delete from app.user_meme_reaction where user_id = $1 and meme_id = any($2::bigint[])",
        CORRECTED_USER,
        list(PHANTOM_SENDS),
    )
    monkeypatch.setenv("DAGSTER_HOME", str(world.dagster_home))
    assert memefeed_cli(["backfill", "reactions", "--note", "phantom sends removed"]) == 0
    assert "reported app/user_meme_reaction as corrected" in capsys.readouterr().out

    requested = world.tick()
    assert {
        AssetKey(["staging", "stg_app__user_meme_reaction"]),
        MEME_STATS,
        USER_STATS,
        USER_CANDIDATES,
        COLD_START_CANDIDATES,
        FEED_QUEUES,
    } <= requested
    # nothing above the corrected table, nothing beside it
    assert AssetKey(["app", "meme"]) not in requested
    assert AssetKey(["staging", "stg_app__meme"]) not in requested

    run = world.launch(requested, {LANE_TAG: FEED_LANE, TRIGGER_TAG: "automation"})
    assert run.success

    after_candidates = await world.candidates(CORRECTED_USER)
    assert set(PHANTOM_SENDS) <= set(after_candidates)
    sent = await world.pool.fetchval(
        "select nmemes_sent from marts.user_stats where user_id = $1", CORRECTED_USER
    )
    assert sent == 15 - len(PHANTOM_SENDS)
    assert (
        await world.pool.fetchval("select max(built_at) from recommendations.user_candidates")
        > before_built_at
    )
    after_queue = await world.queue(CORRECTED_USER)
    assert after_queue != before_queue
    assert set(after_queue) & set(PHANTOM_SENDS)
    assert after_queue == after_candidates[: len(after_queue)]

    # and then it settles: the run covered everything below the correction
    assert world.tick() == set()


async def test_a_re_ingested_source_requests_everything_below_it(world: OpsWorld) -> None:
    sources = {AssetKey(["app", "meme_raw_local"]), AssetKey(["app", "meme_raw_telegram"])}
    run = world.launch(sources, {})
    assert run.success
    for key in sources:
        assert "dagster/row_count" in _metadata(run, key)
        assert "duration_seconds" in _metadata(run, key)

    requested = world.tick()

    assert {
        AssetKey(["app", "meme"]),
        AssetKey(["staging", "stg_app__meme_raw_local"]),
        AssetKey(["staging", "stg_app__meme_raw_telegram"]),
        MEME_STATS,
        USER_CANDIDATES,
        COLD_START_CANDIDATES,
        FEED_QUEUES,
    } <= requested
    assert not requested & sources


# ------------------------------------------------------------------ ghost users and alerts


async def test_ghost_users_fail_their_check_alert_the_admin_chat_once_and_do_not_stop_serving(
    world: OpsWorld,
) -> None:
    created = datetime.now(UTC) - timedelta(minutes=10)
    await world.pool.execute(
        'insert into app."user" (id, created_at) values ($1, $2)', GHOST_USER, created
    )
    await world.pool.execute(
        "insert into app.user_tg (id, first_name) values ($1, 'Ghost')", GHOST_USER
    )
    memefeed = MemefeedResource(
        database_url=world.database_url,
        telegram_api_base_url=world.api_base_url,
        telegram_bot_token=DEFAULT_TOKEN,
        admin_chat_id=ADMIN_CHAT,
        alert_cooldown_minutes=60,
    )

    run = world.launch({GHOST_USERS, USER_CANDIDATES, COLD_START_CANDIDATES, FEED_QUEUES}, {})

    # the error-severity dbt test fails the monitoring step, so the run fails too ...
    assert not run.success
    # ... but the candidates it watches are still built, checked and served
    materialized = {event.asset_key for event in run.get_asset_materialization_events()}
    assert {USER_CANDIDATES, FEED_QUEUES} <= materialized
    failed_checks = {
        evaluation.check_name
        for evaluation in run.get_asset_check_evaluations()
        if not evaluation.passed
    }
    assert "ghost_users_in_error_window" in failed_checks

    checks_sensor = world.definitions.get_repository_def().get_sensor_def("admin_alert_on_checks")
    cursor = None
    for _ in range(2):  # the second tick sees no new execution
        result = checks_sensor(
            build_sensor_context(
                instance=world.instance, cursor=cursor, resources={"memefeed": memefeed}
            )
        )
        assert isinstance(result, SensorResult)
        cursor = result.cursor

    failure = world.instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)
    for _ in range(2):  # the same failure twice: the cooldown holds the repeat back
        admin_alert_on_run_failure(
            build_run_status_sensor_context(
                sensor_name=admin_alert_on_run_failure.name,
                dagster_event=failure[0].get_dagster_event(),
                dagster_instance=world.instance,
                dagster_run=run.dagster_run,
                resources={"memefeed": memefeed},
            ).for_run_failure()
        )

    texts = [message.text or "" for message in world.admin.chat_messages(ADMIN_CHAT)]
    assert len(texts) == 2, texts
    ghosts, failed_run = texts
    assert ghosts.startswith("Ghost users: checks on monitoring/ghost_users failed.")
    assert "- ghost_users_in_error_window (ERROR): 1 rows" in ghosts
    assert "ghost_users_in_warn_window" not in ghosts
    assert "Dagster run failed: __ASSET_JOB" in failed_run
    assert "DagsterDbtCliRuntimeError" in failed_run
