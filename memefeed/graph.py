"""Materialising the Dagster asset graph in this process (the main job, the tests)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from dagster import DagsterInstance, ExecuteInProcessResult

from memefeed.settings import Settings

log = logging.getLogger(__name__)


def materialize_all(
    settings: Settings | None = None,
    *,
    selection: Sequence[str] | None = None,
    instance: DagsterInstance | None = None,
) -> ExecuteInProcessResult:
    """Run every asset (or the asset keys in `selection`, like "marts/meme_stats") once."""
    from dagster import AssetKey, AssetSelection

    from orchestration.definitions import build_definitions

    definitions = build_definitions(settings)
    job = definitions.resolve_implicit_global_asset_job_def()
    asset_selection = None
    if selection is not None:
        asset_selection = list(
            AssetSelection.assets(*(AssetKey.from_user_string(key) for key in selection)).resolve(
                definitions.resolve_asset_graph()
            )
        )
    if instance is not None:
        result = job.execute_in_process(instance=instance, asset_selection=asset_selection)
    else:
        # Disposed here, in the thread that made it: its SQLite handles belong to this thread.
        with DagsterInstance.ephemeral() as ephemeral:
            result = job.execute_in_process(instance=ephemeral, asset_selection=asset_selection)
    if not result.success:
        raise RuntimeError("materialising the asset graph failed:\n" + _failures(result))
    return result


def _failures(result: ExecuteInProcessResult) -> str:
    """Name what failed: the checks (with their descriptions) and the failed steps."""
    lines = [
        f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} failed: "
        f"{evaluation.description or ''}"
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed
    ]
    lines += [f"step {event.step_key} failed" for event in result.get_step_failure_events()]
    return "\n".join(lines) or "(no failure events recorded)"
