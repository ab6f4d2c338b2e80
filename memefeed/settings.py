"""The one place that reads the environment; everything else asks `get_settings()`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


class Settings(BaseSettings):
    """Runtime settings; see `.env.example` for what each one means."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    data_dir: Path = Field(default=PROJECT_ROOT / ".memefeed", alias="MEMEFEED_DATA_DIR")

    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot", alias="TELEGRAM_API_BASE_URL"
    )
    telegram_file_base_url: str = Field(
        default="https://api.telegram.org/file/bot", alias="TELEGRAM_FILE_BASE_URL"
    )
    storage_chat_id: int | None = Field(default=None, alias="STORAGE_CHAT_ID")
    admin_chat_id: int | None = Field(default=None, alias="ADMIN_CHAT_ID")
    review_chat_id: int | None = Field(default=None, alias="REVIEW_CHAT_ID")

    webhook_url: str | None = Field(default=None, alias="WEBHOOK_URL")
    webhook_secret_token: SecretStr | None = Field(default=None, alias="WEBHOOK_SECRET_TOKEN")
    webhook_listen: str = Field(default="0.0.0.0", alias="WEBHOOK_LISTEN")
    webhook_port: int = Field(default=8080, alias="WEBHOOK_PORT")

    telegram_channels: list[str] = Field(default_factory=list, alias="TELEGRAM_CHANNELS")
    local_memes_dir: Path | None = Field(default=None, alias="LOCAL_MEMES_DIR")
    watermark_text: str = Field(default="@memefeed_bot", alias="WATERMARK_TEXT")

    queue_refill_threshold: int = Field(default=8, alias="QUEUE_REFILL_THRESHOLD")
    queue_refill_batch: int = Field(default=20, alias="QUEUE_REFILL_BATCH")

    # Orchestration: refresh the stats and candidates early once this many reactions arrived
    # since the last refresh; warn when a candidate table is older than this many minutes.
    feed_refresh_min_new_reactions: int = Field(
        default=200, alias="FEED_REFRESH_MIN_NEW_REACTIONS"
    )
    candidates_max_age_minutes: int = Field(default=30, alias="CANDIDATES_MAX_AGE_MINUTES")
    # Alerts to ADMIN_CHAT_ID: the same alert is sent at most once per this many minutes.
    alert_cooldown_minutes: int = Field(default=60, alias="ALERT_COOLDOWN_MINUTES")
    # Links in alerts point here (the Dagster UI as ops reach it), if set.
    dagster_ui_url: str | None = Field(default=None, alias="DAGSTER_UI_URL")

    @property
    def uses_embedded_services(self) -> bool:
        return self.database_url is None or self.redis_url is None


@lru_cache
def get_settings() -> Settings:
    return Settings()


def libpq_parts(database_url: str) -> dict[str, str]:
    """Split a postgres URL into the host/port/user/password/dbname that dbt's profile reads.

    A Unix-socket URL (`postgresql://user@/db?host=/path`) keeps its socket folder as host.
    """
    parts = urlsplit(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    query = dict(pair.split("=", 1) for pair in parts.query.split("&") if "=" in pair)
    return {
        "host": unquote(query.get("host") or parts.hostname or "127.0.0.1"),
        "port": str(parts.port or query.get("port") or 5432),
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "dbname": unquote(parts.path.lstrip("/") or "postgres"),
    }
