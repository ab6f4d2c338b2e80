"""Freshness checks on the candidate tables the bot reads, and the sensor that evaluates them.

`feed_refresh` rebuilds the tables every 10 minutes; a table older than
CANDIDATES_MAX_AGE_MINUTES means refreshes stopped or keep failing, and the check (severity
WARN) turns red on the asset and alerts the admin chat (orchestration/defs/alerts.py).

Dagster 1.12+ marks these factories as superseded by the new `FreshnessPolicy`, which is still a
preview (off unless dagster.yaml enables it) and produces no asset checks; the checks here are
what the UI, the GraphQL API and the alert sensor see, so they stay until the policy is stable.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import timedelta

from dagster import (
    AssetChecksDefinition,
    AssetCheckSeverity,
    DefaultSensorStatus,
    SensorDefinition,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)

from orchestration.defs.serving import COLD_START_CANDIDATES, USER_CANDIDATES

FRESHNESS_CHECK_NAME = "freshness_check"
FRESH_ASSETS = (USER_CANDIDATES, COLD_START_CANDIDATES)


def candidate_freshness_checks(max_age: timedelta) -> Sequence[AssetChecksDefinition]:
    """Fails (WARN) when a candidate table was last materialised more than `max_age` ago."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the supersession notice, see above
        return build_last_update_freshness_checks(
            assets=list(FRESH_ASSETS),
            lower_bound_delta=max_age,
            severity=AssetCheckSeverity.WARN,
        )


def candidate_freshness_sensor(checks: Sequence[AssetChecksDefinition]) -> SensorDefinition:
    """Runs each freshness check when it could next change its verdict."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_sensor_for_freshness_checks(
            freshness_checks=checks,
            name="candidate_freshness_sensor",
            minimum_interval_seconds=60,
            default_status=DefaultSensorStatus.RUNNING,
        )
