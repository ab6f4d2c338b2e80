"""The Dagster code location: `dagster dev -m orchestration.definitions`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from dagster import AssetChecksDefinition, AssetKey, Definitions

from memefeed.settings import Settings, get_settings
from orchestration.defs.alerts import CheckAlert, admin_alert_on_run_failure, check_alerts_sensor
from orchestration.defs.automation import (
    feed_automation_sensor,
    feed_refresh_job,
    feed_refresh_schedule,
    ingest_local_folder_job,
    ingest_telegram_channels_job,
    ingestion_schedules,
    new_reactions_sensor,
)
from orchestration.defs.dbt import memefeed_dbt_models, memefeed_dbt_monitoring
from orchestration.defs.expectations import feed_expectation_checks
from orchestration.defs.freshness import candidate_freshness_checks, candidate_freshness_sensor
from orchestration.defs.ingestion import (
    bot_tables,
    meme,
    meme_raw_local,
    meme_raw_telegram,
    meme_source,
)
from orchestration.defs.resources import MemefeedResource, dbt_cli_resource
from orchestration.defs.serving import feed_queues

GHOST_USERS = AssetKey(["monitoring", "ghost_users"])


def build_definitions(settings: Settings | None = None) -> Definitions:
    settings = settings or get_settings()
    freshness_checks = candidate_freshness_checks(
        timedelta(minutes=settings.candidates_max_age_minutes)
    )
    feed_job = feed_refresh_job(excluded_checks=freshness_checks)
    return Definitions(
        assets=[
            meme_source,
            *bot_tables,
            meme_raw_local,
            meme_raw_telegram,
            meme,
            memefeed_dbt_models,
            memefeed_dbt_monitoring,
            feed_queues,
        ],
        asset_checks=[*feed_expectation_checks, *freshness_checks],
        jobs=[feed_job, ingest_local_folder_job, ingest_telegram_channels_job],
        schedules=[feed_refresh_schedule(feed_job), *ingestion_schedules()],
        sensors=[
            new_reactions_sensor(feed_job),
            feed_automation_sensor(),
            candidate_freshness_sensor(freshness_checks),
            admin_alert_on_run_failure,
            check_alerts_sensor(admin_check_alerts(freshness_checks)),
        ],
        resources={
            "memefeed": MemefeedResource.from_settings(settings),
            "dbt": dbt_cli_resource(),
        },
    )


def admin_check_alerts(freshness_checks: Sequence[AssetChecksDefinition]) -> list[CheckAlert]:
    ghost_checks = sorted(
        (key for key in memefeed_dbt_monitoring.check_keys if key.asset_key == GHOST_USERS),
        key=lambda key: key.name,
    )
    stale = [
        CheckAlert(
            key=f"stale:{check_key.asset_key.to_user_string()}",
            title=f"Stale candidates: {check_key.asset_key.to_user_string()} is not fresh.",
            checks=[check_key],
            advice="Refreshes stopped or keep failing: see the feed_refresh runs in Dagster.",
        )
        for checks in freshness_checks
        for check_key in checks.check_keys
    ]
    ghosts = CheckAlert(
        key="ghost_users",
        title="Ghost users: checks on monitoring/ghost_users failed.",
        checks=ghost_checks,
        advice=(
            "Users created minutes ago were never sent a meme: onboarding or the feed may be "
            "broken. See monitoring.ghost_users."
        ),
    )
    return [ghosts, *stale]


defs = build_definitions()
