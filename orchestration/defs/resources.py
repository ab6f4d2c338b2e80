"""Resources: one configuration object built from the shared settings, and the dbt CLI."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from dagster import ConfigurableResource, EnvVar
from dagster_dbt import DbtCliResource

from memefeed.settings import Settings
from orchestration.lib.alerts import AdminAlerts
from orchestration.lib.dbt_project import memefeed_dbt_project


class MemefeedResource(ConfigurableResource):
    """Where the data lives and how media reach Telegram's storage chat."""

    database_url: str
    redis_url: str | None = None
    telegram_api_base_url: str
    telegram_bot_token: str | None = None
    storage_chat_id: int | None = None
    local_memes_dir: str | None = None
    local_memes_language: str = "en"
    telegram_channels: list[str] = []  # noqa: RUF012 - pydantic copies defaults
    watermark_text: str = "@memefeed_bot"
    # Alerts to the admin chat, at most once per cooldown per alert (orchestration/lib/alerts.py).
    admin_chat_id: int | None = None
    alert_cooldown_minutes: int = 60
    dagster_ui_url: str | None = None
    # The new-reactions sensor refreshes the feed early once this many reactions arrived.
    feed_refresh_min_new_reactions: int = 200

    @classmethod
    def from_settings(cls, settings: Settings) -> MemefeedResource:
        return cls(
            # Resolved when a run starts, so the definitions load without a database.
            database_url=settings.database_url or EnvVar("DATABASE_URL"),
            redis_url=settings.redis_url,
            telegram_api_base_url=settings.telegram_api_base_url,
            telegram_bot_token=(
                settings.telegram_bot_token.get_secret_value()
                if settings.telegram_bot_token
                else None
            ),
            storage_chat_id=settings.storage_chat_id,
            local_memes_dir=str(settings.local_memes_dir) if settings.local_memes_dir else None,
            telegram_channels=settings.telegram_channels,
            watermark_text=settings.watermark_text,
            admin_chat_id=settings.admin_chat_id,
            alert_cooldown_minutes=settings.alert_cooldown_minutes,
            dagster_ui_url=settings.dagster_ui_url,
            feed_refresh_min_new_reactions=settings.feed_refresh_min_new_reactions,
        )

    def admin_alerts(self) -> AdminAlerts:
        return AdminAlerts(
            database_url=self.database_url,
            api_base_url=self.telegram_api_base_url,
            bot_token=self.telegram_bot_token,
            admin_chat_id=self.admin_chat_id,
            cooldown=timedelta(minutes=self.alert_cooldown_minutes),
        )


def dbt_cli_resource() -> DbtCliResource:
    # The dbt of this interpreter's environment, whether or not that environment is on PATH.
    dbt_beside_python = Path(sys.executable).with_name("dbt")
    return DbtCliResource(
        project_dir=memefeed_dbt_project(),
        dbt_executable=str(dbt_beside_python) if dbt_beside_python.exists() else "dbt",
    )
