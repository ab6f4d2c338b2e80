"""Time `dbt build` on `memefeed_bench` against a hand-written aggregation floor, same run.

    .venv/bin/python -m benchmarks.dbt_scale.run               # full size (generates if needed)
    .venv/bin/python -m benchmarks.dbt_scale.run --scale 0.05  # smoke test

Phases, in this order, on one database:

0. `dbt parse`, untimed: the project as a deploy prepares it (the Dagster job's builds start
   from that manifest), so neither build below pays a full parse;
1. floor: one hand-written `group by grouping sets ((meme_id), (user_id))` pass over
   app.user_meme_reaction (per-meme and per-user likes, dislikes, sends) into a temp table;
2. full: `dbt build --full-refresh` (models and tests);
3. floor again, so the ratio uses floors measured on both sides of the build;
4. 100k new reactions (new sends in fresh sessions, plus late reactions to earlier unreacted
   sends), then a plain `dbt build` (incremental models only add what is new).

Each dbt build is stopped after --timeout-minutes; then what was running is recorded
(pg_stat_activity and an EXPLAIN of the model's compiled SQL). Figures are printed as ratios
to the floor and to the targets (incremental <= 30 s, full <= 10 min, full <= 4x floor) and
written to benchmarks/out/dbt_scale_<time>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2

from benchmarks.dbt_scale.chart import Bar, Section, write_chart
from benchmarks.dbt_scale.common import (
    BENCH_DATABASE,
    OUT_DIR,
    PROJECT_ROOT,
    bench_database_url,
    format_seconds,
    load_average,
    log,
)
from benchmarks.dbt_scale.generate import add_size_arguments, dataset_size, generate
from memefeed.dbt_env import DBT_SESSION_SETTINGS, dbt_env
from memefeed.settings import DBT_PROJECT_DIR

TARGET_INCREMENTAL_SECONDS = 30.0
TARGET_FULL_SECONDS = 600.0
TARGET_FULL_OVER_FLOOR = 4.0
HEARTBEAT_SECONDS = 60.0
SLOWEST_SHOWN = 12

FLOOR_PLANNER_SETTINGS = ("enable_indexscan", "enable_bitmapscan", "enable_sort")
# Until 2026-12-01 the floor ran with the server's 4 MB work_mem: the planner would not hash
# both grouping sets in so little memory, so it hashed one and walked the meme_id index for
# the other (disabled plans are only penalised, not forbidden). That floor was 30-39 s of
# random heap reads instead of a 7-8 s sequential pass, and every ratio to it was ~4-5x too
# kind. The floor now gets the session settings every dbt connection gets, and
# any plan other than one sequential read with hash aggregation stops the benchmark.
FLOOR_PLAN_REQUIRED = ("HashAggregate", "Seq Scan on user_meme_reaction")
FLOOR_PLAN_FORBIDDEN = ("Index", "Sort", "Group Key", "MixedAggregate")
FLOOR_SQL = """
create temporary table floor_aggregates as
select
    meme_id,
    user_id,
    count(*) filter (where reaction_id = 1) as nlikes,
    count(*) filter (where reaction_id = 2) as ndislikes,
    count(*) as nsent,
    count(reaction_id) as nreacted,
    max(sent_at) as last_sent_at
from app.user_meme_reaction
group by grouping sets ((meme_id), (user_id))
"""

LATE_REACTIONS_SQL = """
update app.user_meme_reaction as reaction
set reaction_id = case when random() < 0.5 then 1 else 2 end,
    reacted_at = greatest(reaction.sent_at + interval '30 seconds',
                          now() - interval '1 second' * random() * 600)
from (
    select user_id, meme_id
    from app.user_meme_reaction
    where reaction_id is null
      and sent_at > (select max(sent_at) from app.user_meme_reaction) - interval '7 days'
    order by random()
    limit %(late)s
) as late
where reaction.user_id = late.user_id and reaction.meme_id = late.meme_id
"""

# Sessions of ~30 sends for recently active users, memes drawn from the 'ok' memes of the
# user's first language; pairs the user already has are skipped (the primary key).
NEW_SENDS_SQL = """
with recent_users as (
    select user_id
    from app.user_meme_reaction
    where sent_at > (select max(sent_at) from app.user_meme_reaction) - interval '14 days'
    group by user_id
),
user_first_language as (
    select distinct on (user_id) user_id, language_code
    from app.user_language
    where user_id in (select user_id from recent_users)
    order by user_id, language_code
),
sessions as (
    select user_id, language_code, now() - interval '1 second' * (600 + random() * 3000)
        as started_at
    from user_first_language
    order by random()
    limit %(sessions)s
),
ok_memes as (
    select language_code, array_agg(id) as meme_ids
    from app.meme
    where status = 'ok'
    group by language_code
),
drawn as (
    select
        sessions.user_id,
        ok_memes.meme_ids[1 + floor(random() * cardinality(ok_memes.meme_ids))::int]
            as meme_id,
        slot,
        sessions.started_at
    from sessions
    join ok_memes using (language_code)
    cross join generate_series(1, %(per_session)s + 8) as slot
),
fresh as (
    select distinct on (drawn.user_id, drawn.meme_id) drawn.*
    from drawn
    where not exists (
        select 1 from app.user_meme_reaction as existing
        where existing.user_id = drawn.user_id and existing.meme_id = drawn.meme_id
    )
    order by drawn.user_id, drawn.meme_id, drawn.slot
),
numbered as (
    select
        fresh.*,
        row_number() over (partition by user_id order by slot) as position,
        count(*) over (partition by user_id) as drawn_count
    from fresh
),
timed as (
    select
        user_id,
        meme_id,
        started_at + interval '1 second' * position * (5 + 4 * random()) as sent_at,
        position = least(drawn_count, %(per_session)s) and random() < 0.9 as is_unreacted
    from numbered
    where position <= %(per_session)s
    limit %(sends)s
)
insert into app.user_meme_reaction
    (user_id, meme_id, recommended_by, sent_at, reaction_id, reacted_at)
select
    user_id,
    meme_id,
    'lr_smoothed',
    sent_at,
    case when is_unreacted then null when random() < 0.5 then 1 else 2 end,
    case when is_unreacted then null
         else sent_at + interval '1 second' * exp(ln(4.5) + 0.65 * (random() - 0.5) * 3) end
from timed
"""


@dataclass
class TimedStep:
    name: str
    seconds: float
    load_average_before: tuple[float, float, float]
    load_average_after: tuple[float, float, float]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class DbtBuild:
    name: str
    seconds: float
    state: str  # completed / stopped (ran past the time limit) / failed (dbt exit code)
    return_code: int | None
    load_average_before: tuple[float, float, float]
    load_average_after: tuple[float, float, float]
    node_timings: list[dict[str, Any]]
    running_when_stopped: list[dict[str, Any]] = field(default_factory=list)
    explains: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ floor


def vacuum_source_tables(database_url: str) -> None:
    """VACUUM ANALYZE the app's tables, untimed, as autovacuum would have on a live database.

    A dataset loaded by an older generator (which only analysed) has no hint bits set: the
    first pass over its 10M reactions writes them, and that pass was the floor's (32 s
    instead of 21 s), which made every ratio to the floor look better than it is.
    """
    log("\n== prepare: VACUUM ANALYZE of the app's tables (untimed)")
    started = time.monotonic()
    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute('vacuum analyze app.user_meme_reaction, app.meme, app."user"')
    finally:
        connection.close()
    log(f"   vacuumed in {format_seconds(time.monotonic() - started)}")


def check_floor_plan(plan: str) -> None:
    """Refuse a floor that is not one sequential read with hash aggregation."""
    missing = [node for node in FLOOR_PLAN_REQUIRED if node not in plan]
    forbidden = [node for node in FLOOR_PLAN_FORBIDDEN if node in plan]
    if missing or forbidden:
        raise RuntimeError(
            "the floor must be one sequential read with hash aggregation; its plan lacks "
            f"{missing} and has {forbidden}:\n{plan}"
        )


def set_dbt_session_settings(cursor: psycopg2.extensions.cursor) -> None:
    """Give this transaction the settings every dbt connection gets through PGOPTIONS."""
    for setting_name, value in DBT_SESSION_SETTINGS.items():
        cursor.execute("select set_config(%s, %s, true)", (setting_name, value))


def run_floor(database_url: str, name: str) -> TimedStep:
    log(f"\n== {name}: one aggregation pass over app.user_meme_reaction")
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            # the floor is one sequential read with hash aggregation; left alone the planner
            # walks the meme_id index (random heap reads) or sorts 10M rows, a weaker floor
            for setting in FLOOR_PLANNER_SETTINGS:
                cursor.execute(f"set local {setting} = off")
            set_dbt_session_settings(cursor)
            cursor.execute("select current_setting('work_mem'), current_setting('jit')")
            work_mem, jit = cursor.fetchone()
            cursor.execute("explain " + FLOOR_SQL)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            check_floor_plan(plan)
            before = load_average()
            started = time.monotonic()
            cursor.execute(FLOOR_SQL)
            seconds = time.monotonic() - started
            after = load_average()
            cursor.execute("select count(*) from floor_aggregates")
            groups = cursor.fetchone()[0]
        connection.rollback()
    finally:
        connection.close()
    log(f"   {groups:,} per-meme and per-user rows in {format_seconds(seconds)}")
    details = {"groups": groups, "plan": plan, "work_mem": work_mem, "jit": jit}
    return TimedStep(name, seconds, before, after, details)


# ------------------------------------------------------------------------------- new events


def add_new_reactions(database_url: str, total: int, late_share: float) -> TimedStep:
    log(f"\n== new events: {total:,} reactions (late reactions to earlier sends + new sends)")
    per_session = 30
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            before = load_average()
            started = time.monotonic()
            cursor.execute("select setseed(0.42)")
            cursor.execute(LATE_REACTIONS_SQL, {"late": round(total * late_share)})
            late = cursor.rowcount
            inserted = 0
            for _ in range(5):  # a few rounds in case sessions drew memes the users had
                missing = total - late - inserted
                if missing <= 0:
                    break
                cursor.execute(
                    NEW_SENDS_SQL,
                    {
                        "sessions": missing // per_session + 1,
                        "per_session": per_session,
                        "sends": missing,
                    },
                )
                inserted += cursor.rowcount
            connection.commit()
            cursor.execute("analyze app.user_meme_reaction")
            connection.commit()
            seconds = time.monotonic() - started
    finally:
        connection.close()
    log(f"   {late:,} late reactions, {inserted:,} new sends in {format_seconds(seconds)}")
    return TimedStep(
        "new events", seconds, before, load_average(), {"late": late, "inserted": inserted}
    )


# -------------------------------------------------------------------------------------- dbt


def dbt_executable() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def stream_lines(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def export_dbt_project(ref: str) -> tuple[Path, str]:
    """`git archive` dbt_project/ at `ref` into benchmarks/out (a snapshot nobody edits)."""
    commit = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "rev-parse", "--verify", f"{ref}^{{commit}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    destination = OUT_DIR / f"dbt_project_{commit[:12]}"
    if not (destination / "dbt_project" / "dbt_project.yml").exists():
        destination.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "archive", commit, "dbt_project"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(destination)], input=archive, check=True)
    return destination / "dbt_project", commit


def snapshot_working_tree() -> tuple[Path, str]:
    """Copy dbt_project/ as it is now, so edits made during the run do not change it."""
    destination = OUT_DIR / "dbt_project_worktree"
    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(
        DBT_PROJECT_DIR,
        destination,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__"),
    )
    digest = hashlib.sha256()
    for path in sorted(destination.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(destination)).encode())
            digest.update(path.read_bytes())
    return destination, f"{describe_live_project()}; files sha256 {digest.hexdigest()[:12]}"


def describe_live_project() -> str:
    head = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    changed = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "dbt_project"],
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    return f"{head} + {len(changed)} uncommitted changes" if changed else head


def prepare_dbt_project(database_url: str, project_dir: Path) -> None:
    """`dbt parse` into the builds' target path, untimed, as a deploy prepares the project.

    The Dagster job's builds start from the manifest `memefeed prepare` wrote (dagster-dbt
    copies its partial_parse.msgpack into each run's target path), so they parse only what
    changed since; without this the full build alone would pay a full parse (11 s of its
    500 on a slow machine) and the incremental one would not.
    """
    log("\n== prepare: dbt parse (untimed, as a deploy does)")
    started = time.monotonic()
    subprocess.run(
        [
            dbt_executable(),
            "parse",
            "--project-dir",
            str(project_dir),
            "--target-path",
            str(OUT_DIR / "dbt_target"),
            "--log-path",
            str(OUT_DIR / "dbt_logs" / "prepare"),
        ],
        env=os.environ | dbt_env(database_url) | {"DBT_PROFILES_DIR": str(project_dir)},
        check=True,
        capture_output=True,
        text=True,
    )
    log(f"   parsed in {format_seconds(time.monotonic() - started)}")


def run_dbt_build(
    database_url: str,
    project_dir: Path,
    name: str,
    full_refresh: bool,
    timeout_seconds: float,
) -> DbtBuild:
    target_path = OUT_DIR / "dbt_target"
    log_path = OUT_DIR / "dbt_logs" / name
    shutil.rmtree(log_path, ignore_errors=True)
    for artefact in ("run_results.json", "manifest.json"):
        (target_path / artefact).unlink(missing_ok=True)
    command = [
        dbt_executable(),
        "build",
        # as the Dagster job runs it: unit tests gate the code in CI, not each build
        "--exclude-resource-type",
        "unit_test",
        "--project-dir",
        str(project_dir),
        "--no-use-colors",
        "--target-path",
        str(target_path),
        "--log-path",
        str(log_path),
        "--log-format-file",
        "json",
    ]
    if full_refresh:
        command.append("--full-refresh")
    log(f"\n== {name}: {' '.join(command[1:2] + command[-1:] if full_refresh else command[1:2])}")
    environment = os.environ | dbt_env(database_url) | {"DBT_PROFILES_DIR": str(project_dir)}
    before = load_average()
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=stream_lines, args=(process, lines), daemon=True).start()
    last_line, last_output = "", time.monotonic()
    stopped = False
    running: list[dict[str, Any]] = []
    while True:
        elapsed = time.monotonic() - started
        if elapsed > timeout_seconds:
            log(f"   !! {name} still running after {format_seconds(elapsed)}: stopping it")
            running = running_queries(database_url)
            stop_process(process, database_url)
            stopped = True
            break
        try:
            line = lines.get(timeout=5)
        except queue.Empty:
            if time.monotonic() - last_output >= HEARTBEAT_SECONDS:
                last_output = time.monotonic()
                log(f"   [{format_seconds(elapsed)}] still running; last: {last_line.strip()}")
            continue
        if line is None:
            break
        last_line, last_output = line, time.monotonic()
        log(f"   [{elapsed:7.1f} s] {line}")
    return_code = process.wait()
    seconds = time.monotonic() - started
    after = load_average()
    timings = node_timings(target_path, log_path)
    build = DbtBuild(
        name=name,
        seconds=seconds,
        state="stopped" if stopped else "completed" if return_code == 0 else "failed",
        return_code=None if stopped else return_code,
        load_average_before=before,
        load_average_after=after,
        node_timings=timings,
        running_when_stopped=running,
    )
    for artefact in ("manifest", "run_results"):
        with contextlib.suppress(FileNotFoundError):
            shutil.copy2(target_path / f"{artefact}.json", OUT_DIR / f"{artefact}_{name}.json")
    if (target_path / "manifest.json").exists():
        build.explains = explain_slow_models(database_url, target_path, build)
    log(f"   {name}: {build.state} (exit code {return_code}) in {format_seconds(seconds)}")
    print_slowest(build)
    return build


def stop_process(process: subprocess.Popen[str], database_url: str) -> None:
    """SIGINT first (dbt cancels its queries), then SIGKILL; then cancel leftover queries."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select pg_cancel_backend(pid) from pg_stat_activity "
                "where datname = current_database() and pid <> pg_backend_pid() "
                "and state = 'active'"
            )
    finally:
        connection.close()


def running_queries(database_url: str) -> list[dict[str, Any]]:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                select pid, extract(epoch from now() - query_start)::float, wait_event_type,
                       wait_event, left(query, 4000)
                from pg_stat_activity
                where datname = current_database() and pid <> pg_backend_pid()
                  and state = 'active' and backend_type = 'client backend'
                """
            )
            rows = cursor.fetchall()
    finally:
        connection.close()
    keys = ("pid", "running_seconds", "wait_event_type", "wait_event", "query")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def node_timings(target_path: Path, log_path: Path) -> list[dict[str, Any]]:
    """Per node: unique_id, status, seconds. From run_results.json, else from the JSON log."""
    results_file = target_path / "run_results.json"
    if results_file.exists():
        results = json.loads(results_file.read_text())["results"]
        return [
            {
                "unique_id": result["unique_id"],
                "status": result["status"],
                "seconds": round(result["execution_time"], 3),
                "rows": (result.get("adapter_response") or {}).get("rows_affected"),
            }
            for result in results
        ]
    timings: dict[str, dict[str, Any]] = {}
    log_file = log_path / "dbt.log"
    if not log_file.exists():
        return []
    for line in log_file.read_text().splitlines():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            event = json.loads(line)
            node_info = event["data"].get("node_info") or {}
            unique_id = node_info.get("unique_id")
            if not unique_id:
                continue
            entry = timings.setdefault(unique_id, {"unique_id": unique_id, "status": "started"})
            if event["info"]["name"] == "NodeFinished":
                run_result = event["data"].get("run_result") or {}
                entry["status"] = run_result.get("status", node_info.get("node_status"))
                entry["seconds"] = round(float(run_result.get("execution_time", 0.0)), 3)
    return list(timings.values())


def print_slowest(build: DbtBuild) -> None:
    finished = [node for node in build.node_timings if "seconds" in node]
    finished.sort(key=lambda node: node["seconds"], reverse=True)
    total = sum(node["seconds"] for node in finished) or 1.0
    log(f"   slowest nodes of {build.name} (of {len(finished)} finished):")
    for node in finished[:SLOWEST_SHOWN]:
        log(
            f"     {node['seconds']:9.2f} s  {node['seconds'] / total:6.1%}  "
            f"{node['status']:<8} {node['unique_id']}"
        )
    for failed in (node for node in finished if node["status"] in ("error", "fail")):
        log(f"     {failed['status'].upper():<5} {failed['unique_id']}")
    for unfinished in (node for node in build.node_timings if "seconds" not in node):
        log(f"     (unfinished)            {unfinished['unique_id']}")
    for query in build.running_when_stopped:
        log(
            f"     running for {format_seconds(query['running_seconds'])} when stopped: "
            f"{' '.join(query['query'].split())[:300]}"
        )


def explain_slow_models(database_url: str, target_path: Path, build: DbtBuild) -> dict[str, str]:
    """EXPLAIN the compiled SQL of the unfinished models and of the three slowest models."""
    manifest = json.loads((target_path / "manifest.json").read_text())
    unfinished = [node["unique_id"] for node in build.node_timings if "seconds" not in node]
    finished = sorted(
        (node for node in build.node_timings if "seconds" in node),
        key=lambda node: node["seconds"],
        reverse=True,
    )
    chosen = (
        unfinished
        + [node["unique_id"] for node in finished if node["unique_id"].startswith("model.")][:3]
    )
    plans: dict[str, str] = {}
    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    try:
        for unique_id in chosen:
            node = manifest["nodes"].get(unique_id)
            if node is None or node["resource_type"] != "model":
                continue
            compiled = target_path / "compiled" / node["package_name"] / node["original_file_path"]
            if not compiled.exists():
                continue
            try:
                with connection.cursor() as cursor:
                    cursor.execute("explain " + compiled.read_text())
                    plans[unique_id] = "\n".join(row[0] for row in cursor.fetchall())
            except psycopg2.Error as error:
                plans[unique_id] = f"EXPLAIN failed: {error}".strip()
    finally:
        connection.close()
    if plans:
        explain_file = OUT_DIR / f"explain_{build.name}.txt"
        explain_file.write_text(
            "\n\n".join(f"-- {unique_id}\n{plan}" for unique_id, plan in plans.items())
        )
        log(f"   EXPLAIN of {', '.join(plans)} -> {explain_file}")
    return plans


# ---------------------------------------------------------------------------------- summary


def summarise(
    floors: list[TimedStep], full: DbtBuild, incremental: DbtBuild | None
) -> dict[str, Any]:
    floor_seconds = sum(step.seconds for step in floors) / len(floors)
    summary: dict[str, Any] = {
        "floor_seconds": round(floor_seconds, 2),
        "full_seconds": round(full.seconds, 2),
        "full_state": full.state,
        "full_over_floor": round(full.seconds / floor_seconds, 2),
        "full_over_floor_target": TARGET_FULL_OVER_FLOOR,
        "full_over_10_min": round(full.seconds / TARGET_FULL_SECONDS, 3),
    }
    if incremental is not None:
        summary |= {
            "incremental_seconds": round(incremental.seconds, 2),
            "incremental_state": incremental.state,
            "incremental_over_floor": round(incremental.seconds / floor_seconds, 2),
            "incremental_over_30_s": round(incremental.seconds / TARGET_INCREMENTAL_SECONDS, 3),
        }
    return summary


def print_summary(floors: list[TimedStep], full: DbtBuild, incremental: DbtBuild | None) -> None:
    floor_seconds = sum(step.seconds for step in floors) / len(floors)

    def row(name: str, seconds: float, target: str, ratio: float | None, ok: bool | None) -> str:
        ratio_text = "" if ratio is None else f"{ratio:.2f}"
        verdict = "" if ok is None else "meets" if ok else "MISSES"
        return (
            f"| {name:<36} | {seconds:>10.1f} | {seconds / floor_seconds:>8.2f} | "
            f"{target:<20} | {ratio_text:>9} | {verdict:<6} |"
        )

    log("\n== summary (load average 1/5/15 min before -> after each step)")
    log(
        f"| {'step':<36} | {'seconds':>10} | {'x floor':>8} | {'target':<20} | "
        f"{'x target':>9} | {'':<6} |"
    )
    log(f"|{'-' * 38}|{'-' * 12}|{'-' * 10}|{'-' * 22}|{'-' * 11}|{'-' * 8}|")
    for floor in floors:
        log(row(floor.name, floor.seconds, "(baseline)", None, None))
    full_suffix = "" if full.state == "completed" else f" ({full.state})"
    log(
        row(
            "dbt build --full-refresh" + full_suffix,
            full.seconds,
            "<= 4x floor",
            full.seconds / floor_seconds / TARGET_FULL_OVER_FLOOR,
            full.state == "completed" and full.seconds <= TARGET_FULL_OVER_FLOOR * floor_seconds,
        )
    )
    log(
        row(
            "dbt build --full-refresh" + full_suffix,
            full.seconds,
            "<= 10 min",
            full.seconds / TARGET_FULL_SECONDS,
            full.state == "completed" and full.seconds <= TARGET_FULL_SECONDS,
        )
    )
    if incremental is not None:
        suffix = "" if incremental.state == "completed" else f" ({incremental.state})"
        log(
            row(
                "dbt build (incremental)" + suffix,
                incremental.seconds,
                "<= 30 s",
                incremental.seconds / TARGET_INCREMENTAL_SECONDS,
                incremental.state == "completed"
                and incremental.seconds <= TARGET_INCREMENTAL_SECONDS,
            )
        )
    steps: list[TimedStep | DbtBuild] = [*floors, full, *([incremental] if incremental else [])]
    for step in steps:
        log(f"   load {step.name}: {step.load_average_before} -> {step.load_average_after}")


def write_svg(
    path: Path,
    floors: list[TimedStep],
    full: DbtBuild,
    incremental: DbtBuild | None,
    row_estimates: dict[str, int],
) -> None:
    floor_seconds = sum(step.seconds for step in floors) / len(floors)
    sections = [
        Section(
            "Full build against the floor (same run)",
            [
                *(Bar(step.name, step.seconds, "(baseline)", "#9d9d9d") for step in floors),
                Bar(
                    f"dbt build --full-refresh ({full.state})",
                    full.seconds,
                    f"= {full.seconds / floor_seconds:.1f}x floor",
                ),
            ],
            markers=(
                (TARGET_FULL_OVER_FLOOR * floor_seconds, "4x floor"),
                *(((TARGET_FULL_SECONDS, "10 min"),) if full.seconds > 300 else ()),
            ),
        )
    ]
    if incremental is not None:
        sections.append(
            Section(
                "Incremental build after 100k new reactions",
                [
                    Bar(
                        f"dbt build ({incremental.state})",
                        incremental.seconds,
                        f"= {incremental.seconds / TARGET_INCREMENTAL_SECONDS:.2f}x target",
                    )
                ],
                markers=((TARGET_INCREMENTAL_SECONDS, "30 s target"),),
            )
        )
    for build in (full, incremental):
        if build is None:
            continue
        slowest = sorted(
            (node for node in build.node_timings if "seconds" in node),
            key=lambda node: node["seconds"],
            reverse=True,
        )[:10]
        if slowest:
            sections.append(
                Section(
                    f"Slowest nodes of the {build.name} build",
                    [
                        Bar(
                            node["unique_id"].split(".", 2)[-1][:48],
                            node["seconds"],
                            "",
                            "#72b7b2",
                        )
                        for node in slowest
                    ],
                )
            )
    write_chart(
        path,
        "memefeed dbt_scale benchmark",
        f"{row_estimates.get('user_meme_reaction', 0):,} reactions, "
        f"{row_estimates.get('user', 0):,} users, {row_estimates.get('meme', 0):,} memes; "
        f"load avg {full.load_average_before[0]} -> {full.load_average_after[0]}",
        sections,
    )


def dataset_counts(database_url: str) -> dict[str, int]:
    connection = psycopg2.connect(database_url)
    counts: dict[str, int] = {}
    try:
        with connection.cursor() as cursor:
            for table in ("meme_source", "meme", "user", "user_language", "user_meme_reaction"):
                cursor.execute(
                    "select reltuples::bigint from pg_class where oid = %s::regclass",
                    (f'app."{table}"',),
                )
                counts[table] = int(cursor.fetchone()[0])
    finally:
        connection.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_size_arguments(parser)
    parser.add_argument("--new-reactions", type=int, default=100_000)
    parser.add_argument("--late-share", type=float, default=0.1, help="of the new reactions")
    parser.add_argument("--timeout-minutes", type=float, default=20.0, help="per dbt build")
    parser.add_argument("--skip-incremental", action="store_true")
    parser.add_argument(
        "--dbt-ref",
        help="benchmark dbt_project/ as committed at this git ref (exported under "
        "benchmarks/out) instead of a copy of the working tree taken at the start",
    )
    arguments = parser.parse_args()

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC)
    dataset = generate(arguments.server_url, dataset_size(arguments), arguments.seed, False)
    database_url = bench_database_url(arguments.server_url)
    timeout_seconds = arguments.timeout_minutes * 60
    log(f"\nbenchmark on {BENCH_DATABASE}: {dataset_counts(database_url)}")
    log(f"machine: {os.cpu_count()} cores, load average {load_average()}")

    if arguments.dbt_ref:
        project_dir, project_version = export_dbt_project(arguments.dbt_ref)
    else:
        project_dir, project_version = snapshot_working_tree()
    log(f"dbt project: {project_dir} ({project_version})")

    prepare_dbt_project(database_url, project_dir)
    vacuum_source_tables(database_url)
    floors = [run_floor(database_url, "floor (before)")]
    full = run_dbt_build(database_url, project_dir, "full", True, timeout_seconds)
    floors.append(run_floor(database_url, "floor (after)"))
    new_events: TimedStep | None = None
    incremental: DbtBuild | None = None
    # a build whose tests failed still built everything: its timing stands
    full_ran = full.state == "completed" or (full.state == "failed" and bool(full.node_timings))
    if not arguments.skip_incremental and full_ran:
        new_events = add_new_reactions(database_url, arguments.new_reactions, arguments.late_share)
        incremental = run_dbt_build(
            database_url, project_dir, "incremental", False, timeout_seconds
        )
    elif not full_ran:
        log(f"\nthe full build {full.state}: skipping the incremental build")

    print_summary(floors, full, incremental)
    row_estimates = dataset_counts(database_url)
    result = {
        "benchmark": "dbt_scale",
        "started_at": started_at.isoformat(),
        "cpu_count": os.cpu_count(),
        "dbt_project": {"path": str(project_dir), "version": project_version},
        "dataset": {key: str(value) for key, value in dataset.items()},
        "row_estimates": row_estimates,
        "summary": summarise(floors, full, incremental),
        "floors": [asdict(step) for step in floors],
        "new_events": asdict(new_events) if new_events else None,
        "builds": [asdict(build) for build in (full, incremental) if build is not None],
    }
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    result_file = OUT_DIR / f"dbt_scale_{stamp}.json"
    result_file.write_text(json.dumps(result, indent=2, default=str))
    shutil.copy2(result_file, OUT_DIR / "dbt_scale_latest.json")
    chart_file = result_file.with_suffix(".svg")
    write_svg(chart_file, floors, full, incremental, row_estimates)
    shutil.copy2(chart_file, OUT_DIR / "dbt_scale_latest.svg")
    log(f"\nresults: {result_file}\nchart:   {chart_file}")


if __name__ == "__main__":
    main()
