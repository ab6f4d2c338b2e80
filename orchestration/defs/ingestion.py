"""Ingestion assets: sources into `app.meme_raw_*`, and the media pipeline into `app.meme`.

Their keys (`app/<table>`) are the keys dbt's sources map to, so the graph is one graph from the
source posts to the candidate tables.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation.
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    asset,
)

from ingestion.local_folder import ingest_local_folder
from ingestion.media import BotApiPhotoUploader, process_created_memes
from ingestion.telegram_channel import ingest_telegram_channel
from orchestration.defs.resources import MemefeedResource
from orchestration.lib.automation import propagate_updates
from orchestration.lib.db import row_count
from orchestration.lib.translator import OWNER

INGESTION = "ingestion"

meme_source = AssetSpec(
    key=AssetKey(["app", "meme_source"]),
    group_name=INGESTION,
    description="Registered meme sources: channels, folders and user uploads, with their status.",
    owners=[OWNER],
    kinds={"postgres"},
)

# Tables the bot writes as people use it; dbt reads them as sources.
BOT_TABLES = {
    "user": "Users, one row per Telegram user, created by /start.",
    "user_tg": "Telegram profile of each user as last seen on /start.",
    "user_language": "Content languages each user reads.",
    "user_meme_reaction": "One row per meme sent to a user; the like or dislike when it comes.",
    "user_deep_link_log": "Every /start payload (share links, campaigns).",
}


def table_metadata(
    memefeed: MemefeedResource, table: str, started: float, **metadata: Any
) -> Mapping[str, Any]:
    """What every ingestion asset reports: the table's rows now and the seconds it took."""
    return {
        **metadata,
        # The key Dagster's UI shows as the table's row count.
        "dagster/row_count": MetadataValue.int(row_count(memefeed.database_url, "app", table)),
        "duration_seconds": round(time.monotonic() - started, 3),
    }


bot_tables = [
    AssetSpec(
        key=AssetKey(["app", table]),
        group_name="bot",
        description=description,
        owners=[OWNER],
        kinds={"postgres", "telegram"},
    )
    for table, description in BOT_TABLES.items()
]


@asset(
    key=["app", "meme_raw_local"],
    group_name=INGESTION,
    deps=[meme_source.key],
    owners=[OWNER],
    kinds={"python", "postgres"},
    description="Images from the configured local folder (captions and languages from sidecars).",
)
def meme_raw_local(
    context: AssetExecutionContext, memefeed: MemefeedResource
) -> MaterializeResult:
    started = time.monotonic()
    if not memefeed.local_memes_dir:
        context.log.info("LOCAL_MEMES_DIR is not set: no local folder to ingest")
        return MaterializeResult(
            metadata=table_metadata(memefeed, "meme_raw_local", started, new_memes=0)
        )
    result = ingest_local_folder(
        memefeed.database_url, Path(memefeed.local_memes_dir), memefeed.local_memes_language
    )
    return MaterializeResult(
        metadata=table_metadata(
            memefeed,
            "meme_raw_local",
            started,
            images_seen=result.seen,
            new_raw_rows=result.new_raw_rows,
            new_memes=result.new_memes,
        )
    )


@asset(
    key=["app", "meme_raw_telegram"],
    group_name=INGESTION,
    deps=[meme_source.key],
    owners=[OWNER],
    kinds={"python", "postgres", "telegram"},
    description="Posts of the configured public Telegram channels, read from t.me/s pages.",
)
def meme_raw_telegram(
    context: AssetExecutionContext, memefeed: MemefeedResource
) -> MaterializeResult:
    started = time.monotonic()
    new_posts = new_memes = 0
    for channel in memefeed.telegram_channels:
        result = ingest_telegram_channel(memefeed.database_url, channel)
        context.log.info(
            "%s: %d new posts, %d new memes", channel, result.new_raw_posts, result.new_memes
        )
        new_posts += result.new_raw_posts
        new_memes += result.new_memes
    return MaterializeResult(
        metadata=table_metadata(
            memefeed,
            "meme_raw_telegram",
            started,
            channels=len(memefeed.telegram_channels),
            new_raw_posts=new_posts,
            new_memes=new_memes,
        )
    )


@asset(
    key=["app", "meme"],
    group_name=INGESTION,
    deps=[AssetKey(["app", "meme_raw_local"]), AssetKey(["app", "meme_raw_telegram"])],
    owners=[OWNER],
    kinds={"python", "postgres", "telegram"},
    automation_condition=propagate_updates(),
    description=(
        "Memes ready for the feed: downloaded, validated, deduplicated, watermarked and "
        "uploaded to the storage chat for a telegram_file_id."
    ),
)
def meme(context: AssetExecutionContext, memefeed: MemefeedResource) -> MaterializeResult:
    started = time.monotonic()
    if memefeed.telegram_bot_token is None or memefeed.storage_chat_id is None:
        raise RuntimeError("TELEGRAM_BOT_TOKEN and STORAGE_CHAT_ID are needed to upload memes")
    with BotApiPhotoUploader(
        memefeed.telegram_api_base_url, memefeed.telegram_bot_token, memefeed.storage_chat_id
    ) as uploader:
        result = process_created_memes(
            memefeed.database_url, uploader, watermark_text=memefeed.watermark_text
        )
    counts = dict(result.status_counts)
    context.log.info("media pipeline: %s", counts)
    metadata: dict[str, Any] = {f"status_{status}": n for status, n in counts.items()}
    metadata["status_counts"] = MetadataValue.json(counts)
    if result.stopped_reason:
        metadata["stopped_reason"] = result.stopped_reason
    return MaterializeResult(metadata=table_metadata(memefeed, "meme", started, **metadata))
