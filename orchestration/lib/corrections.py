"""Reporting tables that Dagster does not write as corrected, so what is derived refreshes.

The bot writes `app.user`, `app.user_meme_reaction`, ... as people use the feed; Dagster never
materialises them. After ops fix such a table by hand (a backfill script, a bug fix replayed),
recording a materialisation of its asset tells the `feed_automation` sensor that it changed,
and everything below it (stats, candidates, queues) is rebuilt without waiting for a user; the
first dbt build after the report rebuilds the incremental models below it from scratch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet

from dagster import AssetKey, AssetMaterialization, DagsterInstance

# Tables Dagster only reads (the bot's, and the sources ops register by hand), and short names.
CORRECTABLE_TABLES = (
    "meme_source",
    "user",
    "user_tg",
    "user_language",
    "user_meme_reaction",
    "user_deep_link_log",
)
ALIASES = {
    "reactions": "user_meme_reaction",
    "users": "user",
    "languages": "user_language",
    "deep_links": "user_deep_link_log",
    "sources": "meme_source",
}


def corrected_asset_key(name: str) -> AssetKey:
    """`reactions`, `user_meme_reaction` or `app/user_meme_reaction` -> app/user_meme_reaction."""
    table = name.removeprefix("app/").removeprefix("app.")
    table = ALIASES.get(table, table)
    if table not in CORRECTABLE_TABLES:
        known = ", ".join([*ALIASES, *CORRECTABLE_TABLES])
        raise ValueError(
            f"{name!r} is not a table Dagster only reads ({known}); re-materialise assets that "
            "Dagster writes (app/meme, app/meme_raw_*) from the UI or with `dagster asset "
            "materialize` instead"
        )
    return AssetKey(["app", table])


def report_corrected(
    instance: DagsterInstance, names: Sequence[str], note: str | None = None
) -> list[AssetKey]:
    """Record a materialisation of each named table's asset; returns the keys reported."""
    keys = [corrected_asset_key(name) for name in names]
    for key in keys:
        metadata = {"reported_by": "memefeed backfill"}
        if note:
            metadata["note"] = note
        instance.report_runless_asset_event(
            AssetMaterialization(
                asset_key=key,
                description="Corrected outside Dagster; everything below it is refreshed.",
                metadata=metadata,
            )
        )
    return keys


def corrected_ancestors_since_built(
    instance: DagsterInstance,
    selected: Iterable[AssetKey],
    deps: Mapping[AssetKey, AbstractSet[AssetKey]],
) -> dict[AssetKey, list[AssetKey]]:
    """Selected assets below a table reported as corrected after the asset was last built.

    Incremental dbt models only see rows whose timestamps moved past their watermark; a
    corrected table (rows deleted, reactions flipped by a script) has no such trace, so the
    models below it must be rebuilt from scratch (`dbt build --full-refresh`) once. Every
    materialisation of these tables is a report (Dagster never writes them), so the newest one
    is the last correction. Returns {asset: [corrected tables above it]}.
    """
    reports = instance.get_latest_materialization_events(
        [AssetKey(["app", table]) for table in CORRECTABLE_TABLES]
    )
    corrected_at = {key: event.timestamp for key, event in reports.items() if event is not None}
    if not corrected_at:
        return {}
    selected = list(selected)
    built = instance.get_latest_materialization_events(selected)
    stale: dict[AssetKey, list[AssetKey]] = {}
    for key in selected:
        last_built = built.get(key)
        above = _ancestors(key, deps)
        tables = sorted(
            (
                table
                for table, at in corrected_at.items()
                if table in above and (last_built is None or last_built.timestamp < at)
            ),
            key=lambda table: table.to_user_string(),
        )
        if tables:
            stale[key] = tables
    return stale


def _ancestors(key: AssetKey, deps: Mapping[AssetKey, AbstractSet[AssetKey]]) -> set[AssetKey]:
    seen: set[AssetKey] = set()
    frontier = list(deps.get(key, ()))
    while frontier:
        parent = frontier.pop()
        if parent not in seen:
            seen.add(parent)
            frontier.extend(deps.get(parent, ()))
    return seen
