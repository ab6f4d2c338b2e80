"""The Dagster UI on loopback shows the whole graph: asked through its GraphQL API.

One `dagster-webserver` for the module, in its own process group (killed in teardown), with
DAGSTER_HOME in a temporary folder; no daemon, so nothing is scheduled or launched.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from dagster import AssetKey

from memefeed.settings import PROJECT_ROOT, Settings
from orchestration.definitions import build_definitions
from orchestration.lib.automation import PROPAGATE_LABEL
from tests.orchestration.test_definitions import GROUPS

STARTUP_SECONDS = 180

ASSETS_QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    description
    kinds
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    automationCondition { label }
    assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
  }
}
"""

WORKSPACE_QUERY = """
{
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
          ... on RepositoryLocation {
            repositories {
              jobs { name }
              schedules { name cronSchedule pipelineName scheduleState { status } }
              sensors { name sensorType sensorState { status } }
            }
          }
        }
      }
    }
  }
}
"""


@dataclass
class Webserver:
    url: str

    def query(self, query: str) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/graphql", json={"query": query}, timeout=60)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"


def _location_loaded(server: Webserver) -> bool:
    try:
        entries = server.query(WORKSPACE_QUERY)["workspaceOrError"]["locationEntries"]
    except (httpx.HTTPError, ValueError):
        return False
    return bool(entries) and all(entry["loadStatus"] == "LOADED" for entry in entries)


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webserver]:
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    log = home / "webserver.log"
    port = _free_port()
    executable = Path(sys.executable).with_name("dagster-webserver")
    command = [str(executable), "-m", "orchestration.definitions"]
    command += ["-h", "127.0.0.1", "-p", str(port)]
    # Loading the definitions opens no connection; runs would, and none is launched here.
    env = {**os.environ, "DAGSTER_HOME": str(home), "DATABASE_URL": "postgresql://unused/x"}
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, with the code server it spawns
        )
    server = Webserver(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _location_loaded(server):
            if process.poll() is not None:
                pytest.fail(f"dagster-webserver exited {process.returncode}:\n{_log_tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(f"no loaded code location in {STARTUP_SECONDS}s:\n{_log_tail(log)}")
            time.sleep(1)
        yield server
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def assets(webserver: Webserver) -> dict[AssetKey, dict[str, Any]]:
    nodes = webserver.query(ASSETS_QUERY)["assetNodes"]
    return {AssetKey(node["assetKey"]["path"]): node for node in nodes}


@pytest.fixture(scope="module")
def repository(webserver: Webserver) -> dict[str, Any]:
    [entry] = webserver.query(WORKSPACE_QUERY)["workspaceOrError"]["locationEntries"]
    location = entry["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", location
    [repository] = location["repositories"]
    return repository


def test_the_ui_shows_every_asset_of_the_definitions(
    assets: dict[AssetKey, dict[str, Any]],
) -> None:
    definitions = build_definitions(Settings(DATABASE_URL="postgresql://unused"))
    expected = {spec.key for spec in definitions.resolve_all_asset_specs()}

    assert set(assets) == expected
    assert {
        AssetKey(["app", "meme_raw_telegram"]),
        AssetKey(["app", "user_meme_reaction"]),
        AssetKey(["staging", "stg_app__meme"]),
        AssetKey(["marts", "meme_stats"]),
        AssetKey(["recommendations", "user_candidates"]),
        AssetKey(["monitoring", "ghost_users"]),
        AssetKey(["seeds", "engine_weights"]),
        AssetKey(["serving", "feed_queues"]),
    } <= set(assets)


def test_every_asset_has_a_group_an_owner_a_description_and_kinds(
    assets: dict[AssetKey, dict[str, Any]],
) -> None:
    for key, node in assets.items():
        assert node["groupName"] in GROUPS, key
        assert node["owners"] == [{"team": "data"}], key
        assert (node["description"] or "").strip(), key
        assert node["kinds"], key
    groups = {node["groupName"] for node in assets.values()}
    assert groups == GROUPS


def test_derived_assets_show_their_automation_condition(
    assets: dict[AssetKey, dict[str, Any]],
) -> None:
    for key in (
        AssetKey(["app", "meme"]),
        AssetKey(["marts", "user_stats"]),
        AssetKey(["recommendations", "cold_start_candidates"]),
        AssetKey(["serving", "feed_queues"]),
    ):
        assert assets[key]["automationCondition"] == {"label": PROPAGATE_LABEL}, key
    assert assets[AssetKey(["app", "meme_raw_local"])]["automationCondition"] is None


def test_the_ui_shows_the_checks_that_gate_and_watch_the_candidates(
    assets: dict[AssetKey, dict[str, Any]],
) -> None:
    def checks(*path: str) -> dict[str, bool]:
        node = assets[AssetKey(list(path))]
        return {check["name"]: check["blocking"] for check in node["assetChecksOrError"]["checks"]}

    user_candidates = checks("recommendations", "user_candidates")
    assert user_candidates["great_expectations"] is True
    assert user_candidates["freshness_check"] is False
    assert len(user_candidates) > 5  # and the dbt tests
    assert checks("recommendations", "cold_start_candidates")["freshness_check"] is False
    assert checks("marts", "meme_stats")["great_expectations"] is True
    ghost_checks = checks("monitoring", "ghost_users")
    assert ghost_checks["ghost_users_in_error_window"] is True
    assert ghost_checks["ghost_users_in_warn_window"] is False


def test_the_ui_lists_the_schedules_running_by_default(repository: dict[str, Any]) -> None:
    schedules = {
        schedule["name"]: (
            schedule["cronSchedule"],
            schedule["pipelineName"],
            schedule["scheduleState"]["status"],
        )
        for schedule in repository["schedules"]
    }

    assert schedules == {
        "feed_refresh_schedule": ("*/10 * * * *", "feed_refresh", "RUNNING"),
        "ingest_local_folder_schedule": ("5 * * * *", "ingest_local_folder", "RUNNING"),
        "ingest_telegram_channels_schedule": ("35 * * * *", "ingest_telegram_channels", "RUNNING"),
    }
    assert {"feed_refresh", "ingest_local_folder", "ingest_telegram_channels"} <= {
        job["name"] for job in repository["jobs"]
    }


def test_the_ui_lists_the_sensors_running_by_default(repository: dict[str, Any]) -> None:
    sensors = {
        sensor["name"]: (sensor["sensorType"], sensor["sensorState"]["status"])
        for sensor in repository["sensors"]
    }

    assert sensors == {
        "feed_refresh_on_new_reactions": ("STANDARD", "RUNNING"),
        "feed_automation": ("AUTO_MATERIALIZE", "RUNNING"),
        "candidate_freshness_sensor": ("STANDARD", "RUNNING"),
        "admin_alert_on_run_failure": ("RUN_STATUS", "RUNNING"),
        "admin_alert_on_checks": ("STANDARD", "RUNNING"),
    }
