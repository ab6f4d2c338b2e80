"""The Dagster definitions load in a fresh clone and form one graph from sources to candidates."""

from __future__ import annotations

import importlib

from dagster import AssetKey, Definitions

INGESTION_KEYS = {
    AssetKey(["app", "meme_raw_local"]),
    AssetKey(["app", "meme_raw_telegram"]),
    AssetKey(["app", "meme"]),
}


def _definitions() -> Definitions:
    module = importlib.import_module("orchestration.definitions")
    return module.defs


def test_definitions_load_and_resolve_every_asset() -> None:
    definitions = _definitions()
    keys = {spec.key for spec in definitions.resolve_all_asset_specs()}

    assert keys >= INGESTION_KEYS
    assert {
        AssetKey(["marts", "meme_stats"]),
        AssetKey(["marts", "user_stats"]),
        AssetKey(["recommendations", "user_candidates"]),
        AssetKey(["recommendations", "cold_start_candidates"]),
    } <= keys
    definitions.resolve_implicit_global_asset_job_def()


def test_dbt_sources_are_the_ingestion_and_bot_assets_so_the_graph_is_connected() -> None:
    graph = _definitions().resolve_asset_graph()
    candidates = AssetKey(["recommendations", "user_candidates"])

    upstream = graph.get(candidates).parent_keys
    ancestors: set[AssetKey] = set()
    frontier = set(upstream)
    while frontier:
        key = frontier.pop()
        if key not in ancestors:
            ancestors.add(key)
            frontier |= set(graph.get(key).parent_keys)

    assert AssetKey(["app", "meme"]) in ancestors
    assert AssetKey(["app", "user_meme_reaction"]) in ancestors
    assert AssetKey(["app", "meme_raw_local"]) in ancestors


def test_dbt_tests_are_asset_checks_on_the_models() -> None:
    graph = _definitions().resolve_asset_graph()
    check_keys = graph.asset_check_keys
    checked_assets = {check.asset_key for check in check_keys}

    assert AssetKey(["marts", "meme_stats"]) in checked_assets
    assert AssetKey(["recommendations", "user_candidates"]) in checked_assets
    assert len(check_keys) >= 20


def test_models_are_grouped_by_their_layer() -> None:
    specs = {spec.key: spec for spec in _definitions().resolve_all_asset_specs()}

    assert specs[AssetKey(["marts", "meme_stats"])].group_name == "marts"
    assert specs[AssetKey(["recommendations", "user_candidates"])].group_name == "recommendations"
    assert specs[AssetKey(["app", "meme"])].group_name == "ingestion"
    assert specs[AssetKey(["serving", "feed_queues"])].group_name == "serving"


def test_the_serving_queues_hang_below_the_candidate_tables() -> None:
    graph = _definitions().resolve_asset_graph()
    parents = graph.get(AssetKey(["serving", "feed_queues"])).parent_keys

    assert AssetKey(["recommendations", "user_candidates"]) in parents
    assert AssetKey(["recommendations", "cold_start_candidates"]) in parents
