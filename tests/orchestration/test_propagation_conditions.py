"""`propagate_updates` on the real graph, with events reported to an in-memory instance.

No data and no runs: the automation condition is evaluated on materialisations and check
results as the sensor sees them (the end-to-end path with real runs is in test_ops_flow.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    Definitions,
    evaluate_automation_conditions,
)
from dagster._core.definitions.asset_daemon_cursor import AssetDaemonCursor

from memefeed.settings import Settings
from orchestration.definitions import build_definitions

USER_CANDIDATES = AssetKey(["recommendations", "user_candidates"])
MEME_STATS = AssetKey(["marts", "meme_stats"])
FEED_QUEUES = AssetKey(["serving", "feed_queues"])
REACTIONS = AssetKey(["app", "user_meme_reaction"])


@dataclass
class Graph:
    definitions: Definitions
    instance: DagsterInstance
    cursor: AssetDaemonCursor | None = None

    def materialized(self, *keys: AssetKey) -> None:
        for key in keys:
            self.instance.report_runless_asset_event(AssetMaterialization(key))

    def checked(self, key: AssetKey, name: str, *, passed: bool) -> None:
        self.instance.report_runless_asset_event(
            AssetCheckEvaluation(
                asset_key=key, check_name=name, passed=passed, severity=AssetCheckSeverity.ERROR
            )
        )

    def tick(self) -> set[AssetKey]:
        result = evaluate_automation_conditions(
            self.definitions, self.instance, cursor=self.cursor
        )
        self.cursor = result.cursor
        return {
            key
            for key in self.definitions.resolve_asset_graph().get_all_asset_keys()
            if result.get_num_requested(key)
        }


@pytest.fixture(scope="module")
def definitions() -> Definitions:
    return build_definitions(Settings(DATABASE_URL="postgresql://unused"))


@pytest.fixture
def graph(definitions: Definitions) -> Iterator[Graph]:
    """Everything materialised once, and the first tick done."""
    with DagsterInstance.ephemeral() as instance:
        graph = Graph(definitions, instance)
        graph.materialized(*definitions.resolve_asset_graph().get_all_asset_keys())
        assert graph.tick() == set()
        yield graph


def test_a_reported_correction_requests_the_whole_path_to_the_queues_in_one_tick(
    graph: Graph,
) -> None:
    graph.materialized(REACTIONS)

    requested = graph.tick()

    assert {MEME_STATS, USER_CANDIDATES, FEED_QUEUES} <= requested
    assert REACTIONS not in requested
    assert graph.tick() == set()  # requested once, not on every tick


def test_a_failed_blocking_check_holds_everything_below_its_table_back(graph: Graph) -> None:
    graph.materialized(USER_CANDIDATES)
    graph.checked(USER_CANDIDATES, "great_expectations", passed=False)

    assert FEED_QUEUES not in graph.tick()

    # once the check passes, the queues catch up with the table
    graph.checked(USER_CANDIDATES, "great_expectations", passed=True)
    assert FEED_QUEUES in graph.tick()


def test_error_severity_dbt_tests_are_blocking_checks(graph: Graph) -> None:
    asset_graph = graph.definitions.resolve_asset_graph()
    meme_stats_checks = [
        key for key in asset_graph.asset_check_keys if key.asset_key == MEME_STATS
    ]

    assert meme_stats_checks
    assert any(asset_graph.get_check_spec(key).blocking for key in meme_stats_checks)
    blocking = next(key for key in meme_stats_checks if asset_graph.get_check_spec(key).blocking)
    assert isinstance(blocking, AssetCheckKey)

    graph.materialized(MEME_STATS)
    graph.checked(MEME_STATS, blocking.name, passed=False)
    requested = graph.tick()

    assert USER_CANDIDATES not in requested
    assert FEED_QUEUES not in requested
