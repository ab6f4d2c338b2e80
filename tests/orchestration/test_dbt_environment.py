"""dbt's connection settings reach the dbt subprocess, not the Dagster process's connections."""

from __future__ import annotations

import os

import pytest

from orchestration.defs.dbt import environment_variables


def test_the_variables_hold_inside_and_the_previous_environment_returns_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PGOPTIONS", "-c statement_timeout=5s")
    monkeypatch.delenv("MEMEFEED_PG_DBNAME", raising=False)

    with environment_variables({"PGOPTIONS": "-c jit=off", "MEMEFEED_PG_DBNAME": "feed"}):
        assert os.environ["PGOPTIONS"] == "-c jit=off"
        assert os.environ["MEMEFEED_PG_DBNAME"] == "feed"

    assert os.environ["PGOPTIONS"] == "-c statement_timeout=5s"
    assert "MEMEFEED_PG_DBNAME" not in os.environ


def test_the_previous_environment_returns_when_the_body_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PGOPTIONS", raising=False)

    with pytest.raises(RuntimeError), environment_variables({"PGOPTIONS": "-c jit=off"}):
        raise RuntimeError("dbt did not start")

    assert "PGOPTIONS" not in os.environ
