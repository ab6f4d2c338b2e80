"""Jobs, schedules and sensors: when the graph runs without anyone pressing a button.

- each ingestion source has a job (the source, then the media pipeline) on an hourly schedule;
- `feed_refresh` (every dbt model, seed and test, the expectation checks, then the Redis queues)
  runs every 10 minutes, and as soon as enough reactions arrived since the last refresh;
- `feed_automation` re-materialises whatever lies below an asset that was re-materialised,
  backfilled or reported as corrected (`propagate_updates`, DESIGN.md lesson 4).

Runs carry a lane tag (`memefeed/lane`): deploy/dagster.yaml runs one run per lane at a time,
and every schedule and sensor here skips its tick while a run of its lane is queued or running.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotations.
from collections.abc import Sequence
from datetime import UTC, datetime

from dagster import (
    AssetChecksDefinition,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    schedule,
    sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from orchestration.defs.dbt import memefeed_dbt_models, memefeed_dbt_monitoring
from orchestration.defs.ingestion import meme, meme_raw_local, meme_raw_telegram
from orchestration.defs.resources import MemefeedResource
from orchestration.defs.serving import feed_queues
from orchestration.lib.automation import (
    FEED_LANE,
    INGESTION_LANE,
    busy_run,
    lane_tags,
)
from orchestration.lib.db import reactions_since

TRIGGER_TAG = "memefeed/trigger"
FEED_REFRESH_CRON = "*/10 * * * *"
SENSOR_INTERVAL_SECONDS = 60


def feed_refresh_job(
    excluded_checks: Sequence[AssetChecksDefinition] = (),
) -> UnresolvedAssetJobDefinition:
    """The whole analytics layer and serving: `dbt build`, the expectation checks, the queues.

    `excluded_checks` (the freshness checks) run on their own sensor, not after every build.
    """
    selection: AssetSelection = AssetSelection.assets(
        memefeed_dbt_models, memefeed_dbt_monitoring, feed_queues
    )
    if excluded_checks:
        selection = selection - AssetSelection.checks(*excluded_checks)
    return define_asset_job(
        "feed_refresh",
        selection=selection,
        tags=lane_tags(FEED_LANE),
        description=(
            "Stats and candidates (`dbt build`, tests and expectation checks), then the Redis "
            "queues of active users. Every 10 minutes, and early on a burst of reactions."
        ),
    )


ingest_local_folder_job = define_asset_job(
    "ingest_local_folder",
    selection=AssetSelection.assets(meme_raw_local, meme),
    tags=lane_tags(INGESTION_LANE),
    description="The local memes folder, then the media pipeline for the new memes.",
)
ingest_telegram_channels_job = define_asset_job(
    "ingest_telegram_channels",
    selection=AssetSelection.assets(meme_raw_telegram, meme),
    tags=lane_tags(INGESTION_LANE),
    description="The configured Telegram channels, then the media pipeline for the new memes.",
)


def lane_guarded_schedule(
    job: UnresolvedAssetJobDefinition, cron: str, lane: str, description: str
) -> ScheduleDefinition:
    """A schedule of `job` that skips its tick while a run of `lane` is queued or running."""

    @schedule(
        name=f"{job.name}_schedule",
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description=description,
    )
    def lane_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        busy = busy_run(context.instance, lane)
        if busy is not None:
            return SkipReason(
                f"run {busy.run_id} ({busy.job_name}) of the {lane} lane is {busy.status.value}"
            )
        return RunRequest(tags={TRIGGER_TAG: "schedule"})

    return lane_schedule


def ingestion_schedules() -> list[ScheduleDefinition]:
    # Staggered, so the two sources rarely wait for each other in the ingestion lane.
    return [
        lane_guarded_schedule(
            ingest_local_folder_job,
            "5 * * * *",
            INGESTION_LANE,
            "Hourly at :05: the local memes folder, then the media pipeline.",
        ),
        lane_guarded_schedule(
            ingest_telegram_channels_job,
            "35 * * * *",
            INGESTION_LANE,
            "Hourly at :35: the Telegram channels, then the media pipeline.",
        ),
    ]


def feed_refresh_schedule(job: UnresolvedAssetJobDefinition) -> ScheduleDefinition:
    return lane_guarded_schedule(
        job,
        FEED_REFRESH_CRON,
        FEED_LANE,
        "Every 10 minutes: stats, candidates, checks and the active users' queues.",
    )


def last_successful_start(context: SensorEvaluationContext, job_name: str) -> datetime | None:
    """When the newest successful run of `job_name` started: what it read is up to date."""
    records = context.instance.get_run_records(
        RunsFilter(job_name=job_name, statuses=[DagsterRunStatus.SUCCESS]), limit=1
    )
    if not records or records[0].start_time is None:
        return None
    return datetime.fromtimestamp(records[0].start_time, tz=UTC)


def new_reactions_sensor(job: UnresolvedAssetJobDefinition) -> SensorDefinition:
    """Refresh the feed as soon as FEED_REFRESH_MIN_NEW_REACTIONS reactions arrived.

    Counted since the later of the cursor (the newest reaction when this sensor last asked for
    a run) and the start of the last successful run of the job (a scheduled refresh resets the
    count too).
    """

    @sensor(
        name="feed_refresh_on_new_reactions",
        job=job,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "Requests a feed_refresh run once FEED_REFRESH_MIN_NEW_REACTIONS reactions arrived "
            "since the last refresh; skips while a run of the feed lane is queued or running."
        ),
    )
    def feed_refresh_on_new_reactions(
        context: SensorEvaluationContext, memefeed: MemefeedResource
    ) -> SensorResult | SkipReason:
        busy = busy_run(context.instance, FEED_LANE)
        if busy is not None:
            return SkipReason(
                f"run {busy.run_id} ({busy.job_name}) of the feed lane is {busy.status.value}"
            )
        marks = [
            mark
            for mark in (
                datetime.fromisoformat(context.cursor) if context.cursor else None,
                last_successful_start(context, job.name),
            )
            if mark is not None
        ]
        since = max(marks) if marks else None
        count, newest = reactions_since(memefeed.database_url, since)
        threshold = memefeed.feed_refresh_min_new_reactions
        if count < threshold or newest is None:
            return SkipReason(
                f"{count} new reactions since {since.isoformat() if since else 'the start'}; "
                f"a refresh starts at {threshold}"
            )
        return SensorResult(
            run_requests=[
                RunRequest(
                    run_key=f"reactions-until-{newest.isoformat()}",
                    tags={TRIGGER_TAG: "new_reactions", "memefeed/new_reactions": str(count)},
                )
            ],
            cursor=newest.isoformat(),
        )

    return feed_refresh_on_new_reactions


def feed_automation_sensor() -> AutomationConditionSensorDefinition:
    """Evaluates `propagate_updates` on every asset: the downstream of any update gets a run."""
    return AutomationConditionSensorDefinition(
        "feed_automation",
        target=AssetSelection.all(),
        run_tags=lane_tags(FEED_LANE) | {TRIGGER_TAG: "automation"},
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        description=(
            "Re-materialises what lies below a re-materialised, backfilled or reported-corrected "
            "asset (stats, candidates, queues), so no derived table waits for a user event."
        ),
    )
