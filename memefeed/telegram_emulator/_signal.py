"""Wake-ups that cross threads and event loops.

The emulator's state is shared by the server's event loop (Bot API requests), by simulated users
running in the same loop or in another thread's loop, and by plain threads. An asyncio.Condition
belongs to one loop, so waiters register here with their own loop (or a threading.Event) and each
state change wakes them through ``call_soon_threadsafe``; they then re-check their condition.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import TypeVar

ResultT = TypeVar("ResultT")


class ChangeSignal:
    """Lets any number of waiters, in any loop or thread, sleep until something changed."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._loop_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._thread_waiters: set[threading.Event] = set()

    def notify(self) -> None:
        with self._guard:
            loop_waiters = list(self._loop_waiters)
            thread_waiters = list(self._thread_waiters)
        for loop, event in loop_waiters:
            # A waiter whose loop has already shut down has nobody left to wake.
            if loop.is_closed():
                continue
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                continue
        for thread_event in thread_waiters:
            thread_event.set()

    async def wait_for(
        self,
        check: Callable[[], ResultT | None],
        timeout: float,  # noqa: ASYNC109 - a deadline in seconds is this primitive's contract
    ) -> ResultT | None:
        """Return the first non-None ``check()`` result, or None once ``timeout`` has passed.

        ``check`` runs at least once, so a zero timeout is a plain poll. Exceptions from
        ``check`` propagate to the caller.
        """
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        waiter = (loop, event)
        with self._guard:
            self._loop_waiters.add(waiter)
        try:
            deadline = loop.time() + max(timeout, 0.0)
            while True:
                # Cleared before checking, so a change between check and sleep is not missed.
                event.clear()
                result = check()
                if result is not None:
                    return result
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
        finally:
            with self._guard:
                self._loop_waiters.discard(waiter)

    def wait_for_blocking(
        self, check: Callable[[], ResultT | None], timeout: float
    ) -> ResultT | None:
        """The same as :meth:`wait_for` for plain threads; never call it inside an event loop."""
        event = threading.Event()
        with self._guard:
            self._thread_waiters.add(event)
        try:
            deadline = time.monotonic() + max(timeout, 0.0)
            while True:
                event.clear()
                result = check()
                if result is not None:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                event.wait(remaining)
        finally:
            with self._guard:
                self._thread_waiters.discard(event)
