"""SQLFluff with the dbt templater keeps the SQL style of every model and test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from memefeed.dbt_env import dbt_env
from memefeed.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.integration

SQLFLUFF = Path(sys.executable).with_name("sqlfluff")


def test_sqlfluff_lint_passes_on_the_dbt_project(database_url: str) -> None:
    result = subprocess.run(
        # SQLFluff takes the templater from the configuration of the working directory:
        # dbt_project/.sqlfluff (templater dbt, dialect postgres).
        [str(SQLFLUFF), "lint", ".", "--processes", "2", "--disable-progress-bar"],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, **dbt_env(database_url), "DO_NOT_TRACK": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
