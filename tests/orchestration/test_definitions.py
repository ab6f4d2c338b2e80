"""The Dagster definitions load in a fresh clone and form one graph from sources to candidates."""

from __future__ import annotations

import importlib

from dagster import AssetCheckKey, AssetKey, Definitions

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


# ---------------------------------------------------------------- the graph as ops see it

FEED_QUEUES = AssetKey(["serving", "feed_queues"])
GROUPS = {
    "ingestion",
    "bot",
    "staging",
    "intermediate",
    "marts",
    "recommendations",
    "monitoring",
    "serving",
}


def test_every_asset_has_a_known_group_a_description_an_owner_and_kinds() -> None:
    specs = list(_definitions().resolve_all_asset_specs())

    assert len(specs) > 40
    for spec in specs:
        name = spec.key.to_user_string()
        assert spec.group_name in GROUPS, name
        assert (spec.description or "").strip(), name
        assert spec.owners, name
        assert spec.kinds, name


def test_seeds_sit_in_the_group_of_the_models_that_read_them() -> None:
    specs = {spec.key: spec for spec in _definitions().resolve_all_asset_specs()}

    assert specs[AssetKey(["seeds", "engine_weights"])].group_name == "recommendations"
    assert specs[AssetKey(["seeds", "blocked_deep_links"])].group_name == "monitoring"


def test_everything_derived_refreshes_when_its_upstream_updates() -> None:
    from orchestration.lib.automation import PROPAGATE_LABEL

    specs = {spec.key: spec for spec in _definitions().resolve_all_asset_specs()}
    derived = [
        key
        for key, spec in specs.items()
        if "dbt" in spec.kinds or key in {AssetKey(["app", "meme"]), FEED_QUEUES}
    ]

    assert len(derived) > 30
    for key in derived:
        condition = specs[key].automation_condition
        assert condition is not None, key
        assert condition.get_label() == PROPAGATE_LABEL, key
    # sources run on their schedules; the bot's tables are reported, never materialised
    for key in (AssetKey(["app", "meme_raw_local"]), AssetKey(["app", "user_meme_reaction"])):
        assert specs[key].automation_condition is None, key


def test_schedules_run_each_source_hourly_and_the_feed_every_ten_minutes() -> None:
    repository = _definitions().get_repository_def()
    schedules = {schedule.name: schedule for schedule in repository.schedule_defs}

    assert {name: schedule.cron_schedule for name, schedule in schedules.items()} == {
        "ingest_local_folder_schedule": "5 * * * *",
        "ingest_telegram_channels_schedule": "35 * * * *",
        "feed_refresh_schedule": "*/10 * * * *",
    }
    assert {name: schedule.job_name for name, schedule in schedules.items()} == {
        "ingest_local_folder_schedule": "ingest_local_folder",
        "ingest_telegram_channels_schedule": "ingest_telegram_channels",
        "feed_refresh_schedule": "feed_refresh",
    }
    for schedule in schedules.values():
        assert schedule.default_status.value == "RUNNING", schedule.name


def test_sensors_for_reactions_automation_freshness_and_alerts_run_by_default() -> None:
    repository = _definitions().get_repository_def()
    sensors = {sensor.name: sensor for sensor in repository.sensor_defs}

    assert set(sensors) == {
        "feed_refresh_on_new_reactions",
        "feed_automation",
        "candidate_freshness_sensor",
        "admin_alert_on_run_failure",
        "admin_alert_on_checks",
    }
    for sensor in sensors.values():
        assert sensor.default_status.value == "RUNNING", sensor.name


def test_each_job_runs_in_a_lane_and_the_feed_job_builds_dbt_then_serving() -> None:
    from orchestration.lib.automation import LANE_TAG

    definitions = _definitions()
    feed = definitions.resolve_job_def("feed_refresh")
    ingest_local = definitions.resolve_job_def("ingest_local_folder")
    ingest_telegram = definitions.resolve_job_def("ingest_telegram_channels")

    assert feed.tags[LANE_TAG] == "feed"
    assert ingest_local.tags[LANE_TAG] == ingest_telegram.tags[LANE_TAG] == "ingestion"
    feed_steps = {node.name for node in feed.graph.node_defs}
    assert {"memefeed_dbt_models", "serving__feed_queues"} <= feed_steps
    # the freshness checks run on their own sensor, not after every build
    assert not [step for step in feed_steps if step.startswith("freshness_check")]
    assert {node.name for node in ingest_local.graph.node_defs} == {
        "app__meme_raw_local",
        "app__meme",
    }


def test_the_candidate_tables_have_freshness_checks() -> None:
    check_keys = _definitions().resolve_asset_graph().asset_check_keys

    for table in ("user_candidates", "cold_start_candidates"):
        assert AssetCheckKey(AssetKey(["recommendations", table]), "freshness_check") in check_keys
