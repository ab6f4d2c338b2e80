"""Moderators review new memes: their blended list is mostly the least-sent memes (issue 3)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from tests.dbt.conftest import RunDbt, build_from_scratch, load_feed
from tests.dbt.feed_dataset import FRESH_EN_READERS, FeedDataset

MODERATOR, READER = FRESH_EN_READERS[0], FRESH_EN_READERS[1]
HEAD_OF_LIST = 8


async def test_a_moderators_list_leads_with_least_sent_memes_and_a_readers_does_not(
    db_pool: asyncpg.Pool, run_dbt: RunDbt
) -> None:
    await load_feed(db_pool, FeedDataset.build(datetime.now(UTC)))
    await db_pool.execute("update app.\"user\" set type = 'moderator' where id = $1", MODERATOR)

    result = build_from_scratch(run_dbt)
    assert result.returncode == 0, result.stdout[-6000:]

    def head(rows: list[asyncpg.Record], user_id: int) -> list[str]:
        return [row["engine"] for row in rows if row["user_id"] == user_id][:HEAD_OF_LIST]

    rows = await db_pool.fetch(
        """
        select user_id, engine from recommendations.user_candidates
        where user_id = any($1::bigint[]) order by user_id, rank
        """,
        [MODERATOR, READER],
    )
    moderator, reader = head(rows, MODERATOR), head(rows, READER)
    assert len(moderator) == len(reader) == HEAD_OF_LIST
    # 75% of the list once the first slot is taken: at least 5 of the first 8.
    assert moderator.count("less_seen") >= 5, moderator
    assert reader.count("less_seen") <= 1, reader
