"""Serving: the new candidates reach the Redis queues of recently active users."""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation.
import asyncio
import time

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from bot.serving import prewarm_recent_queues
from orchestration.defs.resources import MemefeedResource
from orchestration.lib.automation import propagate_updates
from orchestration.lib.translator import OWNER

USER_CANDIDATES = AssetKey(["recommendations", "user_candidates"])
COLD_START_CANDIDATES = AssetKey(["recommendations", "cold_start_candidates"])


@asset(
    key=["serving", "feed_queues"],
    group_name="serving",
    deps=[USER_CANDIDATES, COLD_START_CANDIDATES],
    owners=[OWNER],
    kinds={"python", "redis"},
    automation_condition=propagate_updates(),
    description=(
        "Per-user Redis queues of recently active users, rebuilt from the newest candidates so "
        "a build or backfill reaches people on their next tap."
    ),
)
def feed_queues(context: AssetExecutionContext, memefeed: MemefeedResource) -> MaterializeResult:
    if memefeed.redis_url is None:
        context.log.warning("REDIS_URL is not set: no queues to pre-warm")
        return MaterializeResult(metadata={"users": 0, "memes_queued": 0})
    started = time.monotonic()
    result = asyncio.run(prewarm_recent_queues(memefeed.database_url, memefeed.redis_url))
    context.log.info("pre-warmed %d queues with %d memes", result.users, result.memes_queued)
    return MaterializeResult(
        metadata={
            "users": result.users,
            "memes_queued": result.memes_queued,
            "duration_seconds": round(time.monotonic() - started, 3),
        }
    )
