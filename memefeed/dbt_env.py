"""The environment dbt's profile reads (dbt_project/profiles.yml), derived from DATABASE_URL."""

from __future__ import annotations

from memefeed.settings import DBT_PROJECT_DIR, libpq_parts

# Per sort or hash node of a dbt query, with the profile's 4 threads: a few hundred MB at most.
DBT_WORK_MEM = "64MB"
# Per query: dbt's threads are the parallelism (see DBT_SESSION_SETTINGS below).
DBT_PARALLEL_WORKERS = 0

# libpq applies these to every connection dbt opens, through PGOPTIONS (its profile has no
# session settings). JIT compiles for seconds on plans whose row estimates are far off, as
# with generate_series over per-user lengths, and the per-user sorts and hashes of the
# candidate models spill to disk with the default 4 MB. No parallel workers: dbt already runs
# several queries at once, and workers on the same cores only added their start-up and
# hand-over work (the incremental build at full size used 10% less CPU and finished ~2 s
# sooner without them).
DBT_SESSION_SETTINGS: dict[str, str] = {
    "jit": "off",
    "work_mem": DBT_WORK_MEM,
    "max_parallel_workers_per_gather": str(DBT_PARALLEL_WORKERS),
}


def dbt_env(database_url: str) -> dict[str, str]:
    parts = libpq_parts(database_url)
    return {
        "MEMEFEED_PG_HOST": parts["host"],
        "MEMEFEED_PG_PORT": parts["port"],
        "MEMEFEED_PG_USER": parts["user"],
        "MEMEFEED_PG_PASSWORD": parts["password"],
        "MEMEFEED_PG_DBNAME": parts["dbname"],
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "PGOPTIONS": " ".join(
            f"-c {name}={value}" for name, value in DBT_SESSION_SETTINGS.items()
        ),
    }
