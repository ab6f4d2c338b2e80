"""How dbt nodes appear in the Dagster graph: keys, groups and automation derived from the node."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from orchestration.lib.automation import propagate_updates

OWNER = "team:data"

# Seeds have no layer folder; each goes in the group of the models that read it, else this one.
SEED_FALLBACK_GROUP = "staging"


def dbt_node(manifest: Mapping[str, Any], unique_id: str) -> Mapping[str, Any]:
    for section in ("nodes", "sources", "seeds", "snapshots"):
        if unique_id in manifest.get(section, {}):
            return manifest[section][unique_id]
    raise KeyError(unique_id)


def layer_of(node: Mapping[str, Any]) -> str:
    """The folder under models/ (staging, intermediate, marts, ...): the model's layer."""
    fqn = node.get("fqn", [])
    return fqn[1] if len(fqn) > 2 else "dbt"


def seed_group(manifest: Mapping[str, Any], unique_id: str) -> str:
    """The layer of the first model (by name) that reads the seed: blend weights belong with the
    recommendations, the blocked deep links with the ghost-user monitor."""
    readers = sorted(
        child
        for child in manifest.get("child_map", {}).get(unique_id, [])
        if child.startswith("model.")
    )
    if not readers:
        return SEED_FALLBACK_GROUP
    return layer_of(dbt_node(manifest, readers[0]))


class MemefeedDbtTranslator(DagsterDbtTranslator):
    """Models are keyed `<schema>/<name>` and grouped by layer; sources keep the key in meta.

    Every model and seed re-materialises on its own after an upstream asset updated
    (`propagate_updates`), so a backfill reaches the stats, candidates and queues below it.
    """

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = dbt_node(manifest, unique_id)
        resource_type = node.get("resource_type")
        if resource_type not in {"model", "seed", "snapshot"}:
            return spec
        is_seed = resource_type == "seed"
        return spec.replace_attributes(
            key=AssetKey([node["schema"], node["name"]]),
            group_name=seed_group(manifest, unique_id) if is_seed else layer_of(node),
            owners=[OWNER],
            kinds={"dbt", "postgres", "seed"} if is_seed else {"dbt", "postgres"},
            automation_condition=propagate_updates(),
        )
