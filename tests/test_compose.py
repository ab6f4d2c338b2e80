"""The production compose file: the services ops expect, wired the way DESIGN.md says."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from memefeed.services import create_database, drop_database
from memefeed.settings import PROJECT_ROOT, libpq_parts

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def test_compose_runs_every_service_with_healthchecks_where_others_wait_on_them() -> None:
    services = _compose()["services"]

    assert {"postgres", "redis", "migrate", "dagster-webserver", "dagster-daemon", "bot"} <= set(
        services
    )
    assert services["bot"]["command"] == ["memefeed", "bot", "--webhook"]
    for name in ("postgres", "redis", "bot", "dagster-webserver"):
        assert "healthcheck" in services[name], name
    for name in ("bot", "dagster-webserver", "dagster-daemon"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


# Containers that run to completion: dependents wait for success, not for health.
ONE_SHOT_SERVICES = {"migrate"}


def test_every_long_running_service_has_a_healthcheck_with_limits() -> None:
    services = _compose()["services"]

    assert set(services) - ONE_SHOT_SERVICES == {
        "postgres",
        "redis",
        "dagster-webserver",
        "dagster-daemon",
        "bot",
    }
    for name, service in services.items():
        if name in ONE_SHOT_SERVICES:
            assert service["restart"] == "no", name
            continue
        healthcheck = service.get("healthcheck")
        assert healthcheck is not None, f"{name} has no healthcheck"
        assert not healthcheck.get("disable", False), name
        test = healthcheck["test"]
        assert isinstance(test, list), name
        assert test[0] in {"CMD", "CMD-SHELL"}, name
        assert len(test) > 1, name
        for limit in ("interval", "timeout", "retries", "start_period"):
            assert limit in healthcheck, f"{name}: healthcheck without {limit}"


def test_each_healthcheck_asks_the_service_itself_with_tools_its_image_has() -> None:
    services = _compose()["services"]

    def command(name: str) -> str:
        return " ".join(services[name]["healthcheck"]["test"][1:])

    assert "pg_isready" in command("postgres")
    assert "redis-cli ping" in command("redis")
    assert command("dagster-daemon") == "dagster-daemon liveness-check"
    # python:3.11-slim has no curl or wget: HTTP checks go through Python's urllib
    assert "http://127.0.0.1:3000/server_info" in command("dagster-webserver")
    assert "http://127.0.0.1:8080/healthz" in command("bot")
    assert services["bot"]["environment"]["WEBHOOK_PORT"] == "8080"
    for name in ("dagster-webserver", "bot"):
        assert command(name).startswith("python -c import urllib.request"), name
    for name, service in services.items():
        if "healthcheck" in service:
            assert "curl" not in command(name), name
            assert "wget" not in command(name), name


def test_every_dependency_waits_on_health_or_on_a_finished_one_shot() -> None:
    services = _compose()["services"]
    waits: dict[str, dict[str, str]] = {}

    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        # the short list form would start a service as soon as its dependency's container does
        assert isinstance(depends_on, dict), f"{name}: depends_on without conditions"
        waits[name] = {}
        for dependency, how in depends_on.items():
            assert dependency in services, (name, dependency)
            expected = (
                "service_completed_successfully"
                if dependency in ONE_SHOT_SERVICES
                else "service_healthy"
            )
            assert how["condition"] == expected, (name, dependency)
            waits[name][dependency] = how["condition"]

    for name in ("migrate", "dagster-webserver", "dagster-daemon", "bot"):
        assert {"postgres", "redis"} <= set(waits[name]), name
    for name in ("dagster-webserver", "dagster-daemon", "bot"):
        assert "migrate" in waits[name], name


def test_the_dagster_ui_which_has_no_login_is_published_on_loopback_only() -> None:
    services = _compose()["services"]

    assert services["dagster-webserver"]["ports"] == ["127.0.0.1:3000:3000"]


def test_dagster_keeps_its_run_storage_in_postgres() -> None:
    instance = yaml.safe_load((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text())
    assert "postgres" in instance["storage"]


def test_a_compose_cli_accepts_the_file(tmp_path: Path) -> None:
    compose = (
        ["docker", "compose"]
        if shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
        else ["docker-compose"]
        if shutil.which("docker-compose")
        else None
    )
    if compose is None:
        pytest.skip("no compose CLI on this machine (scripts/test.sh installs one where it can)")
    env_file = PROJECT_ROOT / ".env"
    created = not env_file.exists()
    if created:
        env_file.write_text((PROJECT_ROOT / ".env.example").read_text())
    try:
        result = subprocess.run(
            [*compose, "-f", str(COMPOSE_FILE), "config"],
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
        )
    finally:
        if created:
            env_file.unlink()
    assert result.returncode == 0, result.stderr
    assert "memefeed" in result.stdout


def test_the_image_ships_every_package_and_the_dagster_workspace() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    copied = {line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")}
    workspace = yaml.safe_load((PROJECT_ROOT / "deploy" / "workspace.yaml").read_text())

    assert {"memefeed", "bot", "ingestion", "orchestration", "dbt_project", "deploy"} <= copied
    assert workspace["load_from"][0]["python_module"]["module_name"] == "orchestration.definitions"


# ------------------------------------------------------------------ healthchecks, run for real


def _healthcheck_argv(service: str, **replacements: str) -> list[str]:
    """The service's healthcheck as an argv for this machine (`CMD` form only)."""
    test = _compose()["services"][service]["healthcheck"]["test"]
    assert test[0] == "CMD", service
    argv: list[str] = test[1:]
    for old, new in replacements.items():
        argv = [part.replace(old, new) for part in argv]
    return argv


def _passes(argv: list[str], env: dict[str, str]) -> bool:
    # python and the dagster scripts resolve from env's PATH, as in the image (/app/.venv/bin)
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    return result.returncode == 0


def _wait_until_healthy(
    argv: list[str], env: dict[str, str], process: subprocess.Popen[bytes], log: Path
) -> None:
    """Run the healthcheck until it passes, as Docker does; fail if the process dies first.

    The deadline only bounds a hang (a slow, loaded machine still passes well within it).
    """
    deadline = time.monotonic() + 240
    while not _passes(argv, env):
        assert process.poll() is None, f"{argv[0]} exited {process.returncode}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"never healthy: {argv}\n{log.read_text()}"
        time.sleep(2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process this test started, with the children it spawned (its own session)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def dagster_env(postgres_server_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """DAGSTER_HOME with deploy/dagster.yaml as shipped, on a fresh PostgreSQL database."""
    parts = libpq_parts(postgres_server_url)
    if parts["host"].startswith("/") or parts["port"] != "5432":
        pytest.skip("deploy/dagster.yaml connects over TCP to port 5432")
    name = f"dagster_health_{uuid.uuid4().hex[:8]}"
    create_database(postgres_server_url, name)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": parts["host"],
        "DAGSTER_PG_USER": parts["user"],
        "DAGSTER_PG_PASSWORD": parts["password"],
        "DAGSTER_PG_DB": name,
    }
    try:
        yield env
    finally:
        drop_database(postgres_server_url, name)


@pytest.mark.integration
def test_the_daemon_healthcheck_fails_until_the_daemon_heartbeats_in_postgres(
    dagster_env: dict[str, str], tmp_path: Path
) -> None:
    liveness = _healthcheck_argv("dagster-daemon")

    assert not _passes(liveness, dagster_env)  # no daemon has written a heartbeat yet
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            ["dagster-daemon", "run", "-m", "orchestration.definitions"],
            cwd=PROJECT_ROOT,
            env=dagster_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_healthy(liveness, dagster_env, daemon, log)
    finally:
        _stop(daemon)


@pytest.mark.integration
def test_the_webserver_healthcheck_passes_once_it_serves_on_postgres_storage(
    dagster_env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    server_info = _healthcheck_argv("dagster-webserver", **{":3000/": f":{port}/"})

    assert not _passes(server_info, dagster_env)  # nothing listens yet
    log = tmp_path / "webserver.log"
    with log.open("wb") as out:
        webserver = subprocess.Popen(
            [
                *("dagster-webserver", "-h", "127.0.0.1", "-p", port),
                *("-m", "orchestration.definitions"),
            ],
            cwd=PROJECT_ROOT,
            env=dagster_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_healthy(server_info, dagster_env, webserver, log)
    finally:
        _stop(webserver)
