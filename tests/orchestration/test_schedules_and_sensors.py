"""Schedules, the new-reactions sensor and the run queue: when runs start, and when they wait."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import yaml
from dagster import (
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    Definitions,
    RunRequest,
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
)
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.utils import make_new_run_id
from dagster._utils.tags import TagConcurrencyLimitsCounter

from memefeed.settings import PROJECT_ROOT, Settings
from orchestration.definitions import build_definitions
from orchestration.defs.resources import MemefeedResource
from orchestration.lib.automation import LANE_TAG

THRESHOLD = 3
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def definitions() -> Definitions:
    return build_definitions(Settings(DATABASE_URL="postgresql://unused"))


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    # On disk: a schedule's context reaches the instance through a reference to it.
    with instance_for_test() as instance:
        yield instance


def _run_in_lane(
    instance: DagsterInstance, lane: str, status: DagsterRunStatus, job_name: str = "feed_refresh"
) -> DagsterRun:
    """A run record as the daemon leaves it while a run waits in the queue or runs."""
    origin = RemoteJobOrigin(
        RemoteRepositoryOrigin(
            InProcessCodeLocationOrigin(
                LoadableTargetOrigin(module_name="orchestration.definitions")
            ),
            "__repository__",
        ),
        job_name,
    )
    run = DagsterRun(
        job_name=job_name,
        run_id=make_new_run_id(),
        tags={LANE_TAG: lane},
        status=status,
        remote_job_origin=origin,
    )
    instance.add_run(run)
    return run


def _tick_schedule(
    definitions: Definitions, instance: DagsterInstance, name: str
) -> list[RunRequest] | str:
    schedule = definitions.get_repository_def().get_schedule_def(name)
    data = schedule.evaluate_tick(build_schedule_context(instance=instance))
    if data.skip_message is not None:
        return data.skip_message
    assert data.run_requests is not None
    return list(data.run_requests)


@pytest.mark.parametrize("status", [DagsterRunStatus.QUEUED, DagsterRunStatus.STARTED])
def test_a_schedule_skips_while_a_run_of_its_lane_is_queued_or_running(
    definitions: Definitions, instance: DagsterInstance, status: DagsterRunStatus
) -> None:
    busy = _run_in_lane(instance, "feed", status)

    skipped = _tick_schedule(definitions, instance, "feed_refresh_schedule")
    assert isinstance(skipped, str)
    assert busy.run_id in skipped

    instance.report_run_failed(busy)
    requests = _tick_schedule(definitions, instance, "feed_refresh_schedule")
    assert isinstance(requests, list)
    assert len(requests) == 1
    assert requests[0].tags["memefeed/trigger"] == "schedule"


def test_a_run_of_another_lane_does_not_hold_a_schedule_back(
    definitions: Definitions, instance: DagsterInstance
) -> None:
    _run_in_lane(instance, "ingestion", DagsterRunStatus.STARTED, job_name="ingest_local_folder")

    assert isinstance(_tick_schedule(definitions, instance, "feed_refresh_schedule"), list)
    skipped = _tick_schedule(definitions, instance, "ingest_telegram_channels_schedule")
    assert isinstance(skipped, str)
    assert "ingestion lane" in skipped


# ------------------------------------------------------------------ the new-reactions sensor


@pytest.fixture
async def reactions(clean_db: asyncpg.Pool) -> asyncpg.Pool:
    """Two users and eight memes; no reactions yet."""
    await clean_db.execute(
        "insert into app.meme_source (id, type, url) values (1, 'local', '/srv/memes')"
    )
    await clean_db.executemany(
        "insert into app.meme"
        " (id, meme_source_id, raw_meme_id, status, telegram_file_id, published_at)"
        " values ($1, 1, $1, 'ok', $2, now())",
        [(meme_id, f"file-{meme_id}") for meme_id in range(1, 9)],
    )
    await clean_db.executemany(
        'insert into app."user" (id) values ($1)', [(user_id,) for user_id in (1, 2)]
    )
    return clean_db


async def _react(pool: asyncpg.Pool, user_id: int, meme_ids: range, minutes_ago: int) -> None:
    reacted_at = NOW - timedelta(minutes=minutes_ago)
    await pool.executemany(
        "insert into app.user_meme_reaction"
        " (user_id, meme_id, recommended_by, sent_at, reaction_id, reacted_at)"
        " values ($1, $2, 'test', $3, 1, $3)",
        [(user_id, meme_id, reacted_at) for meme_id in meme_ids],
    )


def _tick_sensor(
    definitions: Definitions, instance: DagsterInstance, database_url: str, cursor: str | None
) -> SensorResult | SkipReason:
    sensor = definitions.get_repository_def().get_sensor_def("feed_refresh_on_new_reactions")
    resource = MemefeedResource(
        database_url=database_url,
        telegram_api_base_url="http://unused",
        feed_refresh_min_new_reactions=THRESHOLD,
    )
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"memefeed": resource}
    )
    result = sensor(context)
    assert isinstance(result, SensorResult | SkipReason)
    return result


@pytest.mark.integration
async def test_the_sensor_asks_for_a_refresh_once_enough_reactions_arrived(
    reactions: asyncpg.Pool, definitions: Definitions, instance: DagsterInstance, database_url: str
) -> None:
    await _react(reactions, 1, range(1, 3), minutes_ago=5)

    below = _tick_sensor(definitions, instance, database_url, cursor=None)
    assert isinstance(below, SkipReason)
    assert "2 new reactions" in (below.skip_message or "")

    await _react(reactions, 2, range(1, 2), minutes_ago=4)
    reached = _tick_sensor(definitions, instance, database_url, cursor=None)
    assert isinstance(reached, SensorResult)
    assert [request.tags["memefeed/new_reactions"] for request in reached.run_requests or []] == [
        "3"
    ]
    assert reached.cursor == (NOW - timedelta(minutes=4)).isoformat()

    # counted from the cursor on: the three are spent
    after = _tick_sensor(definitions, instance, database_url, cursor=reached.cursor)
    assert isinstance(after, SkipReason)
    assert "0 new reactions" in (after.skip_message or "")


@pytest.mark.integration
async def test_the_sensor_holds_back_while_a_feed_run_is_queued_or_running(
    reactions: asyncpg.Pool, definitions: Definitions, instance: DagsterInstance, database_url: str
) -> None:
    await _react(reactions, 1, range(1, 6), minutes_ago=3)
    busy = _run_in_lane(instance, "feed", DagsterRunStatus.QUEUED)

    held = _tick_sensor(definitions, instance, database_url, cursor=None)
    assert isinstance(held, SkipReason)
    assert busy.run_id in (held.skip_message or "")

    instance.report_run_failed(busy)
    released = _tick_sensor(definitions, instance, database_url, cursor=None)
    assert isinstance(released, SensorResult)
    assert len(released.run_requests or []) == 1


# ------------------------------------------------------------------ the run queue's limit


@pytest.fixture
def deployed_instance(tmp_path: Path) -> Iterator[DagsterInstance]:
    """An instance configured as deploy/dagster.yaml, with local storage instead of PostgreSQL."""
    config = yaml.safe_load((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text())
    assert "postgres" in config.pop("storage")
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        yield instance


def test_the_run_queue_starts_one_run_per_lane(
    definitions: Definitions, deployed_instance: DagsterInstance
) -> None:
    def run(tags: dict[str, str]) -> DagsterRun:
        return DagsterRun(job_name="any", run_id=make_new_run_id(), tags=tags)

    feed_tags = dict(definitions.resolve_job_def("feed_refresh").tags)
    automation = definitions.get_repository_def().get_sensor_def("feed_automation")
    automation_tags = dict(automation.run_tags or {})  # type: ignore[attr-defined]
    ingestion_tags = dict(definitions.resolve_job_def("ingest_local_folder").tags)
    running_feed = run(feed_tags)

    run_queue = deployed_instance.get_concurrency_config().run_queue_config
    assert run_queue is not None
    limits = TagConcurrencyLimitsCounter(list(run_queue.tag_concurrency_limits), [running_feed])

    assert limits.is_blocked(run(feed_tags))  # a second refresh waits
    assert limits.is_blocked(run(automation_tags))  # so does a propagation run
    assert not limits.is_blocked(run(ingestion_tags))  # another lane starts
    assert not TagConcurrencyLimitsCounter(list(run_queue.tag_concurrency_limits), []).is_blocked(
        run(feed_tags)
    )


def test_one_dbt_build_runs_at_a_time_whatever_launched_it(
    deployed_instance: DagsterInstance,
) -> None:
    from orchestration.defs.dbt import DBT_POOL, memefeed_dbt_models

    assert memefeed_dbt_models.node_def.pools == {DBT_POOL}
    assert deployed_instance.get_concurrency_config().pool_config.default_pool_limit == 1
