"""Every dbt model as an asset and every dbt test as an asset check.

Two steps: the feed (staging to recommendations) and monitoring (ghost users, candidate
coverage). A monitoring test that errors, such as more ghost users than allowed, fails its own
step and alerts, while the candidates it watches are still built, checked and served.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation.
import contextlib
import os
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg2
from dagster import AssetExecutionContext, AssetMaterialization, Config, Output
from dagster_dbt import DbtCliResource, dbt_assets
from pydantic import Field

from memefeed.db_urls import plain_postgres_url
from memefeed.dbt_env import dbt_env
from orchestration.defs.resources import MemefeedResource
from orchestration.lib.corrections import corrected_ancestors_since_built
from orchestration.lib.db import stored_row_count
from orchestration.lib.dbt_project import memefeed_dbt_project
from orchestration.lib.translator import MemefeedDbtTranslator

DBT_POOL = "dbt"
MONITORING = "fqn:memefeed.monitoring"


class DbtBuildConfig(Config):
    """Run config of the dbt step (the launchpad in the UI)."""

    full_refresh: bool = Field(
        default=False,
        description="Rebuild incremental models from all their rows (`dbt build --full-refresh`).",
    )


@dbt_assets(
    manifest=memefeed_dbt_project().manifest_path,
    dagster_dbt_translator=MemefeedDbtTranslator(),
    name="memefeed_dbt_models",
    exclude=MONITORING,
    # One `dbt build` at a time in the whole deployment, whatever launched it (schedule, sensor,
    # automation, a click in the UI): deploy/dagster.yaml limits every pool to one slot.
    pool=DBT_POOL,
)
def memefeed_dbt_models(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    memefeed: MemefeedResource,
    config: DbtBuildConfig,
) -> Iterator[Any]:
    """`dbt build` of the feed: models, then their tests, which gate everything downstream.

    After a table the bot writes was reported as corrected (`memefeed backfill`), the first build
    of the models below it is a full refresh; `full_refresh: true` in the run config forces one.

    Each materialisation carries dbt's execution time ("Execution Duration") and, for tables,
    the row count (`dagster/row_count`, counted as soon as dbt reports the model built).
    """
    yield from dbt_build(context, dbt, memefeed, config)


@dbt_assets(
    manifest=memefeed_dbt_project().manifest_path,
    dagster_dbt_translator=MemefeedDbtTranslator(),
    name="memefeed_dbt_monitoring",
    select=MONITORING,
    pool=DBT_POOL,
)
def memefeed_dbt_monitoring(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    memefeed: MemefeedResource,
    config: DbtBuildConfig,
) -> Iterator[Any]:
    """`dbt build` of the monitoring models and their tests (ghost users, candidate coverage)."""
    yield from dbt_build(context, dbt, memefeed, config)


def dbt_build(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    memefeed: MemefeedResource,
    config: DbtBuildConfig,
) -> Iterator[Any]:
    # Unit tests check formulas against fixed inputs, not the data: they gate the code in CI
    # (tests/dbt builds with them), and the data tests gate each build here.
    args = ["build", "--exclude-resource-type", "unit_test"]
    stale = corrected_ancestors_since_built(
        context.instance, context.selected_asset_keys, context.assets_def.asset_deps
    )
    if stale:
        corrected = sorted({t.to_user_string() for tables in stale.values() for t in tables})
        context.log.info(
            "%d selected models were built before %s was reported corrected: full refresh",
            len(stale),
            ", ".join(corrected),
        )
    if config.full_refresh or stale:
        args.append("--full-refresh")
    # dbt's profile reads the connection (and its PGOPTIONS) from the environment of the dbt
    # subprocess, which dagster-dbt copies from os.environ when it starts it: set them only
    # for that moment, so this process's own connections keep the server's settings.
    with environment_variables(dbt_env(memefeed.database_url)):
        invocation = dbt.cli(args, context=context)
    yield from with_row_counts(context, invocation.stream(), memefeed.database_url)


@contextlib.contextmanager
def environment_variables(variables: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def with_row_counts(
    context: AssetExecutionContext, events: Iterable[Any], database_url: str
) -> Iterator[Any]:
    """Each table model's materialisation with its row count (`dagster/row_count`).

    dagster-dbt's own `fetch_row_counts()` names the relation with the database the manifest was
    parsed against, which is not the one a run writes to once the manifest is shipped; here the
    relation is the asset key (`<schema>/<name>`) in the run's own database. Views are skipped.
    """
    connection = psycopg2.connect(plain_postgres_url(database_url))
    connection.autocommit = True
    try:
        for event in events:
            if isinstance(event, Output | AssetMaterialization):
                key = (
                    event.asset_key
                    if isinstance(event, AssetMaterialization)
                    else context.asset_key_for_output(event.output_name)
                )
                try:
                    count = stored_row_count(connection, *key.path[-2:])
                except psycopg2.Error as error:
                    context.log.warning("no row count for %s: %s", key.to_user_string(), error)
                    count = None
                if count is not None:
                    event = event.with_metadata({**event.metadata, "dagster/row_count": count})
            yield event
    finally:
        connection.close()
