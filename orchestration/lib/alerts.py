"""Alerts to the admin chat through the Bot API, each alert key at most once per cooldown.

`ops.alert_log` (migration 0004) keeps, per alert key, when it was last sent and how many
repeats the cooldown swallowed since; the row is locked while one sender decides, so two
sensors (or two daemons) raising the same alert at once send it once.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from ingestion.db import connect

log = logging.getLogger(__name__)

# Telegram rejects longer messages.
MAX_MESSAGE_CHARS = 4000


class AlertOutcome(enum.Enum):
    SENT = "sent"
    SUPPRESSED = "suppressed"  # the same key was sent less than a cooldown ago
    NOT_CONFIGURED = "not_configured"  # no bot token or no ADMIN_CHAT_ID


class AlertDeliveryError(RuntimeError):
    """The Bot API did not take the message; the alert stays unsent, to be retried."""


@dataclass(frozen=True)
class AdminAlerts:
    database_url: str
    api_base_url: str  # the part before the token, like TELEGRAM_API_BASE_URL
    bot_token: str | None
    admin_chat_id: int | None
    cooldown: timedelta
    timeout_seconds: float = 10.0

    @property
    def configured(self) -> bool:
        return bool(self.bot_token) and self.admin_chat_id is not None

    def send(self, key: str, text: str, *, now: datetime | None = None) -> AlertOutcome:
        """Post `text` to the admin chat unless `key` was sent less than a cooldown before `now`.

        A suppressed repeat is counted, and the next delivered alert of the key says how many
        there were. Raises `AlertDeliveryError` if the Bot API fails (nothing is recorded).
        """
        if not self.configured:
            log.warning("alert %s not sent (no bot token or ADMIN_CHAT_ID): %s", key, text)
            return AlertOutcome.NOT_CONFIGURED
        now = now or datetime.now(UTC)
        with connect(self.database_url) as connection, connection.cursor() as cursor:
            cursor.execute(
                """
                insert into ops.alert_log (alert_key) values (%s)
                on conflict (alert_key) do nothing
                """,
                (key,),
            )
            cursor.execute(
                """
                select last_sent_at, suppressed_count from ops.alert_log
                where alert_key = %s for update
                """,
                (key,),
            )
            row = cursor.fetchone()
            assert row is not None
            last_sent_at, suppressed = row
            if last_sent_at is not None and last_sent_at > now - self.cooldown:
                cursor.execute(
                    """
                    update ops.alert_log
                    set suppressed_count = suppressed_count + 1, last_suppressed_at = %s
                    where alert_key = %s
                    """,
                    (now, key),
                )
                log.info("alert %s suppressed (last sent %s)", key, last_sent_at.isoformat())
                return AlertOutcome.SUPPRESSED
            if suppressed:
                text += f"\n\n({suppressed} repeats of this alert were held back by the cooldown.)"
            # Still holding the row lock: a concurrent sender of this key waits, then suppresses.
            self._post(text)
            cursor.execute(
                """
                update ops.alert_log
                set last_sent_at = %s, last_text = %s, sent_count = sent_count + 1,
                    suppressed_count = 0
                where alert_key = %s
                """,
                (now, text, key),
            )
        return AlertOutcome.SENT

    def _post(self, text: str) -> None:
        url = f"{self.api_base_url}{self.bot_token}/sendMessage"
        payload = {
            "chat_id": self.admin_chat_id,
            "text": text[:MAX_MESSAGE_CHARS],
            "disable_web_page_preview": True,
        }
        try:
            response = httpx.post(url, json=payload, timeout=self.timeout_seconds)
        except httpx.TransportError as error:
            # Never the URL in the message: it holds the bot token.
            raise AlertDeliveryError(f"sendMessage: {type(error).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not body.get("ok"):
            description = body.get("description") or f"HTTP {response.status_code}"
            raise AlertDeliveryError(f"sendMessage to the admin chat failed: {description}")
