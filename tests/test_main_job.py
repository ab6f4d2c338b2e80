"""The main job's rehearsal: sample memes through the asset graph to simulated users and back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

from memefeed.main_job import _rehearse
from memefeed.settings import Settings


async def test_the_whole_loop_records_reactions_personalises_and_never_repeats(
    clean_db: asyncpg.Pool, database_url: str, redis_url: str, redis_client, tmp_path: Path
) -> None:
    settings = Settings(DATABASE_URL=database_url, REDIS_URL=redis_url, MEMEFEED_DATA_DIR=tmp_path)

    summary = await _rehearse(
        settings, users=3, memes=24, reactions_per_session=5, rounds=2, started=time.monotonic()
    )

    assert summary.memes_ingested == 24
    assert summary.users == 3
    assert summary.reactions == 3 * 5 * 2
    assert summary.repeats == 0
    assert summary.memes_per_session > 0
    # The second round is served from the personal candidates the first round's reactions built.
    personal = {
        engine
        for engine in summary.engines
        if not engine.startswith("cold_start") and engine != "unseen_fallback"
    }
    assert personal, summary.engines
    stored = await clean_db.fetchval(
        "select count(*) from marts.user_stats where nlikes + ndislikes = 10"
    )
    assert stored == 3


def test_memefeed_run_on_embedded_servers_prints_a_summary_with_no_repeats(
    tmp_path: Path,
) -> None:
    """The README's main job as a user runs it: no DATABASE_URL, REDIS_URL or token set."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "TELEGRAM_BOT_TOKEN"}
    }
    env["MEMEFEED_DATA_DIR"] = str(tmp_path)
    completed = subprocess.run(
        [
            str(Path(sys.executable).with_name("memefeed")),
            "run",
            "--users",
            "2",
            "--memes",
            "12",
            "--reactions",
            "3",
            "--rounds",
            "1",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    summary = completed.stdout[completed.stdout.index("memefeed main job: summary") :]
    assert "memes ingested     12 ok" in summary
    assert "reactions          6 " in summary
    assert "repeats            0 " in summary
    assert (tmp_path / "postgres").is_dir()
