"""Alerts to the admin chat: failed runs, ghost users and stale candidate tables.

Each alert has a key (`run_failure:<job>:<error class>`, `ghost_users`,
`stale:<asset>`); `AdminAlerts` sends a key at most once per ALERT_COOLDOWN_MINUTES and counts
what it held back. A failed delivery fails the sensor's tick, and the next tick tries again.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotations.
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dagster import (
    AssetCheckKey,
    DagsterEvent,
    DagsterRun,
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    sensor,
)
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecord,
    AssetCheckExecutionRecordStatus,
)
from dagster_shared.error import SerializableErrorInfo

from orchestration.defs.resources import MemefeedResource

ALERT_SENSOR_INTERVAL_SECONDS = 30
MAX_ERROR_CHARS = 600
# Dagster's wrappers around the error that user code raised.
WRAPPER_ERRORS = {"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"}


@dataclass(frozen=True)
class Alert:
    key: str
    text: str


def _root_error(error: SerializableErrorInfo | None) -> SerializableErrorInfo | None:
    while error is not None and error.cls_name in WRAPPER_ERRORS and error.cause is not None:
        error = error.cause
    return error


def run_failure_alert(
    run: DagsterRun,
    failure_event: DagsterEvent | None,
    step_failures: Sequence[DagsterEvent],
    ui_url: str | None = None,
) -> Alert:
    """One alert per job and error class: a job failing the same way every 10 minutes is one
    alert per cooldown, a new kind of failure is a new alert."""
    errors = [
        _root_error(event.step_failure_data.error)
        for event in step_failures
        if event.step_failure_data is not None
    ]
    if failure_event is not None and failure_event.event_specific_data is not None:
        errors.append(_root_error(getattr(failure_event.event_specific_data, "error", None)))
    error = next((error for error in errors if error is not None), None)
    error_class = error.cls_name if error and error.cls_name else "RunFailure"
    failed_steps = sorted({event.step_key for event in step_failures if event.step_key})
    lines = [f"Dagster run failed: {run.job_name}", f"run {run.run_id}"]
    if failed_steps:
        lines.append("failed steps: " + ", ".join(failed_steps))
    if error is not None:
        lines.append(f"{error_class}: {error.message.strip()[:MAX_ERROR_CHARS]}")
    elif failure_event is not None and failure_event.message:
        lines.append(failure_event.message[:MAX_ERROR_CHARS])
    if ui_url:
        lines.append(f"{ui_url.rstrip('/')}/runs/{run.run_id}")
    return Alert(key=f"run_failure:{run.job_name}:{error_class}", text="\n".join(lines))


@run_failure_sensor(
    name="admin_alert_on_run_failure",
    minimum_interval_seconds=ALERT_SENSOR_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Posts every failed run of this code location to ADMIN_CHAT_ID; the same job failing "
        "with the same error class is sent once per ALERT_COOLDOWN_MINUTES."
    ),
)
def admin_alert_on_run_failure(
    context: RunFailureSensorContext, memefeed: MemefeedResource
) -> None:
    alert = run_failure_alert(
        context.dagster_run,
        context.failure_event,
        context.get_step_failure_events(),
        memefeed.dagster_ui_url,
    )
    outcome = memefeed.admin_alerts().send(alert.key, alert.text)
    context.log.info("alert %s: %s", alert.key, outcome.value)


def _evaluation_line(record: AssetCheckExecutionRecord) -> str:
    evaluation = record.event.asset_check_evaluation if record.event else None
    line = f"- {record.key.name}"
    if evaluation is None:
        return line
    line += f" ({evaluation.severity.value})"
    failed_rows = evaluation.metadata.get("dagster_dbt/failed_row_count")
    if failed_rows is not None:
        line += f": {failed_rows.value} rows"
    elif evaluation.description:
        line += f": {evaluation.description[:MAX_ERROR_CHARS]}"
    return line


@dataclass(frozen=True)
class CheckAlert:
    """Alert `key` when a newly finished execution of any of `checks` failed."""

    key: str
    title: str
    checks: Sequence[AssetCheckKey]
    advice: str

    def text(self, failed: Sequence[AssetCheckExecutionRecord]) -> str:
        return "\n".join([self.title, *(_evaluation_line(r) for r in failed), self.advice])


def check_alerts_sensor(alerts: Sequence[CheckAlert]) -> SensorDefinition:
    """Posts to the admin chat when an execution of a watched check finishes failed.

    The cursor keeps, per check, the newest finished execution already looked at, so each
    execution is judged once; the cooldown of `AdminAlerts` keeps a check that fails on every
    build from repeating the alert.
    """
    watched = [check for alert in alerts for check in alert.checks]

    @sensor(
        name="admin_alert_on_checks",
        minimum_interval_seconds=ALERT_SENSOR_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "Posts failed ghost-user checks (the dbt tests on monitoring/ghost_users) and failed "
            "freshness checks of the candidate tables to ADMIN_CHAT_ID, once per cooldown."
        ),
    )
    def admin_alert_on_checks(
        context: SensorEvaluationContext, memefeed: MemefeedResource
    ) -> SensorResult:
        seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        latest: Mapping[AssetCheckKey, AssetCheckExecutionRecord] = (
            context.instance.event_log_storage.get_latest_asset_check_execution_by_key(watched)
        )
        outcomes: list[str] = []
        for alert in alerts:
            failed: list[AssetCheckExecutionRecord] = []
            for check in alert.checks:
                record = latest.get(check)
                name = check.to_user_string()
                if (
                    record is None
                    or record.status == AssetCheckExecutionRecordStatus.PLANNED
                    or record.id <= seen.get(name, 0)
                ):
                    continue
                seen[name] = record.id
                if record.status == AssetCheckExecutionRecordStatus.FAILED:
                    failed.append(record)
            if failed:
                outcome = memefeed.admin_alerts().send(alert.key, alert.text(failed))
                outcomes.append(f"{alert.key}: {outcome.value}")
        return SensorResult(
            skip_reason=SkipReason("; ".join(outcomes) or "no newly failed checks"),
            cursor=json.dumps(seen, sort_keys=True),
        )

    return admin_alert_on_checks
