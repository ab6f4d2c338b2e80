"""Admin alerts reach the admin chat through the Bot API (the local emulator), with a cooldown.

The cooldown is judged at explicit times (`now=`), so nothing here waits for a clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    SensorResult,
    build_run_status_sensor_context,
    build_sensor_context,
)

from memefeed.settings import Settings
from memefeed.telegram_emulator import DEFAULT_TOKEN, EmulatorThread, TelegramEmulator
from orchestration.definitions import build_definitions
from orchestration.defs.alerts import CheckAlert, admin_alert_on_run_failure, check_alerts_sensor
from orchestration.defs.resources import MemefeedResource
from orchestration.lib.alerts import AdminAlerts, AlertDeliveryError, AlertOutcome

pytestmark = pytest.mark.integration

ADMIN_CHAT = -1001234567891
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
COOLDOWN = timedelta(minutes=30)
GHOSTS = AssetKey(["monitoring", "ghost_users"])
ERROR_WINDOW = AssetCheckKey(GHOSTS, "ghost_users_in_error_window")
WARN_WINDOW = AssetCheckKey(GHOSTS, "ghost_users_in_warn_window")


@dataclass
class AdminChat:
    emulator: TelegramEmulator
    runner: EmulatorThread

    @property
    def api_base_url(self) -> str:
        return self.runner.urls.api_base_url

    def texts(self) -> list[str]:
        return [message.text or "" for message in self.emulator.chat_messages(ADMIN_CHAT)]


@pytest.fixture
async def alert_log(db_pool: asyncpg.Pool) -> asyncpg.Pool:
    await db_pool.execute("truncate ops.alert_log")
    return db_pool


@pytest.fixture
def admin_chat() -> Iterator[AdminChat]:
    emulator = TelegramEmulator(DEFAULT_TOKEN)
    emulator.create_chat(ADMIN_CHAT, chat_type="supergroup", title="memefeed admins")
    with emulator.serve_in_thread() as runner:
        yield AdminChat(emulator, runner)


def _alerts(database_url: str, api_base_url: str, **overrides: object) -> AdminAlerts:
    fields: dict[str, object] = {
        "database_url": database_url,
        "api_base_url": api_base_url,
        "bot_token": DEFAULT_TOKEN,
        "admin_chat_id": ADMIN_CHAT,
        "cooldown": COOLDOWN,
    }
    return AdminAlerts(**(fields | overrides))  # type: ignore[arg-type]


def _resource(database_url: str, admin_chat: AdminChat, cooldown_minutes: int) -> MemefeedResource:
    return MemefeedResource(
        database_url=database_url,
        telegram_api_base_url=admin_chat.api_base_url,
        telegram_bot_token=DEFAULT_TOKEN,
        admin_chat_id=ADMIN_CHAT,
        alert_cooldown_minutes=cooldown_minutes,
    )


def test_an_alert_repeated_within_the_cooldown_is_held_back_and_sent_after_it(
    alert_log: asyncpg.Pool, database_url: str, admin_chat: AdminChat
) -> None:
    alerts = _alerts(database_url, admin_chat.api_base_url)

    first = alerts.send("ghost_users", "3 ghost users", now=T0)
    repeat = alerts.send("ghost_users", "4 ghost users", now=T0 + COOLDOWN - timedelta(seconds=1))
    other_key = alerts.send("run_failure:feed_refresh:X", "feed_refresh failed", now=T0)
    after = alerts.send("ghost_users", "5 ghost users", now=T0 + COOLDOWN)

    assert (first, repeat, other_key, after) == (
        AlertOutcome.SENT,
        AlertOutcome.SUPPRESSED,
        AlertOutcome.SENT,
        AlertOutcome.SENT,
    )
    texts = admin_chat.texts()
    assert texts[:2] == ["3 ghost users", "feed_refresh failed"]
    assert texts[2].startswith("5 ghost users")
    assert "1 repeats of this alert were held back" in texts[2]
    assert len(texts) == 3


async def test_the_alert_log_keeps_when_each_key_was_sent_and_what_was_held_back(
    alert_log: asyncpg.Pool, database_url: str, admin_chat: AdminChat
) -> None:
    alerts = _alerts(database_url, admin_chat.api_base_url)
    alerts.send("ghost_users", "1", now=T0)
    alerts.send("ghost_users", "2", now=T0 + timedelta(minutes=1))
    alerts.send("ghost_users", "3", now=T0 + timedelta(minutes=2))

    row = await alert_log.fetchrow("select * from ops.alert_log where alert_key = 'ghost_users'")

    assert row is not None
    assert (row["last_sent_at"], row["sent_count"], row["suppressed_count"]) == (T0, 1, 2)
    assert row["last_suppressed_at"] == T0 + timedelta(minutes=2)


def test_a_failed_delivery_records_nothing_so_the_next_attempt_sends(
    alert_log: asyncpg.Pool, database_url: str, admin_chat: AdminChat
) -> None:
    unknown_chat = _alerts(database_url, admin_chat.api_base_url, admin_chat_id=-100777)

    with pytest.raises(AlertDeliveryError, match="chat not found") as raised:
        unknown_chat.send("ghost_users", "lost", now=T0)
    assert DEFAULT_TOKEN not in str(raised.value)

    alerts = _alerts(database_url, admin_chat.api_base_url)
    assert alerts.send("ghost_users", "delivered", now=T0) == AlertOutcome.SENT
    assert admin_chat.texts() == ["delivered"]


def test_without_a_token_or_an_admin_chat_nothing_is_sent(
    alert_log: asyncpg.Pool, database_url: str, admin_chat: AdminChat
) -> None:
    no_chat = _alerts(database_url, admin_chat.api_base_url, admin_chat_id=None)
    no_token = _alerts(database_url, admin_chat.api_base_url, bot_token=None)

    assert no_chat.send("ghost_users", "x", now=T0) == AlertOutcome.NOT_CONFIGURED
    assert no_token.send("ghost_users", "x", now=T0) == AlertOutcome.NOT_CONFIGURED
    assert admin_chat.texts() == []


def test_a_failed_run_alerts_the_admin_chat_once_per_cooldown(
    alert_log: asyncpg.Pool, database_url: str, admin_chat: AdminChat
) -> None:
    # No bot token: the media pipeline step of the ingestion job fails, as it would in production.
    settings = Settings(DATABASE_URL=database_url, TELEGRAM_BOT_TOKEN=None, LOCAL_MEMES_DIR=None)
    job = build_definitions(settings).resolve_job_def("ingest_local_folder")
    resource = _resource(database_url, admin_chat, cooldown_minutes=60)

    with DagsterInstance.ephemeral() as instance:
        for _ in range(2):
            result = job.execute_in_process(instance=instance, raise_on_error=False)
            assert not result.success
            failure = instance.all_logs(result.run_id, of_type=DagsterEventType.RUN_FAILURE)
            context = build_run_status_sensor_context(
                sensor_name=admin_alert_on_run_failure.name,
                dagster_event=failure[0].get_dagster_event(),
                dagster_instance=instance,
                dagster_run=result.dagster_run,
                resources={"memefeed": resource},
            ).for_run_failure()
            admin_alert_on_run_failure(context)

    texts = admin_chat.texts()
    assert len(texts) == 1, texts
    assert "Dagster run failed: ingest_local_folder" in texts[0]
    assert "failed steps: app__meme" in texts[0]
    assert "RuntimeError: TELEGRAM_BOT_TOKEN and STORAGE_CHAT_ID are needed" in texts[0]


def _report_check(instance: DagsterInstance, key: AssetCheckKey, *, failed_rows: int) -> None:
    """An evaluation shaped like dagster-dbt's for a dbt test (the real one: test_ops_flow)."""
    instance.report_runless_asset_event(
        AssetCheckEvaluation(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=failed_rows == 0,
            severity=AssetCheckSeverity.ERROR,
            metadata={"dagster_dbt/failed_row_count": failed_rows},
        )
    )


def test_each_newly_failed_check_execution_alerts_once(
    alert_log: asyncpg.Pool, database_url: str, admin_chat: AdminChat
) -> None:
    sensor = check_alerts_sensor(
        [
            CheckAlert(
                key="ghost_users",
                title="Ghost users",
                checks=[ERROR_WINDOW, WARN_WINDOW],
                advice="See monitoring.ghost_users.",
            )
        ]
    )
    # no cooldown: what holds back a repeat here is the cursor alone
    resource = _resource(database_url, admin_chat, cooldown_minutes=0)

    with DagsterInstance.ephemeral() as instance:

        def tick(cursor: str | None) -> str | None:
            context = build_sensor_context(
                instance=instance, cursor=cursor, resources={"memefeed": resource}
            )
            result = sensor(context)
            assert isinstance(result, SensorResult)
            return result.cursor

        _report_check(instance, ERROR_WINDOW, failed_rows=2)
        _report_check(instance, WARN_WINDOW, failed_rows=0)
        cursor = tick(None)
        assert admin_chat.texts() == [
            "Ghost users\n- ghost_users_in_error_window (ERROR): 2 rows\n"
            "See monitoring.ghost_users."
        ]

        cursor = tick(cursor)  # the same executions: nothing new
        _report_check(instance, ERROR_WINDOW, failed_rows=0)
        cursor = tick(cursor)  # a passing execution: nothing to say
        assert len(admin_chat.texts()) == 1

        _report_check(instance, WARN_WINDOW, failed_rows=5)
        tick(cursor)
        assert len(admin_chat.texts()) == 2
        assert "ghost_users_in_warn_window (ERROR): 5 rows" in admin_chat.texts()[1]
