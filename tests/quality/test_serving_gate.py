"""Gating: a bad candidate table never reaches the Redis queues.

The candidate tables as the package's `dagster_build` left them are damaged the ways issue 5
names (a candidate the user was already sent; a candidate meme whose telegram_file_id is gone or
empty), then the real Dagster definitions run:

- the publish path: the blocking checks of the candidate tables and `serving/feed_queues`, the
  tables as they are (a run that also selected the dbt models would rebuild them first);
- the whole build: every dbt model, its tests and checks, and `serving/feed_queues`, with the
  damage written into the tables `dbt build` has just made, before their checks run.

Each time the failed check names itself, the serving step never starts, and every Redis key
(the active users' queues, filled beforehand with known content) is byte-for-byte what it was.
A control run on the undamaged tables shows serving does rewrite those queues when the checks
pass, so "untouched" means gated, not idle.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import asyncpg
import psycopg2
import pytest
import redis.asyncio as aioredis
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetKey,
    DagsterInstance,
    ExecuteInProcessResult,
    HookContext,
    JobDefinition,
    success_hook,
)

from bot.feed import QueuedMeme, queue_key
from memefeed.db_urls import plain_postgres_url
from memefeed.settings import Settings
from orchestration.definitions import build_definitions
from orchestration.defs.dbt import memefeed_dbt_models
from orchestration.defs.expectations import CHECK_NAME
from orchestration.defs.serving import feed_queues
from tests.dbt.feed_dataset import FRESH_EN_READERS, RATERS
from tests.quality.conftest import DagsterBuild

pytestmark = pytest.mark.integration

USER_CANDIDATES = AssetKey(["recommendations", "user_candidates"])
COLD_START_CANDIDATES = AssetKey(["recommendations", "cold_start_candidates"])
GX_CHECKS = {
    AssetCheckKey(USER_CANDIDATES, CHECK_NAME),
    AssetCheckKey(COLD_START_CANDIDATES, CHECK_NAME),
}
SERVING_STEP = feed_queues.key.to_python_identifier()
DBT_STEP = "memefeed_dbt_models"

ALREADY_SENT_MEME = 1  # every rater reacted to memes 1-12 three days before the build
UNSENT_MEME = 16  # servable, sent to nobody: a candidate of every user and every language
OTHER_UNSENT_MEME = 17  # the same, so that both file-id damages can be made in one build
# Users whose queues serving rebuilds: active within the last day (set by the test), reachable.
ACTIVE_USERS = (*RATERS, *FRESH_EN_READERS)


@dataclass(frozen=True)
class Damage:
    """SQL that breaks the built feed, the SQL that repairs it, and what must then fail."""

    name: str
    damage_sql: str
    repair_sql: str
    failed_check: AssetKey  # the candidate table whose great_expectations check fails
    failed_expectations: frozenset[str]


ALREADY_SENT = Damage(
    "a candidate the user was already sent",
    damage_sql=f"""
        insert into recommendations.user_candidates
            (user_id, meme_id, engine, score, rank, built_at)
        select user_id, {ALREADY_SENT_MEME}, 'damaged', 1.0, max(rank) + 1, max(built_at)
        from recommendations.user_candidates
        where user_id = {RATERS[0]}
        group by user_id
    """,
    repair_sql=f"""
        delete from recommendations.user_candidates
        where user_id = {RATERS[0]} and meme_id = {ALREADY_SENT_MEME}
    """,
    failed_check=USER_CANDIDATES,
    failed_expectations=frozenset({"user_candidate_sends.none_sent_before_build"}),
)
# app.meme allows a null file id only off 'ok' (a check constraint): a meme broken after the build
NULL_FILE_ID = Damage(
    "a candidate meme whose telegram_file_id is null",
    damage_sql=f"""
        update app.meme set status = 'broken_content_link', telegram_file_id = null
        where id = {UNSENT_MEME}
    """,
    repair_sql=f"""
        update app.meme set status = 'ok', telegram_file_id = 'file-{UNSENT_MEME}'
        where id = {UNSENT_MEME}
    """,
    failed_check=USER_CANDIDATES,
    failed_expectations=frozenset(
        {"user_candidate_memes.telegram_file_id_not_null", "user_candidate_memes.status_ok"}
    ),
)
EMPTY_FILE_ID = Damage(
    "a candidate meme whose telegram_file_id is empty",
    damage_sql=f"update app.meme set telegram_file_id = '' where id = {OTHER_UNSENT_MEME}",
    repair_sql=f"""
        update app.meme set telegram_file_id = 'file-{OTHER_UNSENT_MEME}'
        where id = {OTHER_UNSENT_MEME}
    """,
    failed_check=USER_CANDIDATES,
    failed_expectations=frozenset({"user_candidate_memes.telegram_file_id_not_empty"}),
)
DAMAGES = [
    pytest.param(damage, id=damage.name.replace(" ", "_"))
    for damage in (ALREADY_SENT, NULL_FILE_ID, EMPTY_FILE_ID)
]
# The whole build takes a dbt build per run, so it takes all three damages at once.
ALL_DAMAGES = Damage(
    "all three",
    damage_sql=";".join(d.damage_sql for d in (ALREADY_SENT, NULL_FILE_ID, EMPTY_FILE_ID)),
    repair_sql=";".join(d.repair_sql for d in (ALREADY_SENT, NULL_FILE_ID, EMPTY_FILE_ID)),
    failed_check=USER_CANDIDATES,
    failed_expectations=ALREADY_SENT.failed_expectations
    | NULL_FILE_ID.failed_expectations
    | EMPTY_FILE_ID.failed_expectations,
)


# ------------------------------------------------------------------------------ helpers


def _execute(job: JobDefinition) -> ExecuteInProcessResult:
    with DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(instance=instance, raise_on_error=False)


async def _in_thread(run: Callable[[], ExecuteInProcessResult]) -> ExecuteInProcessResult:
    """Off the test's event loop, as the main job does: serving runs its own `asyncio.run`."""
    return await asyncio.to_thread(run)


def _global_job(database_url: str, redis_url: str) -> JobDefinition:
    """The job `memefeed materialize` runs, from the real definitions, serving into our Redis."""
    settings = Settings(DATABASE_URL=database_url, REDIS_URL=redis_url)
    return build_definitions(settings).resolve_implicit_global_asset_job_def()


def _publish(database_url: str, redis_url: str) -> ExecuteInProcessResult:
    """The candidate tables' blocking expectations checks, then serving; no dbt rebuild."""
    job = _global_job(database_url, redis_url).get_subset(
        asset_selection={feed_queues.key}, asset_check_selection=GX_CHECKS
    )
    return _execute(job)


def _build_and_publish(
    database_url: str, redis_url: str, after_dbt_build_sql: str | None
) -> tuple[ExecuteInProcessResult, list[str]]:
    """Every dbt model with its tests and checks, then serving; `after_dbt_build_sql` runs
    between `dbt build` and the checks (a success hook of the dbt step, which the in-process
    executor runs before the next step starts). Returns the run and the steps the hook saw."""
    hooked_steps: list[str] = []

    @success_hook(name="damage_what_dbt_built")
    def damage_what_dbt_built(context: HookContext) -> None:
        hooked_steps.append(context.op.name)
        if context.op.name == DBT_STEP and after_dbt_build_sql is not None:
            _execute_sql(database_url, after_dbt_build_sql)

    job = (
        _global_job(database_url, redis_url)
        .get_subset(asset_selection={*memefeed_dbt_models.keys, feed_queues.key})
        .with_hooks({damage_what_dbt_built})
    )
    return _execute(job), hooked_steps


def _execute_sql(database_url: str, sql: str) -> None:
    connection = psycopg2.connect(plain_postgres_url(database_url))
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def _gx_evaluations(result: ExecuteInProcessResult) -> dict[AssetKey, AssetCheckEvaluation]:
    return {
        evaluation.asset_key: evaluation
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == CHECK_NAME
    }


def _serving_started(result: ExecuteInProcessResult) -> bool:
    return any(
        event.step_key == SERVING_STEP and event.is_step_start for event in result.all_events
    )


def _served(result: ExecuteInProcessResult) -> bool:
    return feed_queues.key in {
        event.asset_key for event in result.get_asset_materialization_events()
    }


def _assert_blocked_by(result: ExecuteInProcessResult, damage: Damage) -> None:
    """The run failed on the damaged table's expectations check, and serving never started."""
    assert not result.success
    evaluations = _gx_evaluations(result)
    failed = evaluations[damage.failed_check]
    assert not failed.passed
    assert failed.blocking
    assert failed.description is not None
    for expectation in damage.failed_expectations:
        assert expectation in failed.description, failed.description
    failed_names = failed.metadata["failed_expectations"].value
    assert isinstance(failed_names, list)
    assert set(failed_names) == damage.failed_expectations
    # the step of the check fails with an error that names the table and the check
    check_step = f"{damage.failed_check.to_python_identifier()}_{CHECK_NAME}"
    (step_failure,) = [
        event for event in result.get_step_failure_events() if event.step_key == check_step
    ]
    assert step_failure.step_failure_data.error is not None
    assert (
        f"{damage.failed_check.to_user_string()}: {CHECK_NAME}"
        in step_failure.step_failure_data.error.message
    )
    assert not _serving_started(result)
    assert not _served(result)


# ------------------------------------------------------------------------------ fixtures


RedisSnapshot = dict[bytes, bytes]


async def _snapshot(redis: aioredis.Redis) -> RedisSnapshot:
    """Every key of the test database with its DUMP (type, value and encoding, as bytes)."""
    snapshot: RedisSnapshot = {}
    async for key in redis.scan_iter(count=1000):
        dumped = await redis.dump(key)
        assert dumped is not None
        snapshot[key] = dumped
    return snapshot


@pytest.fixture
async def previous_queues(
    built_feed: object, db_pool: asyncpg.Pool, redis_client: aioredis.Redis
) -> AsyncIterator[RedisSnapshot]:
    """The active users' queues as the previous good build left them: known, fixed content.

    The users become active for the test (serving rebuilds only recent users' queues) and go
    back to how the dataset left them after it.
    """
    previous_activity = await db_pool.fetch(
        'select id, last_active_at from app."user" where id = any($1::bigint[])', ACTIVE_USERS
    )
    assert len(previous_activity) == len(ACTIVE_USERS)
    await db_pool.execute(
        'update app."user" set last_active_at = now() where id = any($1::bigint[])', ACTIVE_USERS
    )
    for user_id in ACTIVE_USERS:
        previous = [
            QueuedMeme(meme_id, f"file-previous-{meme_id}", None, "previous_build").encode()
            for meme_id in (user_id, user_id + 1000)
        ]
        await redis_client.rpush(queue_key(user_id), *previous)
    await redis_client.set("feed:unrelated", b"\x00\xffbinary")
    try:
        yield await _snapshot(redis_client)
    finally:
        await db_pool.executemany(
            'update app."user" set last_active_at = $2 where id = $1',
            [(row["id"], row["last_active_at"]) for row in previous_activity],
        )


@asynccontextmanager
async def _damaged(db_pool: asyncpg.Pool, damage: Damage) -> AsyncIterator[None]:
    await db_pool.execute(damage.damage_sql)
    try:
        yield
    finally:
        await db_pool.execute(damage.repair_sql)


@contextmanager
def _repaired_after(database_url: str, damage: Damage) -> Iterator[None]:
    try:
        yield
    finally:
        _execute_sql(database_url, damage.repair_sql)


# ------------------------------------------------------------------------------ the publish path


async def test_serving_rewrites_the_active_queues_when_the_checks_pass(
    dagster_build: DagsterBuild,
    database_url: str,
    redis_url: str,
    redis_client: aioredis.Redis,
    previous_queues: RedisSnapshot,
) -> None:
    result = await _in_thread(lambda: _publish(database_url, redis_url))

    assert result.success
    assert set(_gx_evaluations(result)) == {USER_CANDIDATES, COLD_START_CANDIDATES}
    assert all(evaluation.passed for evaluation in _gx_evaluations(result).values())
    assert _served(result)
    after = await _snapshot(redis_client)
    for user_id in ACTIVE_USERS:
        key = queue_key(user_id).encode()
        assert after[key] != previous_queues[key], user_id
        queued = [QueuedMeme.decode(raw) for raw in await redis_client.lrange(key, 0, -1)]
        assert queued, user_id
        assert all(meme.engine != "previous_build" for meme in queued), user_id
    assert after[b"feed:unrelated"] == previous_queues[b"feed:unrelated"]


@pytest.mark.parametrize("damage", DAMAGES)
async def test_a_damaged_candidate_table_fails_its_check_and_serving_leaves_redis_untouched(
    dagster_build: DagsterBuild,
    database_url: str,
    redis_url: str,
    redis_client: aioredis.Redis,
    db_pool: asyncpg.Pool,
    previous_queues: RedisSnapshot,
    damage: Damage,
) -> None:
    async with _damaged(db_pool, damage):
        result = await _in_thread(lambda: _publish(database_url, redis_url))

    _assert_blocked_by(result, damage)
    assert await _snapshot(redis_client) == previous_queues


# ------------------------------------------------------------------------------ the whole build


async def test_damage_in_the_tables_dbt_just_built_stops_the_whole_build_before_serving(
    dagster_build: DagsterBuild,
    database_url: str,
    redis_url: str,
    redis_client: aioredis.Redis,
    previous_queues: RedisSnapshot,
) -> None:
    damage = ALL_DAMAGES
    with _repaired_after(database_url, damage):
        result, hooked_steps = await asyncio.to_thread(
            _build_and_publish, database_url, redis_url, damage.damage_sql
        )

    # the hook runs only after a successful step: dbt built the tables and its tests passed
    assert DBT_STEP in hooked_steps
    _assert_blocked_by(result, damage)
    assert await _snapshot(redis_client) == previous_queues
