"""Request coalescing: concurrent callers share one round trip.

While a batch is in flight, new requests wait; when it returns they all go together in the
next one. A lone request still goes at once (no timer, no added delay at low load), and under
load one statement or script serves many reactions: less CPU per reaction on both sides of the
connection, and one commit for the whole batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

RequestT = TypeVar("RequestT")
ResultT = TypeVar("ResultT")


class Coalescer(Generic[RequestT, ResultT]):
    """Runs `run_batch` on everything submitted since the last batch started.

    `run_batch` gets the requests in submission order and returns one result per request, in
    the same order. If it raises, every request of that batch gets the exception.
    """

    def __init__(
        self,
        run_batch: Callable[[Sequence[RequestT]], Awaitable[Sequence[ResultT]]],
        *,
        max_batch: int = 256,
    ) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._pending: list[tuple[RequestT, asyncio.Future[ResultT]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self.batches = 0

    async def submit(self, request: RequestT) -> ResultT:
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[RequestT, asyncio.Future[ResultT]]] = []
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                self.batches += 1
                try:
                    results = await self._run_batch([request for request, _ in batch])
                    if len(results) != len(batch):
                        raise RuntimeError(
                            f"a batch of {len(batch)} requests gave {len(results)} results"
                        )
                except Exception as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._drainer = None
            # Cancelled mid-batch (shutdown): nobody may wait forever.
            for _, future in [*batch, *self._pending]:
                if not future.done():
                    future.cancel()
            self._pending.clear()

    async def close(self) -> None:
        """Let the batch in flight and those queued behind it finish."""
        if self._drainer is not None:
            await asyncio.gather(self._drainer, return_exceptions=True)
