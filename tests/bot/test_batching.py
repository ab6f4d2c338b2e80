"""Coalesced round trips: reactions and queue pops that arrive together share one call."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import pytest
import redis.asyncio as aioredis
from telegram.ext import Application

from bot.batching import Coalescer
from bot.feed import Feed, QueuedMeme, queue_key
from bot.reactions import Reaction, ReactionOutcome, ReactionWriter, reaction_callback_data
from memefeed.recording_request import RecordingRequest
from tests.bot.helpers import sent_meme_ids
from tests.bot.updates import callback_update, command_update, tg_user
from tests.factories import create_memes


class Recorder:
    """A batch function that records its batches and can be held open or made to fail."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.fail_with: Exception | None = None

    async def __call__(self, requests: Sequence[int]) -> list[int]:
        self.batches.append(list(requests))
        await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return [request * 10 for request in requests]


async def test_a_lone_request_goes_at_once_and_gets_its_own_result() -> None:
    recorder = Recorder()
    coalescer: Coalescer[int, int] = Coalescer(recorder)

    assert await coalescer.submit(7) == 70
    assert recorder.batches == [[7]]


async def test_requests_arriving_while_a_batch_is_in_flight_share_the_next_one() -> None:
    recorder = Recorder()
    coalescer: Coalescer[int, int] = Coalescer(recorder)
    recorder.release.clear()
    first = asyncio.create_task(coalescer.submit(1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(coalescer.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)

    recorder.release.set()

    assert await first == 10
    assert [await task for task in waiting] == [20, 30, 40]
    assert recorder.batches == [[1], [2, 3, 4]]


async def test_batches_are_capped_in_size() -> None:
    recorder = Recorder()
    coalescer: Coalescer[int, int] = Coalescer(recorder, max_batch=2)

    results = await asyncio.gather(*(coalescer.submit(n) for n in range(5)))

    assert results == [0, 10, 20, 30, 40]
    assert [len(batch) for batch in recorder.batches] == [2, 2, 1]


async def test_a_failed_batch_fails_each_of_its_requests_and_the_next_batch_still_runs() -> None:
    recorder = Recorder()
    coalescer: Coalescer[int, int] = Coalescer(recorder)
    recorder.fail_with = ConnectionError("database went away")

    outcomes = await asyncio.gather(
        *(coalescer.submit(n) for n in range(3)), return_exceptions=True
    )

    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    recorder.fail_with = None
    assert await coalescer.submit(5) == 50


async def test_a_batch_function_that_loses_results_is_an_error_not_a_wrong_answer() -> None:
    async def drops_one(requests: Sequence[int]) -> list[int]:
        return list(requests)[:-1]

    coalescer: Coalescer[int, int] = Coalescer(drops_one)

    with pytest.raises(RuntimeError, match="gave 1 results"):
        await asyncio.gather(coalescer.submit(1), coalescer.submit(2))


async def _sent(pool: asyncpg.Pool, user_id: int, meme_id: int) -> None:
    await pool.execute(
        "insert into app.user_meme_reaction (user_id, meme_id, recommended_by) "
        "values ($1, $2, 'test')",
        user_id,
        meme_id,
    )


async def test_one_statement_records_a_mixed_batch_exactly_as_one_by_one(
    clean_db: asyncpg.Pool,
) -> None:
    memes = await create_memes(clean_db, 6)
    await clean_db.execute('insert into app."user" (id) values (601), (602)')
    await _sent(clean_db, 601, memes[0])
    await _sent(clean_db, 602, memes[1])
    await _sent(clean_db, 602, memes[2])
    await clean_db.execute(
        "update app.user_meme_reaction set reaction_id = 2, reacted_at = now() "
        "where user_id = 602 and meme_id = $1",
        memes[2],
    )
    writer = ReactionWriter(clean_db)
    next_for_601 = QueuedMeme(memes[3], "file", None, "lr_smoothed")

    results = await asyncio.gather(
        writer.record(601, memes[0], Reaction.LIKE, claim=next_for_601),
        # A double tap in the same batch counts once and claims nothing.
        writer.record(601, memes[0], Reaction.DISLIKE, claim=QueuedMeme(memes[4], "f", None, "x")),
        # Sent to another user only: a forgery.
        writer.record(601, memes[1], Reaction.LIKE, claim=QueuedMeme(memes[5], "f", None, "x")),
        writer.record(602, memes[1], Reaction.DISLIKE),
        # Reacted before this batch: a redelivered update.
        writer.record(602, memes[2], Reaction.LIKE),
    )

    assert writer.statements == 1
    assert [result.outcome for result in results] == [
        ReactionOutcome.RECORDED,
        ReactionOutcome.ALREADY_RECORDED,
        ReactionOutcome.NOT_SENT_TO_USER,
        ReactionOutcome.RECORDED,
        ReactionOutcome.ALREADY_RECORDED,
    ]
    assert results[0].claimed_next
    rows = await clean_db.fetch(
        "select user_id, meme_id, reaction_id, recommended_by "
        "from app.user_meme_reaction order by user_id, meme_id"
    )
    assert [tuple(row) for row in rows] == [
        (601, memes[0], 1, "test"),
        (601, memes[3], None, "lr_smoothed"),
        (602, memes[1], 2, "test"),
        (602, memes[2], 2, "test"),
    ]


async def test_one_script_pops_for_many_users_and_twice_for_one(
    clean_db: asyncpg.Pool, redis_client: aioredis.Redis
) -> None:
    feed = Feed(clean_db, redis_client)
    for user_id, meme_ids in ((611, [1, 2, 3]), (612, [9])):
        await redis_client.rpush(
            queue_key(user_id),
            *(QueuedMeme(meme_id, f"file-{meme_id}", None, "t").encode() for meme_id in meme_ids),
        )

    popped = await asyncio.gather(feed.pop(611), feed.pop(612), feed.pop(611), feed.pop(613))

    assert [p.meme.meme_id if p else None for p in popped] == [1, 9, 2, None]
    assert [p.left if p else None for p in popped] == [2, 0, 1, None]
    assert await redis_client.llen(queue_key(611)) == 1


async def test_concurrent_double_taps_through_the_bot_count_once_and_send_one_next_meme(
    bot_app: Application, clean_db: asyncpg.Pool, recording_request: RecordingRequest
) -> None:
    await create_memes(clean_db, 5)
    user = tg_user(620)
    await bot_app.process_update(command_update(bot_app.bot, user, "/start"))
    first = sent_meme_ids(recording_request)[0]
    like = reaction_callback_data(first, Reaction.LIKE)

    await asyncio.gather(
        *(bot_app.process_update(callback_update(bot_app.bot, user, like)) for _ in range(3))
    )

    sent = sent_meme_ids(recording_request)
    assert len(sent) == 2
    assert len(set(sent)) == 2
    answers = recording_request.calls_to("answerCallbackQuery")
    assert sum(1 for answer in answers if answer.params.get("text")) == 2
    rows = await clean_db.fetch(
        "select meme_id, reaction_id from app.user_meme_reaction where user_id = 620"
    )
    assert sorted((row["meme_id"], row["reaction_id"]) for row in rows) == sorted(
        [(first, 1), (sent[1], None)]
    )
