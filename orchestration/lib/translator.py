"""How dbt nodes appear in the Dagster graph: keys and groups derived from the node itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

OWNER = "team:data"


def dbt_node(manifest: Mapping[str, Any], unique_id: str) -> Mapping[str, Any]:
    for section in ("nodes", "sources", "seeds", "snapshots"):
        if unique_id in manifest.get(section, {}):
            return manifest[section][unique_id]
    raise KeyError(unique_id)


def layer_of(node: Mapping[str, Any]) -> str:
    """The folder under models/ (staging, intermediate, marts, ...): the model's layer."""
    fqn = node.get("fqn", [])
    return fqn[1] if len(fqn) > 2 else "dbt"


class MemefeedDbtTranslator(DagsterDbtTranslator):
    """Models are keyed `<schema>/<name>` and grouped by layer; sources keep the key in meta."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = dbt_node(manifest, unique_id)
        if node.get("resource_type") not in {"model", "seed", "snapshot"}:
            return spec
        return spec.replace_attributes(
            key=AssetKey([node["schema"], node["name"]]),
            group_name=layer_of(node),
            owners=[OWNER],
            kinds={"dbt", "postgres"},
        )
