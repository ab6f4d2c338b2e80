"""When Dagster's automation re-materialises an asset on its own: after its upstream changed.

DESIGN.md lesson 4: a backfill or re-materialisation of an upstream asset (a source re-ingested,
reactions reported as corrected) must refresh everything derived from it. Every derived asset
(the media pipeline, each dbt model and seed, the serving queues) carries `propagate_updates()`,
and one automation sensor evaluates it every minute.
"""

from __future__ import annotations

from dagster import AutomationCondition, DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

# Runs that write the same tables carry the same lane; deploy/dagster.yaml lets one run per lane
# run at a time, and the schedules and sensors skip while a run of their lane is queued or running.
LANE_TAG = "memefeed/lane"
FEED_LANE = "feed"
INGESTION_LANE = "ingestion"

PROPAGATE_LABEL = "upstream updated, and no blocking check of an upstream failed"


def propagate_updates() -> AutomationCondition:
    """Materialise once after any upstream asset updated, unless an upstream blocking check failed.

    `eager()`: an upstream materialisation (or one requested in the same tick, so one run covers
    the whole path below it) triggers it, once; not while an upstream is missing or in progress.
    The blocking-check clause keeps a table whose error-severity dbt test or expectations check
    failed from feeding the assets below it in a later run: `dbt build` and the blocking checks
    stop them inside the run that built the bad table, and this stops the next tick too.
    """
    check_failed = AutomationCondition.check_failed()
    upstream_check_failed = AutomationCondition.any_deps_match(
        AutomationCondition.any_checks_match(check_failed, blocking_only=True)
    ).with_label("an upstream blocking check failed")
    return (AutomationCondition.eager() & ~upstream_check_failed).with_label(PROPAGATE_LABEL)


# A run in one of these states holds its lane: the next one waits for it.
LANE_BUSY_STATUSES = (
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
)


def lane_tags(lane: str) -> dict[str, str]:
    return {LANE_TAG: lane}


def busy_run(instance: DagsterInstance, lane: str) -> DagsterRun | None:
    """A queued or running run of `lane`, if any (the guard of the schedules and sensors)."""
    runs = instance.get_runs(
        RunsFilter(tags=lane_tags(lane), statuses=list(LANE_BUSY_STATUSES)), limit=1
    )
    return runs[0] if runs else None
