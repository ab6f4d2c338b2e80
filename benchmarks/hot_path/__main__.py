"""Hot path benchmark (issue 4, item 10): our bot against the anchor's way, side by side.

    .venv/bin/python -m benchmarks.hot_path                 # 500 users x 20 reactions
    .venv/bin/python -m benchmarks.hot_path --quick         # 100 users x 5, small data
    .venv/bin/python -m benchmarks.hot_path --profile       # ours only, under cProfile

Real PostgreSQL (database `memefeed_hotpath`, recreated) and Redis (db 9, flushed), the real
PTB Application of `bot.app` in process with a recording request. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import os
import platform
import pstats
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import uvloop
from telegram.ext import Application

from benchmarks.hot_path import dataset, metering
from benchmarks.hot_path.anchor import (
    RETRY_CALLBACK as ANCHOR_RETRY,
)
from benchmarks.hot_path.anchor import (
    SERVICES as ANCHOR_SERVICES,
)
from benchmarks.hot_path.anchor import (
    build_anchor_application,
    wait_for_background,
)
from benchmarks.hot_path.harness import BenchRequest, PhaseResult, Simulation
from bot import handlers
from bot.app import BotConfig, build_application, tune_garbage_collection
from bot.keyboards import RETRY_CALLBACK as OUR_RETRY

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = PROJECT_ROOT / "benchmarks" / "out"
DATABASE = "memefeed_hotpath"
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
IDLE_FLUSH_SECONDS = 11.0

TARGET_REACTIONS_PER_SECOND = 2000.0
TARGET_P99_MS = 20.0
TARGET_DB_RATIO = 10.0


@dataclass(frozen=True)
class Options:
    users: int
    reactions_per_user: int
    warmup_reactions: int
    latency_rate: float
    memes: int
    candidates_per_user: int
    pool_size: int
    server_url: str
    redis_url: str
    reuse_data: bool
    profile: bool
    seed: int
    only: str | None
    no_pool_reset: bool
    loop: str
    gc: str


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.hot_path",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument(
        "--reactions-per-user",
        type=int,
        default=20,
        help="per measured phase (throughput, then latency at a set rate)",
    )
    parser.add_argument("--warmup-reactions", type=int, default=3)
    parser.add_argument(
        "--latency-rate",
        type=float,
        default=TARGET_REACTIONS_PER_SECOND,
        help="offered reactions/s of the latency phase (default: the target)",
    )
    parser.add_argument("--memes", type=int, default=20_000)
    parser.add_argument("--candidates-per-user", type=int, default=300)
    parser.add_argument(
        "--pool-size",
        type=int,
        default=10,
        help="asyncpg pool size, for both (BotConfig.db_pool_size default)",
    )
    parser.add_argument(
        "--server-url", default=os.environ.get("MEMEFEED_BENCH_SERVER_URL", DEFAULT_SERVER_URL)
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("MEMEFEED_BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    )
    parser.add_argument(
        "--reuse-data",
        action="store_true",
        help="keep the loaded database (run rows are deleted before each run)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="100 users x 5 reactions, 4,000 memes: a smoke run"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="ours only; cProfile the throughput phase, print the top functions",
    )
    parser.add_argument("--only", choices=["ours", "anchor"], default=None)
    parser.add_argument(
        "--experiment-no-pool-reset",
        action="store_true",
        help="what-if: asyncpg pools skip the reset query on release (both systems)",
    )
    parser.add_argument(
        "--loop",
        choices=["uvloop", "asyncio"],
        default="uvloop",
        help="event loop of the bot process (uvloop as in production: bot/runner.py)",
    )
    parser.add_argument(
        "--gc",
        choices=["tuned", "default"],
        default="tuned",
        help="garbage collector of the bot process: tuned as in production "
        "(bot.app.tune_garbage_collection, for both systems) or Python's defaults",
    )
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.reactions_per_user, args.memes = 100, 5, 4000
        args.candidates_per_user, args.warmup_reactions = 100, 2
    return Options(
        users=args.users,
        reactions_per_user=args.reactions_per_user,
        warmup_reactions=args.warmup_reactions,
        latency_rate=args.latency_rate,
        memes=args.memes,
        candidates_per_user=args.candidates_per_user,
        pool_size=args.pool_size,
        server_url=args.server_url,
        redis_url=args.redis_url,
        reuse_data=args.reuse_data,
        profile=args.profile,
        seed=args.seed,
        only="ours" if args.profile else args.only,
        no_pool_reset=args.experiment_no_pool_reset,
        loop=args.loop,
        gc=args.gc,
    )


@dataclass
class SystemRun:
    name: str
    throughput: PhaseResult
    latency: PhaseResult
    server: metering.ServerCounters
    server_cpu_seconds: float
    python_cpu_seconds: float
    client_db_round_trips: int
    client_db_seconds: float
    redis_round_trips: int
    top_statements: list[dict[str, Any]]
    telegram_calls: dict[str, int]

    @property
    def delivered(self) -> int:
        return self.throughput.delivered + self.latency.delivered

    def per_meme(self, value: float) -> float:
        return value / self.delivered if self.delivered else float("nan")

    def figures(self) -> dict[str, Any]:
        return {
            "reactions_per_second": round(self.throughput.reactions_per_second, 1),
            "closed_loop_p50_ms": round(self.throughput.percentile(0.5), 2),
            "closed_loop_p99_ms": round(self.throughput.percentile(0.99), 2),
            "at_rate_achieved_per_second": round(self.latency.steady_reactions_per_second, 1),
            "at_rate_p50_ms": round(self.latency.percentile(0.5), 2),
            "at_rate_p99_ms": round(self.latency.percentile(0.99), 2),
            "delivered_memes": self.delivered,
            "db_cpu_ms_per_meme": round(self.per_meme(self.server_cpu_seconds * 1e3), 4),
            "db_active_ms_per_meme": round(self.per_meme(self.server.active_ms), 4),
            "python_cpu_ms_per_reaction": round(
                self.python_cpu_seconds
                * 1e3
                / max(self.throughput.reactions + self.latency.reactions, 1),
                3,
            ),
            "db_round_trips_per_meme": round(self.per_meme(self.client_db_round_trips), 2),
            "db_transactions_per_meme": round(
                self.per_meme(self.server.xact_commit + self.server.xact_rollback), 2
            ),
            "db_blocks_touched_per_meme": round(
                self.per_meme(self.server.blks_hit + self.server.blks_read), 1
            ),
            "client_db_wait_ms_per_meme": round(self.per_meme(self.client_db_seconds * 1e3), 3),
            "redis_round_trips_per_meme": round(self.per_meme(self.redis_round_trips), 2),
        }


async def flush_redis(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def open_application(application: Application) -> None:
    await application.initialize()
    assert application.post_init is not None
    await application.post_init(application)


async def close_application(application: Application) -> None:
    await application.shutdown()
    assert application.post_shutdown is not None
    await application.post_shutdown(application)


async def drain_ours(application: Application) -> None:
    services: handlers.BotServices = application.bot_data[handlers.SERVICES_KEY]
    await services.feed.wait_for_background_refills()


async def drain_anchor(application: Application) -> None:
    await wait_for_background(application.bot_data[ANCHOR_SERVICES])


async def run_system(
    name: str,
    build: Callable[[BenchRequest], Application],
    drain: Callable[[Application], Awaitable[None]],
    retry_callback: str,
    users: list[dataset.BenchUser],
    options: Options,
    database_url: str,
) -> SystemRun:
    print(f"\n== {name} ==", flush=True)
    deleted = await dataset.reset_run_rows(database_url)
    await flush_redis(options.redis_url)
    print(f"  reset: {deleted:,} rows of an earlier run deleted, Redis db flushed", flush=True)
    request = BenchRequest()
    application = build(request)
    await open_application(application)
    if options.gc == "tuned":
        tune_garbage_collection()
    simulation = Simulation(
        application, request, users, seed=options.seed, retry_callback=retry_callback
    )
    print("  warm-up (not measured)", flush=True)
    await simulation.start_all("/start")
    await simulation.run_phase("warm-up reactions", options.warmup_reactions)
    print(f"  waiting {IDLE_FLUSH_SECONDS:.0f} s for PostgreSQL to flush statistics", flush=True)
    before = await metering.settled_server_counters(
        options.server_url, DATABASE, idle_flush_seconds=IDLE_FLUSH_SECONDS
    )
    cpu_before = await asyncio.to_thread(metering.backend_cpu, options.server_url, DATABASE)
    python_cpu_before = time.process_time()
    request.method_counts.clear()
    metering.METER.reset()
    metering.METER.enabled = True
    profiler = cProfile.Profile(time.process_time) if options.profile else None
    print(f"  throughput: {len(users)} users react as fast as memes arrive", flush=True)
    if profiler is not None:
        profiler.enable()
    throughput = await simulation.run_phase("throughput", options.reactions_per_user)
    if profiler is not None:
        profiler.disable()
        print_profile(profiler, throughput)
    print(f"  latency at {options.latency_rate:,.0f} reactions/s offered", flush=True)
    latency = await simulation.run_phase(
        "at-rate", options.reactions_per_user, target_rate=options.latency_rate
    )
    await drain(application)
    cpu_after = await asyncio.to_thread(metering.backend_cpu, options.server_url, DATABASE)
    python_cpu = time.process_time() - python_cpu_before
    await close_application(application)
    metering.METER.enabled = False
    await metering.wait_for_no_backends(options.server_url, DATABASE)
    after = await metering.settled_server_counters(
        options.server_url, DATABASE, idle_flush_seconds=IDLE_FLUSH_SECONDS
    )
    run = SystemRun(
        name=name,
        throughput=throughput,
        latency=latency,
        server=after.minus(before),
        server_cpu_seconds=metering.cpu_used_between(cpu_before, cpu_after),
        python_cpu_seconds=python_cpu,
        client_db_round_trips=metering.METER.db_round_trips,
        client_db_seconds=metering.METER.db_seconds,
        redis_round_trips=metering.METER.redis_round_trips,
        top_statements=metering.METER.top_statements(),
        telegram_calls=dict(request.method_counts),
    )
    for phase in (throughput, latency):
        print(f"  {phase.summary()}", flush=True)
    print(f"  {run.figures()}", flush=True)
    return run


def print_profile(profiler: cProfile.Profile, phase: PhaseResult) -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / "hot_path-profile.pstats"
    profiler.dump_stats(path)
    for sort in ("tottime", "cumulative"):
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats(sort)
        stats.print_stats(30)
        print(
            f"\n  cProfile of the throughput phase, by {sort} "
            f"({phase.reactions:,} reactions; process CPU time, profiled so slower):"
        )
        print(stream.getvalue())
    print(f"  raw profile: {path}")


def ratio(ours: float, anchor: float) -> str:
    if not ours or not anchor or ours != ours or anchor != anchor:
        return "n/a"
    return f"{ours / anchor:.2f}x"


def report(runs: dict[str, SystemRun], options: Options) -> dict[str, Any]:
    ours = runs.get("ours")
    anchor = runs.get("anchor")
    rows = [
        ("reactions/s (closed loop, 500 users)", "reactions_per_second", False),
        ("p50 ms, closed loop", "closed_loop_p50_ms", True),
        ("p99 ms, closed loop", "closed_loop_p99_ms", True),
        ("achieved reactions/s at offered rate", "at_rate_achieved_per_second", False),
        ("p50 ms at offered rate", "at_rate_p50_ms", True),
        ("p99 ms at offered rate", "at_rate_p99_ms", True),
        ("DB CPU per delivered meme, ms (backends)", "db_cpu_ms_per_meme", True),
        ("DB active time per meme, ms (pg_stat)", "db_active_ms_per_meme", True),
        ("DB round trips per meme (client)", "db_round_trips_per_meme", True),
        ("DB transactions per meme (server)", "db_transactions_per_meme", True),
        ("DB blocks touched per meme", "db_blocks_touched_per_meme", True),
        ("client DB wait per meme, ms", "client_db_wait_ms_per_meme", True),
        ("Redis round trips per meme", "redis_round_trips_per_meme", True),
        ("bot process CPU per reaction, ms", "python_cpu_ms_per_reaction", True),
    ]
    ours_figures = ours.figures() if ours else {}
    anchor_figures = anchor.figures() if anchor else {}
    print("\n" + "=" * 96)
    print(f"{'figure':<44}{'ours':>14}{'anchor (baseline)':>20}{'ours / anchor':>16}")
    print("-" * 96)
    for label, key, _lower_is_better in rows:
        mine = ours_figures.get(key, float("nan"))
        theirs = anchor_figures.get(key, float("nan"))
        print(f"{label:<44}{mine:>14,.2f}{theirs:>20,.2f}{ratio(mine, theirs):>16}")
    print("-" * 96)
    targets: dict[str, Any] = {}
    if ours:
        targets["reactions_per_second"] = check(
            ">= 2,000 reactions/s",
            ours_figures["reactions_per_second"],
            ours_figures["reactions_per_second"] >= TARGET_REACTIONS_PER_SECOND,
        )
        targets["p99_ms"] = check(
            f"p99 <= 20 ms at {options.latency_rate:,.0f}/s offered",
            ours_figures["at_rate_p99_ms"],
            ours_figures["at_rate_p99_ms"] <= TARGET_P99_MS,
        )
    if ours and anchor:
        for key, what in (("db_cpu_ms_per_meme", "CPU"), ("db_active_ms_per_meme", "active")):
            db_ratio = anchor_figures[key] / max(ours_figures[key], 1e-9)
            targets[f"db_{what.lower()}_ratio"] = check(
                f">= 10x less DB {what} time per meme than the anchor",
                round(db_ratio, 1),
                db_ratio >= TARGET_DB_RATIO,
            )
    load = tuple(round(value, 2) for value in os.getloadavg())
    print(f"load average after the run (1, 5, 15 min): {load}; CPUs: {os.cpu_count()}")
    result = {
        "benchmark": "hot_path",
        "finished_at": datetime.now(UTC).isoformat(),
        "options": asdict(options),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": load,
            "python": platform.python_version(),
        },
        "targets": targets,
        "runs": {
            name: {
                "figures": run.figures(),
                "phases": [run.throughput.summary(), run.latency.summary()],
                "server_counters": asdict(run.server),
                "top_statements_client_side": run.top_statements,
                "telegram_calls": run.telegram_calls,
            }
            for name, run in runs.items()
        },
    }
    return result


def check(label: str, value: float, passed: bool) -> dict[str, Any]:
    print(f"target {label:<52} {value!s:>10}  {'PASS' if passed else 'FAIL'}")
    return {"label": label, "value": value, "pass": passed}


async def main_async(options: Options) -> dict[str, Any]:
    database_url = dataset.database_url_for(options.server_url, DATABASE)
    size = dataset.DatasetSize(
        users=options.users,
        memes=options.memes,
        candidates_per_user=options.candidates_per_user,
    )
    print(
        f"hot_path: {options.users} users x {options.reactions_per_user} reactions per "
        f"phase, {options.memes:,} memes, {options.loop} event loop, {options.gc} gc; "
        f"load average {os.getloadavg()}",
        flush=True,
    )
    started = time.perf_counter()
    if options.reuse_data and dataset.database_exists(options.server_url, DATABASE):
        users = await dataset.load_users(database_url)
        print(f"  reusing {DATABASE} ({len(users)} users)", flush=True)
    else:
        print(f"  creating {DATABASE} and migrating", flush=True)
        await asyncio.to_thread(dataset.recreate_database, options.server_url, DATABASE)
        users = await dataset.load(database_url, size)
    users = users[: options.users]
    print(f"  setup took {time.perf_counter() - started:.1f} s", flush=True)
    metering.install()
    if options.no_pool_reset:
        metering.skip_pool_reset()
    logging.getLogger("bot").setLevel(logging.WARNING)

    def ours(request: BenchRequest) -> Application:
        return build_application(
            BotConfig(
                token="123:BENCH",
                database_url=database_url,
                redis_url=options.redis_url,
                rate_limit=False,
                db_pool_size=options.pool_size,
                tune_gc=options.gc == "tuned",
            ),
            request=request,
        )

    def anchor(request: BenchRequest) -> Application:
        return build_anchor_application(
            database_url, options.redis_url, request, options.pool_size
        )

    systems: list[tuple[str, Callable[[BenchRequest], Application], Any, str]] = [
        ("ours", ours, drain_ours, OUR_RETRY),
        ("anchor", anchor, drain_anchor, ANCHOR_RETRY),
    ]
    runs: dict[str, SystemRun] = {}
    for name, build, drain, retry_callback in systems:
        if options.only not in (None, name):
            continue
        runs[name] = await run_system(
            name, build, drain, retry_callback, users, options, database_url
        )
    await flush_redis(options.redis_url)
    result = report(runs, options)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = OUT_DIR / f"hot_path-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    print(f"results: {path}")
    return result


def run() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    options = parse_options()
    if options.loop == "uvloop":
        uvloop.run(main_async(options))
    else:
        asyncio.run(main_async(options))


if __name__ == "__main__":
    run()
