"""The dbt project as Dagster sees it; its manifest is prepared in setup, never at import."""

from __future__ import annotations

from functools import cache

from dagster_dbt import DbtProject

from memefeed.settings import DBT_PROJECT_DIR


@cache
def memefeed_dbt_project() -> DbtProject:
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    # Under `dagster dev` a changed model is re-parsed; everywhere else the manifest made by
    # `memefeed prepare` is used as it is.
    project.prepare_if_dev()
    return project
