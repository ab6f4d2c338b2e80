"""Pushing updates to the bot's webhook, one at a time and in order, as Telegram does."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx

from memefeed.telegram_emulator._core import EmulatorCore

logger = logging.getLogger(__name__)

SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# How long the sender sleeps between checks when nothing wakes it; any new update wakes it.
_IDLE_RECHECK_SECONDS = 60.0


async def deliver_webhook_updates(
    core: EmulatorCore, *, attempts: int, retry_delay_seconds: float, request_timeout: float
) -> None:
    """Run until cancelled: POST every pending update to the webhook while one is set.

    A failed delivery is retried ``attempts`` times with doubling delays; then, unlike Telegram
    (which keeps trying for hours), the update is dropped so a broken receiver cannot stall a
    demo, and the failure shows in getWebhookInfo's last_error_message.
    """
    async with httpx.AsyncClient(timeout=request_timeout, trust_env=False) as client:
        while True:
            delivery = await core.updates_changed.wait_for(
                core.next_webhook_delivery, _IDLE_RECHECK_SECONDS
            )
            if delivery is None:
                continue
            headers = {"Content-Type": "application/json"}
            if delivery.secret_token:
                headers[SECRET_TOKEN_HEADER] = delivery.secret_token
            body = json.dumps(delivery.update).encode("utf-8")
            error: str | None = None
            for attempt in range(attempts):
                try:
                    response = await client.post(delivery.url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    error = f"Connection failed: {exc!r}"
                else:
                    if response.is_success:
                        error = None
                        break
                    error = (
                        f"Wrong response from the webhook: {response.status_code} "
                        f"{response.reason_phrase}"
                    )
                if attempt + 1 < attempts:
                    await asyncio.sleep(retry_delay_seconds * 2**attempt)
            if error is not None:
                logger.warning(
                    "webhook gave up on update %s: %s", delivery.update["update_id"], error
                )
            core.finish_webhook_delivery(delivery.update["update_id"], error)
