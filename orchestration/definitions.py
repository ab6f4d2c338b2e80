"""The Dagster code location: `dagster dev -m orchestration.definitions`."""

from __future__ import annotations

from dagster import Definitions

from memefeed.settings import Settings, get_settings
from orchestration.defs.dbt import memefeed_dbt_models
from orchestration.defs.expectations import feed_expectation_checks
from orchestration.defs.ingestion import (
    bot_tables,
    meme,
    meme_raw_local,
    meme_raw_telegram,
    meme_source,
)
from orchestration.defs.resources import MemefeedResource, dbt_cli_resource
from orchestration.defs.serving import feed_queues


def build_definitions(settings: Settings | None = None) -> Definitions:
    return Definitions(
        assets=[
            meme_source,
            *bot_tables,
            meme_raw_local,
            meme_raw_telegram,
            meme,
            memefeed_dbt_models,
            feed_queues,
        ],
        asset_checks=feed_expectation_checks,
        resources={
            "memefeed": MemefeedResource.from_settings(settings or get_settings()),
            "dbt": dbt_cli_resource(),
        },
    )


defs = build_definitions()
