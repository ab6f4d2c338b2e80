"""Simulated users driving a PTB Application in process through a recording request.

Each user sends /start, then reacts to the meme it was last sent, read from the recorded
sendPhoto / editMessageMedia call of its chat (the callback data of the like button). Latency
is measured from just before `application.process_update` to the recorded call that delivered
the next meme (`at` is taken when the Bot API call is made); reactions per second are the
reactions finished over the wall time of the phase.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, Update
from telegram.ext import Application

from benchmarks.hot_path.dataset import BenchUser
from memefeed.recording_request import RecordingRequest

DELIVERY_METHODS = frozenset({"sendPhoto", "editMessageMedia"})
LIKE_CALLBACK = re.compile(r"r:(\d+):1")
LIKE_SHARE = 0.6
PROGRESS_INTERVAL = 2.0


@dataclass
class Delivery:
    meme_id: int
    message_id: int
    at: float


class BenchRequest(RecordingRequest):
    """The project's recording request, plus an index of each chat's latest meme.

    The full call list is dropped (kept only as counts per method) so memory stays flat.
    """

    def __init__(self) -> None:
        super().__init__()
        self.last_delivery: dict[int, Delivery] = {}
        self.deliveries = 0
        self.method_counts: dict[str, int] = {}
        self.other_messages: dict[int, int] = {}

    def _result_for(self, method: str, params: dict[str, Any]) -> Any:
        result = super()._result_for(method, params)
        self.calls.clear()
        self.method_counts[method] = self.method_counts.get(method, 0) + 1
        if method in DELIVERY_METHODS and isinstance(result, dict):
            match = LIKE_CALLBACK.search(str(params.get("reply_markup", "")))
            if match is not None:
                chat_id = int(params["chat_id"])
                self.last_delivery[chat_id] = Delivery(
                    int(match.group(1)), int(result["message_id"]), time.perf_counter()
                )
                self.deliveries += 1
        elif method == "sendMessage":
            chat_id = int(params.get("chat_id", 0))
            self.other_messages[chat_id] = self.other_messages.get(chat_id, 0) + 1
        return result


_update_ids = itertools.count(1)


def tg_user(user: BenchUser) -> dict[str, Any]:
    return {
        "id": user.user_id,
        "is_bot": False,
        "first_name": user.first_name,
        "language_code": user.language_code,
    }


def start_update(bot: Bot, user: BenchUser) -> Update:
    sender = tg_user(user)
    return Update.de_json(
        {
            "update_id": next(_update_ids),
            "message": {
                "message_id": next(_update_ids),
                "date": int(time.time()),
                "chat": {"id": user.user_id, "type": "private", "first_name": user.first_name},
                "from": sender,
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        },
        bot,
    )


def callback_update(bot: Bot, user: BenchUser, data: str, message_id: int) -> Update:
    sender = tg_user(user)
    return Update.de_json(
        {
            "update_id": next(_update_ids),
            "callback_query": {
                "id": str(next(_update_ids)),
                "from": sender,
                "chat_instance": str(user.user_id),
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": {
                        "id": user.user_id,
                        "type": "private",
                        "first_name": user.first_name,
                    },
                    "from": {"id": 1000001, "is_bot": True, "first_name": "memefeed"},
                    "photo": [{"file_id": "x", "file_unique_id": "x", "width": 1, "height": 1}],
                },
            },
        },
        bot,
    )


@dataclass
class PhaseResult:
    name: str
    reactions: int = 0
    delivered: int = 0
    undelivered: int = 0
    retries: int = 0
    wall_seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    finished_at: list[float] = field(default_factory=list)
    # user id -> (first, last) reaction finish time
    user_spans: dict[int, tuple[float, float]] = field(default_factory=dict)
    target_rate: float | None = None

    @property
    def reactions_per_second(self) -> float:
        return self.reactions / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def steady_reactions_per_second(self) -> float:
        """The rate while every user was active: from the last user's first reaction to the
        first user's last one.

        Users start and finish at random times, so the whole-phase rate mixes in a ramp up
        and a long tail (the slowest user), not the load the bot was carrying.
        """
        if not self.user_spans:
            return self.reactions_per_second
        start = max(first for first, _ in self.user_spans.values())
        end = min(last for _, last in self.user_spans.values())
        if end - start <= 0:
            return self.reactions_per_second
        inside = sum(1 for at in self.finished_at if start < at <= end)
        return inside / (end - start)

    def percentile(self, share: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=1000, method="inclusive")[
            round(share * 1000) - 1
        ]

    def summary(self) -> dict[str, Any]:
        return {
            "phase": self.name,
            "reactions": self.reactions,
            "delivered": self.delivered,
            "undelivered": self.undelivered,
            "retries": self.retries,
            "wall_seconds": round(self.wall_seconds, 3),
            "reactions_per_second": round(self.reactions_per_second, 1),
            "steady_reactions_per_second": round(self.steady_reactions_per_second, 1),
            "target_rate": self.target_rate,
            "p50_ms": round(self.percentile(0.5), 2),
            "p90_ms": round(self.percentile(0.9), 2),
            "p99_ms": round(self.percentile(0.99), 2),
            "max_ms": round(max(self.latencies_ms), 2) if self.latencies_ms else None,
        }


class Simulation:
    """Drives one Application (ours or the anchor's) with the same users and choices."""

    def __init__(
        self,
        application: Application,
        request: BenchRequest,
        users: list[BenchUser],
        *,
        seed: int,
        retry_callback: str,
    ) -> None:
        self.application = application
        self.request = request
        self.users = users
        self.rng = random.Random(seed)
        self.retry_callback = retry_callback
        self._choices = {
            user.user_id: random.Random(seed * 1_000_003 + user.user_id) for user in users
        }

    async def start_all(self, label: str) -> None:
        progress = Progress(label, len(self.users))

        async def one(user: BenchUser) -> None:
            await self.application.process_update(start_update(self.application.bot, user))
            progress.advance()

        await asyncio.gather(*(one(user) for user in self.users))
        progress.finish()

    async def run_phase(
        self,
        name: str,
        reactions_per_user: int,
        *,
        target_rate: float | None = None,
    ) -> PhaseResult:
        """Every user reacts `reactions_per_user` times, all users at once.

        With no `target_rate` each user reacts as soon as its next meme arrives (a closed
        loop: the throughput figure). With one, each user's reactions are due at exponential
        intervals with mean users / target_rate, so the offered load is about target_rate.
        """
        result = PhaseResult(name, target_rate=target_rate)
        total = len(self.users) * reactions_per_user
        progress = Progress(f"{name}", total)
        mean_think = len(self.users) / target_rate if target_rate else 0.0

        async def one(user: BenchUser) -> None:
            choices = self._choices[user.user_id]
            # Arrivals are scheduled on the clock, not after each reply, so the offered load
            # stays at target_rate whatever the latency (an open loop per user).
            next_at = time.perf_counter() + choices.uniform(0, 2 * mean_think)
            for _ in range(reactions_per_user):
                if mean_think:
                    next_at += choices.expovariate(1.0 / mean_think)
                    await asyncio.sleep(max(next_at - time.perf_counter(), 0.0))
                await self._react(user, choices, result)
                progress.advance()

        started = time.perf_counter()
        await asyncio.gather(*(one(user) for user in self.users))
        result.wall_seconds = time.perf_counter() - started
        progress.finish()
        return result

    async def _react(self, user: BenchUser, choices: random.Random, result: PhaseResult) -> None:
        bot = self.application.bot
        current = self.request.last_delivery.get(user.user_id)
        if current is None:
            # Nothing to react to ("memes ended" or "queue preparing"): press its button.
            update = callback_update(bot, user, self.retry_callback, 1)
            result.retries += 1
        else:
            reaction = 1 if choices.random() < LIKE_SHARE else 2
            update = callback_update(
                bot, user, f"r:{current.meme_id}:{reaction}", current.message_id
            )
        started = time.perf_counter()
        await self.application.process_update(update)
        after = self.request.last_delivery.get(user.user_id)
        if current is not None:
            result.reactions += 1
            finished = time.perf_counter()
            result.finished_at.append(finished)
            first, _ = result.user_spans.get(user.user_id, (finished, finished))
            result.user_spans[user.user_id] = (first, finished)
        if after is not None and after is not current and after.at >= started:
            result.delivered += 1
            if current is not None:
                result.latencies_ms.append((after.at - started) * 1e3)
        else:
            result.undelivered += 1
            self.request.last_delivery.pop(user.user_id, None)


class Progress:
    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.started = time.perf_counter()
        self.last_print = self.started

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.perf_counter()
        if now - self.last_print >= PROGRESS_INTERVAL:
            self.last_print = now
            self._print(now)

    def finish(self) -> None:
        self._print(time.perf_counter())

    def _print(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        share = self.done / self.total if self.total else 1.0
        print(
            f"    {self.label}: {self.done:,}/{self.total:,} ({share:.0%}), "
            f"{self.done / elapsed:,.0f}/s, {elapsed:.1f} s",
            flush=True,
        )
