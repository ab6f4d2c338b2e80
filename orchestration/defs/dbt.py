"""Every dbt model as an asset and every dbt test as an asset check."""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation.
import os
from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from memefeed.dbt_env import dbt_env
from orchestration.defs.resources import MemefeedResource
from orchestration.lib.dbt_project import memefeed_dbt_project
from orchestration.lib.translator import MemefeedDbtTranslator


@dbt_assets(
    manifest=memefeed_dbt_project().manifest_path,
    dagster_dbt_translator=MemefeedDbtTranslator(),
    name="memefeed_dbt_models",
)
def memefeed_dbt_models(
    context: AssetExecutionContext, dbt: DbtCliResource, memefeed: MemefeedResource
) -> Iterator[Any]:
    """`dbt build`: models, then their tests, which gate everything downstream."""
    # dbt's profile reads the connection from the environment of the dbt subprocess.
    os.environ.update(dbt_env(memefeed.database_url))
    yield from dbt.cli(["build"], context=context).stream()
