"""The least work a full build can do and still meet the issue's other requirements, timed
beside the floor in the same run.

    .venv/bin/python -m benchmarks.dbt_scale.lower_bound   # after benchmarks.dbt_scale.run

The target "full build <= 4x the floor" sets one sequential hash pass over the reactions
against everything a full build must write. Whatever the models look like, a build that keeps
incremental builds cheap (issue 3, item 7; incremental <= 30 s) must write and check, from
scratch:

1. a per-send table in send order with each user's running sums to date: lr_smoothed debiases
   a like by the user's running mean at that send (the anchor's formula), and an incremental
   build carries on from a user's last stored row instead of re-reading the user's history;
2. its key index, by which an incremental build finds a user's tail;
3. a per-reaction table in reaction order with the gap to the user's previous reaction: the
   sessions, likewise resumable;
4. its key index;
5. the meme statistics the engines rank by: per meme, the sends, likes, dislikes and the mean
   debiased like (lr_smoothed), one hash pass over the per-send table;
6. the table the bot reads, `user_candidates`, with its rows as the last build made them, into
   a logged table with the same indexes (a contract table the bot must still find after a
   crash);
7. the check that no candidate was already sent (issue 3, item 6), over the served rows
   against the reactions' key.

Each is the smallest statement that produces it (two to four columns where the models carry
twenty), run alone, under the session settings every dbt connection gets. Nothing else a
build does with data is counted: no mart, engine or other test; dbt's own work only as the
graph's cost below. Two bounds follow, on this machine's cores:

- work: the steps' seconds (each keeps one backend busy on one core) and the CPU time the
  graph itself costs (below), summed and spread over every core with no idle time;
- chain: the per-send table, the meme statistics over it, the served table (through the
  engines, which rank by those statistics) and its check, each of which cannot start before
  the one before it ends. This one assumes each step is one statement: a build could split a
  step over several connections, which the work bound does not care about.

The larger of the two, as a ratio to the floor, is the least any full build can reach here.
Every statement runs in one transaction that is rolled back: nothing is left behind.

The graph's own cost is the same `dbt build --full-refresh` as `run.py` times, of the same
project, on a database whose app tables are empty (`memefeed_bench_empty`, created, migrated
and dropped here): what dbt and the catalogue spend on the models, tests and contracts the
issue asks for before there is a row to read. Its CPU time (every process on the machine,
from /proc/stat, on an otherwise idle machine) joins the work bound: a build with data does
all of it too, on the same cores. `--skip-empty-build` leaves it out (counted as zero).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

from benchmarks.dbt_scale.common import (
    OUT_DIR,
    bench_database_url,
    format_seconds,
    log,
    server_url_from_env,
)
from benchmarks.dbt_scale.run import (
    TARGET_FULL_OVER_FLOOR,
    DbtBuild,
    TimedStep,
    prepare_dbt_project,
    run_dbt_build,
    run_floor,
    set_dbt_session_settings,
    snapshot_working_tree,
)
from memefeed.migrations import upgrade_to_head
from memefeed.services import create_database, drop_database

SERVED_TABLE = ("recommendations", "user_candidates")
EMPTY_DATABASE = "memefeed_bench_empty"
EMPTY_BUILD_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class Requirement:
    name: str
    why: str
    statement: sql.Composable
    # planner methods switched off for this statement alone, as its dbt counterpart does
    methods_off: tuple[str, ...] = ()


def requirements(served_table: tuple[str, str]) -> tuple[Requirement, ...]:
    """The steps, in order; `served_table` is (schema, table) of the rows the bot reads."""
    served = sql.Identifier(*served_table)
    return (
        Requirement(
            "per-send running sums",
            "lr_smoothed's running user mean, resumable per user",
            sql.SQL("""
        create unlogged table lower_bound_sends as
        select
            user_id,
            meme_id,
            sent_at,
            reaction_id,
            sum(case reaction_id when 1 then 1 when 2 then -1 end) over to_date as like_sum,
            count(reaction_id) over to_date as reaction_count
        from app.user_meme_reaction
        window to_date as (
            partition by user_id order by sent_at, meme_id rows unbounded preceding
        )
        """),
        ),
        Requirement(
            "per-send key index",
            "how an incremental build finds a user's tail",
            sql.SQL("create unique index on lower_bound_sends (user_id, sent_at, meme_id)"),
        ),
        Requirement(
            "per-reaction gaps",
            "sessions, resumable per user",
            sql.SQL("""
        create unlogged table lower_bound_reactions as
        select
            user_id,
            meme_id,
            reacted_at,
            reacted_at - lag(reacted_at) over (
                partition by user_id order by reacted_at, meme_id
            ) as gap
        from app.user_meme_reaction
        where reacted_at is not null
        """),
        ),
        Requirement(
            "per-reaction key index",
            "how an incremental build finds a user's sessions",
            sql.SQL("create unique index on lower_bound_reactions (user_id, reacted_at, meme_id)"),
        ),
        Requirement(
            "meme statistics",
            "meme_stats' counts and lr_smoothed, which the engines rank by",
            sql.SQL("""
        create unlogged table lower_bound_meme_stats as
        select
            meme_id,
            count(*) as nmemes_sent,
            count(*) filter (where reaction_id = 1) as nlikes,
            count(*) filter (where reaction_id = 2) as ndislikes,
            avg(
                case reaction_id when 1 then 1 when 2 then -1 end
                - like_sum::double precision / nullif(reaction_count, 0)
            ) as lr_smoothed
        from lower_bound_sends
        group by meme_id
        """),
        ),
        Requirement(
            "served table",
            "the rows the bot reads, logged, with the contract table's indexes",
            sql.SQL("""
        create table lower_bound_served (like {served} including all);
        insert into lower_bound_served select * from {served}
        """).format(served=served),
        ),
        Requirement(
            "exclude-sent check",
            "no candidate already sent",
            sql.SQL("""
        select count(*)
        from lower_bound_served as served
        where exists (
            select 1
            from app.user_meme_reaction as sent
            where sent.user_id = served.user_id and sent.meme_id = served.meme_id
        )
        """),
            # one merge of the two (user_id, meme_id) key indexes, as the project's test reads them
            methods_off=("enable_hashjoin", "enable_nestloop", "enable_sort"),
        ),
    )


# each step needs the one before it to have ended
CHAIN = ("per-send running sums", "meme statistics", "served table", "exclude-sent check")


@dataclass(frozen=True)
class Bounds:
    floor_seconds: float
    work_seconds: float
    graph_cpu_seconds: float
    chain_seconds: float
    cores: int

    @property
    def spread_seconds(self) -> float:
        return (self.work_seconds + self.graph_cpu_seconds) / self.cores

    @property
    def least_build_seconds(self) -> float:
        return max(self.spread_seconds, self.chain_seconds)

    @property
    def least_over_floor(self) -> float:
        return self.least_build_seconds / self.floor_seconds


def bounds(
    floors: list[float], steps: dict[str, float], cores: int, graph_cpu_seconds: float = 0.0
) -> Bounds:
    return Bounds(
        floor_seconds=sum(floors) / len(floors),
        work_seconds=sum(steps.values()),
        graph_cpu_seconds=graph_cpu_seconds,
        chain_seconds=sum(steps[name] for name in CHAIN),
        cores=cores,
    )


@dataclass
class Timings:
    seconds: dict[str, float]
    # what a step that reads (the check) returned, by step
    results: dict[str, Any]


def time_requirements(database_url: str, served_table: tuple[str, str] = SERVED_TABLE) -> Timings:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select to_regclass(%s)", (".".join(served_table),))
            if cursor.fetchone()[0] is None:
                raise SystemExit(
                    f"{'.'.join(served_table)} is missing:"
                    " run `python -m benchmarks.dbt_scale.run` first"
                )
            set_dbt_session_settings(cursor)
            timings = Timings(seconds={}, results={})
            for requirement in requirements(served_table):
                log(f"\n== {requirement.name}: {requirement.why}")
                previous_methods = {}
                for method in requirement.methods_off:
                    cursor.execute("select current_setting(%s)", (method,))
                    previous_methods[method] = cursor.fetchone()[0]
                    cursor.execute("select set_config(%s, 'off', true)", (method,))
                started = time.monotonic()
                cursor.execute(requirement.statement)
                timings.seconds[requirement.name] = time.monotonic() - started
                if cursor.description is not None:
                    timings.results[requirement.name] = cursor.fetchone()[0]
                # the later steps run with the planner as it was, not with every method forced on
                for method, value in previous_methods.items():
                    cursor.execute("select set_config(%s, %s, true)", (method, value))
                log(f"   {format_seconds(timings.seconds[requirement.name])}")
        connection.rollback()
    finally:
        connection.close()
    return timings


@dataclass
class EmptyBuild:
    build: DbtBuild
    # CPU time of every process on the machine while the build ran (None off Linux)
    cpu_seconds: float | None


def machine_busy_seconds() -> float | None:
    """CPU time all cores have spent on anything but idling since boot (Linux)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(field) for field in fields]
    idle_and_iowait = ticks[3] + ticks[4]
    return (sum(ticks) - idle_and_iowait) / os.sysconf("SC_CLK_TCK")


def build_on_empty_tables(server_url: str, database: str = EMPTY_DATABASE) -> EmptyBuild:
    """The full build of the project as it is now, on freshly migrated, empty app tables."""
    log(f"\n== the graph's own cost: a full build on empty tables ({database})")
    drop_database(server_url, database)
    database_url = create_database(server_url, database)
    try:
        upgrade_to_head(database_url)
        project_dir, _ = snapshot_working_tree()
        prepare_dbt_project(database_url, project_dir)
        busy_before = machine_busy_seconds()
        build = run_dbt_build(
            database_url, project_dir, "empty", True, EMPTY_BUILD_TIMEOUT_SECONDS
        )
        busy_after = machine_busy_seconds()
        cpu_seconds = (
            None if busy_before is None or busy_after is None else busy_after - busy_before
        )
        return EmptyBuild(build, cpu_seconds)
    finally:
        drop_database(server_url, database)


def latest_full_build() -> dict[str, Any] | None:
    latest = OUT_DIR / "dbt_scale_latest.json"
    if not latest.exists():
        return None
    return json.loads(latest.read_text())["summary"]


def print_report(
    result: Bounds,
    steps: dict[str, float],
    empty: EmptyBuild | None,
    full: dict[str, Any] | None,
) -> None:
    floor = result.floor_seconds
    log(f"\n== least full build on {result.cores} cores, against the floor ({floor:.1f} s)")
    log("| step | seconds | x floor |")
    log("| --- | ---: | ---: |")
    for name, seconds in steps.items():
        log(f"| {name} | {seconds:.1f} | {seconds / floor:.2f} |")
    log(
        f"| work: (all steps + the graph's CPU {result.graph_cpu_seconds:.1f} s)"
        f" / {result.cores} cores | {result.spread_seconds:.1f} |"
        f" {result.spread_seconds / floor:.2f} |"
    )
    log(
        f"| chain: {' then '.join(CHAIN)} | {result.chain_seconds:.1f} |"
        f" {result.chain_seconds / floor:.2f} |"
    )
    log(
        f"| **least full build** | {result.least_build_seconds:.1f} |"
        f" **{result.least_over_floor:.2f}** |"
    )
    log(f"| target | {TARGET_FULL_OVER_FLOOR * floor:.1f} | {TARGET_FULL_OVER_FLOOR:.2f} |")
    if empty is not None:
        cpu = "unknown" if empty.cpu_seconds is None else f"{empty.cpu_seconds:.1f} s"
        log(
            f"\nthe graph's own cost (the same build on empty tables, {empty.build.state}):"
            f" {empty.build.seconds:.1f} s, {empty.build.seconds / floor:.2f}x the floor;"
            f" CPU {cpu}"
        )
    if full is not None:
        log(
            f"\nthe last `benchmarks.dbt_scale.run`: full build {full['full_seconds']:.1f} s,"
            f" {full['full_over_floor']:.2f}x its own floor ({full['floor_seconds']:.1f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", default=server_url_from_env())
    parser.add_argument(
        "--skip-empty-build", action="store_true", help="time only the SQL steps and the floor"
    )
    args = parser.parse_args()
    database_url = bench_database_url(args.server_url)
    cores = os.cpu_count() or 1

    floors: list[TimedStep] = [run_floor(database_url, "floor (before)")]
    timings = time_requirements(database_url)
    steps = timings.seconds
    already_sent = timings.results["exclude-sent check"]
    if already_sent:
        # a served table with sent memes is not one a valid build could have written
        log(f"\n   warning: {already_sent:,} served candidates were already sent")
    floors.append(run_floor(database_url, "floor (after)"))

    empty = None if args.skip_empty_build else build_on_empty_tables(args.server_url)
    graph_cpu_seconds = 0.0
    if empty is not None and empty.build.state == "completed":
        graph_cpu_seconds = empty.cpu_seconds or 0.0
    elif empty is not None:
        log(f"\n   warning: the build on empty tables {empty.build.state}; its CPU is not counted")
    result = bounds([floor.seconds for floor in floors], steps, cores, graph_cpu_seconds)
    full = latest_full_build()
    print_report(result, steps, empty, full)

    record = {
        "benchmark": "dbt_scale.lower_bound",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "floors": [asdict(floor) for floor in floors],
        "steps_seconds": {name: round(seconds, 2) for name, seconds in steps.items()},
        "step_results": timings.results,
        "bounds": asdict(result)
        | {
            "least_build_seconds": round(result.least_build_seconds, 2),
            "least_over_floor": round(result.least_over_floor, 2),
            "target_over_floor": TARGET_FULL_OVER_FLOOR,
        },
        "empty_build": None
        if empty is None
        else {
            "seconds": round(empty.build.seconds, 2),
            "cpu_seconds": None if empty.cpu_seconds is None else round(empty.cpu_seconds, 2),
            "state": empty.build.state,
            "over_floor": round(empty.build.seconds / result.floor_seconds, 2),
        },
        "last_full_build": full,
    }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path: Path = OUT_DIR / f"dbt_scale_lower_bound_{stamp}.json"
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=str))
    log(f"\nresults: {path}")


if __name__ == "__main__":
    main()
