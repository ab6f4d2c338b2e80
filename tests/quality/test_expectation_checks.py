"""The suite as Dagster asset checks: run after dbt builds the tables, block serving on failure."""

from __future__ import annotations

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetKey,
    ExecuteInProcessResult,
    MaterializeResult,
    asset,
    materialize,
)

from memefeed.settings import Settings
from orchestration.definitions import build_definitions
from orchestration.defs.expectations import CHECK_NAME, feed_expectation_checks
from orchestration.defs.resources import MemefeedResource
from orchestration.defs.serving import feed_queues
from orchestration.lib.feed_expectations import GATED_TABLES
from tests.dbt.feed_dataset import RATERS, FeedDataset
from tests.quality.conftest import Corruption, DagsterBuild

pytestmark = pytest.mark.integration

GATED_KEYS = [AssetKey(list(table)) for table in GATED_TABLES]
USER_CANDIDATES = AssetKey(["recommendations", "user_candidates"])
COLD_START_CANDIDATES = AssetKey(["recommendations", "cold_start_candidates"])
ALREADY_SENT_MEME = 1


def _evaluations(result: ExecuteInProcessResult) -> dict[AssetKey, AssetCheckEvaluation]:
    return {
        evaluation.asset_key: evaluation
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == CHECK_NAME
    }


def test_each_gated_table_has_a_blocking_great_expectations_check() -> None:
    graph = build_definitions(Settings(DATABASE_URL="postgresql://unused")).resolve_asset_graph()

    for key in GATED_KEYS:
        check_key = AssetCheckKey(key, CHECK_NAME)
        assert check_key in graph.asset_check_keys, key
        assert graph.get_check_spec(check_key).blocking, key


def test_materialize_all_runs_the_checks_after_dbt_built_their_tables(
    dagster_build: DagsterBuild,
) -> None:
    run = dagster_build.run

    evaluations = _evaluations(run)
    assert set(evaluations) == set(GATED_KEYS)
    assert all(evaluation.passed for evaluation in evaluations.values()), [
        evaluation.description for evaluation in evaluations.values()
    ]
    step_events = [event for event in run.all_events if event.step_key is not None]
    dbt_done = next(
        position
        for position, event in enumerate(step_events)
        if event.step_key == "memefeed_dbt_models" and event.is_step_success
    )
    check_steps = {f"{key.to_python_identifier()}_{CHECK_NAME}" for key in GATED_KEYS}
    check_starts = [
        position
        for position, event in enumerate(step_events)
        if event.step_key in check_steps and event.is_step_start
    ]
    assert len(check_starts) == len(GATED_KEYS)
    assert min(check_starts) > dbt_done


@asset(key=USER_CANDIDATES)
def user_candidates_built_by_the_fixture() -> MaterializeResult:
    return MaterializeResult()


@asset(key=COLD_START_CANDIDATES)
def cold_start_candidates_built_by_the_fixture() -> MaterializeResult:
    return MaterializeResult()


def _run_checks_then_serving(database_url: str) -> ExecuteInProcessResult:
    """The candidate tables (already built by dbt), their checks, then the real serving asset."""
    candidate_checks = [
        check
        for check in feed_expectation_checks
        if {key.asset_key for key in check.check_keys} <= {USER_CANDIDATES, COLD_START_CANDIDATES}
    ]
    return materialize(
        [
            user_candidates_built_by_the_fixture,
            cold_start_candidates_built_by_the_fixture,
            *candidate_checks,
            feed_queues,
        ],
        resources={
            # no Redis: if serving ran it would only log, yet still record a materialisation
            "memefeed": MemefeedResource(
                database_url=database_url, telegram_api_base_url="http://unused", redis_url=None
            )
        },
        raise_on_error=False,
    )


async def test_serving_runs_after_the_checks_pass(
    built_feed: FeedDataset, database_url: str
) -> None:
    result = _run_checks_then_serving(database_url)

    assert result.success
    assert all(evaluation.passed for evaluation in _evaluations(result).values())
    built = {event.asset_key for event in result.get_asset_materialization_events()}
    assert feed_queues.key in built


async def test_a_failed_expectation_fails_the_check_the_run_and_blocks_serving(
    built_feed: FeedDataset, database_url: str, corrupted: Corruption
) -> None:
    rater = RATERS[0]
    damage = f"""
        insert into recommendations.user_candidates
            (user_id, meme_id, engine, score, rank, built_at)
        select user_id, {ALREADY_SENT_MEME}, 'damaged', 1.0, max(rank) + 1, max(built_at)
        from recommendations.user_candidates
        where user_id = {rater}
        group by user_id
    """
    repair = f"""
        delete from recommendations.user_candidates
        where user_id = {rater} and meme_id = {ALREADY_SENT_MEME}
    """
    async with corrupted(damage, repair):
        result = _run_checks_then_serving(database_url)

    # materialize_all raises on exactly this
    assert not result.success
    evaluations = _evaluations(result)
    assert evaluations[COLD_START_CANDIDATES].passed
    failed = evaluations[USER_CANDIDATES]
    assert not failed.passed
    assert failed.description is not None
    assert "user_candidate_sends.none_sent_before_build" in failed.description
    assert failed.metadata["failed_expectations"].value == [
        "user_candidate_sends.none_sent_before_build"
    ]
    assert "observed 1 unexpected" in str(
        failed.metadata["user_candidate_sends.none_sent_before_build"].value
    )
    built = {event.asset_key for event in result.get_asset_materialization_events()}
    assert feed_queues.key not in built
    serving_step = feed_queues.key.to_python_identifier()
    assert not [e for e in result.all_events if e.step_key == serving_step and e.is_step_start]
