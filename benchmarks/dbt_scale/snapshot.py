"""Repeatable incremental builds: one post-full-build state, restored before every run.

`run.py` measures one incremental build per full build (7-10 min each at full size), and a
second run on the same dataset is not comparable: its events reach more users. This script
keeps the state right after a full build as a template database and, per run, restores it,
adds the same 100k events (`run.py`'s, same seed) and times `dbt build`, so two versions of the
project can be compared run against run on identical work:

    python -m benchmarks.dbt_scale.run --skip-incremental      # a full build on memefeed_bench
    python -m benchmarks.dbt_scale.snapshot save               # keep that state
    python -m benchmarks.dbt_scale.snapshot incremental --runs 2
    python -m benchmarks.dbt_scale.snapshot incremental --runs 2 --dbt-ref <commit>
    python -m benchmarks.dbt_scale.snapshot drop               # frees its disk and page cache

The snapshot holds the full build's table layout (indexes, storage settings): a change to
the layout needs a full build and `save` of its own before its incremental runs compare.
Single runs vary by several seconds on a shared 2-core machine; the busy CPU seconds of the
whole machine (from /proc/stat, Linux) vary less than the wall time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

import psycopg2
from psycopg2 import sql

from benchmarks.dbt_scale.common import (
    BENCH_DATABASE,
    OUT_DIR,
    bench_database_url,
    format_seconds,
    log,
    server_url_from_env,
)
from benchmarks.dbt_scale.run import (
    add_new_reactions,
    export_dbt_project,
    run_dbt_build,
    snapshot_working_tree,
)
from memefeed.services import drop_database

SNAPSHOT_DATABASE = f"{BENCH_DATABASE}_snapshot"


def _copy_database(server_url: str, source: str, target: str) -> float:
    started = time.monotonic()
    drop_database(server_url, target)
    connection = psycopg2.connect(server_url)
    connection.autocommit = True  # CREATE DATABASE and CHECKPOINT cannot run in a transaction
    try:
        with connection.cursor() as cursor:
            # file_copy: the default (wal_log) writes the whole 9 GB database to the WAL as well
            cursor.execute(
                sql.SQL("create database {} template {} strategy file_copy").format(
                    sql.Identifier(target), sql.Identifier(source)
                )
            )
            # the copy's dirty pages written back now, not during the build that follows
            subprocess.run(["sync"], check=False)
            cursor.execute("checkpoint")
    finally:
        connection.close()
    return time.monotonic() - started


def _busy_and_idle_cpu_seconds() -> tuple[float, float] | None:
    stat = Path("/proc/stat")
    if not stat.exists():
        return None
    user, nice, system, idle, iowait, *rest = (
        int(value) for value in stat.read_text().splitlines()[0].split()[1:]
    )
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    busy = user + nice + system + sum(rest[:3])  # irq, softirq, steal
    return busy / ticks_per_second, (idle + iowait) / ticks_per_second


def save(server_url: str) -> None:
    seconds = _copy_database(server_url, BENCH_DATABASE, SNAPSHOT_DATABASE)
    log(f"saved {BENCH_DATABASE} as {SNAPSHOT_DATABASE} in {format_seconds(seconds)}")


def drop(server_url: str) -> None:
    drop_database(server_url, SNAPSHOT_DATABASE)
    log(f"dropped {SNAPSHOT_DATABASE}")


def incremental(
    server_url: str,
    runs: int,
    dbt_ref: str | None,
    new_reactions: int,
    late_share: float,
    timeout_seconds: float,
) -> None:
    project_dir, project_version = (
        export_dbt_project(dbt_ref) if dbt_ref else snapshot_working_tree()
    )
    log(f"dbt project: {project_dir} ({project_version})")
    database_url = bench_database_url(server_url)
    results = []
    for run in range(1, runs + 1):
        log(f"\n== run {run} of {runs}: restore {SNAPSHOT_DATABASE}")
        seconds = _copy_database(server_url, SNAPSHOT_DATABASE, BENCH_DATABASE)
        log(f"   restored in {format_seconds(seconds)}")
        add_new_reactions(database_url, new_reactions, late_share)
        cpu_before = _busy_and_idle_cpu_seconds()
        build = run_dbt_build(database_url, project_dir, "incremental", False, timeout_seconds)
        cpu_after = _busy_and_idle_cpu_seconds()
        node_seconds = sum(node["seconds"] for node in build.node_timings)
        busy = (
            f", machine busy {cpu_after[0] - cpu_before[0]:.1f} s"
            f" idle {cpu_after[1] - cpu_before[1]:.1f} s"
            if cpu_before and cpu_after
            else ""
        )
        log(f"   {build.state}: {build.seconds:.1f} s, node seconds {node_seconds:.1f}{busy}")
        results.append((build.seconds, node_seconds))
    log(f"\n{project_version}: incremental build after {new_reactions:,} events")
    for run, (seconds, node_seconds) in enumerate(results, start=1):
        log(f"   run {run}: {seconds:.1f} s, node seconds {node_seconds:.1f}")
    log(f"dbt's target and logs of the last run: {OUT_DIR}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["save", "incremental", "drop"])
    parser.add_argument("--server-url", default=server_url_from_env())
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--dbt-ref", help="the project as committed at this git ref")
    parser.add_argument("--new-reactions", type=int, default=100_000)
    parser.add_argument("--late-share", type=float, default=0.1, help="of the new reactions")
    parser.add_argument("--timeout-minutes", type=float, default=10.0, help="per dbt build")
    arguments = parser.parse_args()
    if arguments.action == "save":
        save(arguments.server_url)
    elif arguments.action == "drop":
        drop(arguments.server_url)
    else:
        incremental(
            arguments.server_url,
            arguments.runs,
            arguments.dbt_ref,
            arguments.new_reactions,
            arguments.late_share,
            arguments.timeout_minutes * 60,
        )


if __name__ == "__main__":
    main()
