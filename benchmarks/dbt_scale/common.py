"""What generate.py and run.py share: where the benchmark database lives, progress lines."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psycopg2

from memefeed.services import replace_database_name

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = PROJECT_ROOT / "benchmarks" / "out"
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "memefeed_bench"
# generate.py records what it loaded here; run.py reads it (and dbt never looks at it).
META_SCHEMA = "benchmark"


def server_url_from_env() -> str:
    return os.environ.get("MEMEFEED_BENCH_SERVER_URL", DEFAULT_SERVER_URL)


def bench_database_url(server_url: str, database: str = BENCH_DATABASE) -> str:
    return replace_database_name(server_url, database)


def database_exists(server_url: str, database: str) -> bool:
    connection = psycopg2.connect(server_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select 1 from pg_database where datname = %s", (database,))
            return cursor.fetchone() is not None
    finally:
        connection.close()


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return (round(one, 2), round(five, 2), round(fifteen, 2))


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:04.1f} s"


class Progress:
    """Prints `label: done / total rows (pct), rows/s, eta` at most every `interval` seconds."""

    def __init__(self, label: str, total: int, interval: float = 2.0) -> None:
        self.label = label
        self.total = total
        self.interval = interval
        self.done = 0
        self.started = time.monotonic()
        self.last_print = 0.0

    def advance(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if now - self.last_print >= self.interval or self.done >= self.total:
            self.last_print = now
            self._print(now)

    def _print(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        share = self.done / self.total if self.total else 1.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        print(
            f"  {self.label}: {self.done:>12,} / {self.total:,} rows ({share:6.1%}), "
            f"{rate:>10,.0f} rows/s, elapsed {format_seconds(elapsed)}, "
            f"eta {format_seconds(eta)}",
            flush=True,
        )

    def finish(self) -> float:
        elapsed = time.monotonic() - self.started
        print(
            f"  {self.label}: {self.done:,} rows in {format_seconds(elapsed)} "
            f"({self.done / max(elapsed, 1e-9):,.0f} rows/s)",
            flush=True,
        )
        return elapsed


def log(message: str) -> None:
    print(message, file=sys.stdout, flush=True)
