"""Incremental builds equal a full refresh on the same data, late reactions included."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import yaml

from memefeed.settings import DBT_PROJECT_DIR
from tests.dbt.conftest import FIXTURE_VARS, RunDbt, build_from_scratch, load_feed
from tests.dbt.feed_dataset import (
    FRESH_EN_READERS,
    LOVED_MEME,
    RATERS,
    REACTION_TIME_WINDOW,
    RU_READER,
    UNREACTED_MEME,
    FeedDataset,
)

pytestmark = pytest.mark.integration

# Every incremental model, and the tables built from them; build timestamps are left out.
COMPARED_TABLES = (
    "intermediate.int_reactions_scored",
    "intermediate.int_reactions_sessionised",
    "intermediate.int_meme_reaction_stats",
    "intermediate.int_user_reaction_stats",
    "marts.fct_sessions",
    "marts.user_meme_source_stats",
    "marts.meme_stats",
    "marts.user_stats",
    "marts.meme_source_stats",
    "marts.metrics_engine_daily",
)
# The models are what is compared; their tests run in the other modules.
MODELS_ONLY = ("--resource-type", "model", "--resource-type", "seed")
BUILD_TIMESTAMPS = {"scored_at", "sessionised_at", "computed_at", "updated_at"}
# What a row replaced in the build that wrote it (int_reactions_scored.previous_*): build
# bookkeeping like the timestamps, different by design after a full refresh.
REPLACED_VERSION_PREFIX = "previous_"
# Where int_meme_reaction_stats keeps each meme's median: a window that grows with the times
# an incremental build puts in it, where a full refresh centres a new one. What is compared
# is what they hold: the median (sec_to_react) and the count of times.
MEDIAN_WINDOW_COLUMNS = {
    "reaction_times_below_window",
    "reaction_times_above_window",
    "median_window_low_sec",
    "median_window_high_sec",
    "median_window_times_sec",
}
INCREMENTAL_LOOKBACK_MINUTES: int = yaml.safe_load(
    (DBT_PROJECT_DIR / "dbt_project.yml").read_text()
)["vars"]["incremental_lookback_minutes"]


async def _snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
    return {table: await _snapshot_table(pool, table) for table in COMPARED_TABLES}


async def _snapshot_table(pool: asyncpg.Pool, table: str) -> list[tuple[object, ...]]:
    rows = await pool.fetch(f"select * from {table}")
    names = list(rows[0].keys()) if rows else []  # iterating a Record yields its values
    columns = [
        c
        for c in names
        if c not in BUILD_TIMESTAMPS | MEDIAN_WINDOW_COLUMNS
        and not c.startswith(REPLACED_VERSION_PREFIX)
    ]
    return sorted((tuple(_comparable(row[c]) for c in columns) for row in rows), key=repr)


def _comparable(value: object) -> object:
    return round(value, 9) if isinstance(value, float) else value


async def _unsent_memes(
    pool: asyncpg.Pool, user_id: int, count: int, excluding: list[int] | None = None
) -> list[int]:
    rows = await pool.fetch(
        "select id from app.meme where id <> all($2::bigint[]) and id not in ("
        "   select meme_id from app.user_meme_reaction where user_id = $1)"
        " order by id limit $3",
        user_id,
        excluding or [],
        count,
    )
    return [row["id"] for row in rows]


async def _liked_send(
    pool: asyncpg.Pool, user_id: int, meme_id: int, sent_at: datetime, reacted_at: datetime
) -> None:
    await pool.execute(
        "insert into app.user_meme_reaction"
        " (user_id, meme_id, recommended_by, sent_at, reaction_id, reacted_at)"
        " values ($1, $2, 'goat', $3, 1, $4)",
        user_id,
        meme_id,
        sent_at,
        reacted_at,
    )


async def _incremental_then_full_refresh(
    pool: asyncpg.Pool, run_dbt: RunDbt, model: str, table: str
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """`model` built incrementally, then fully refreshed: the table after each."""
    only = ("--select", model, "--vars", FIXTURE_VARS)
    incremental = run_dbt("run", *only)
    assert incremental.returncode == 0, incremental.stdout[-5000:]
    after_incremental = await _snapshot_table(pool, table)
    full = run_dbt("run", "--full-refresh", *only)
    assert full.returncode == 0, full.stdout[-5000:]
    return after_incremental, await _snapshot_table(pool, table)


@pytest.fixture(scope="module")
async def incremental_and_full(
    db_pool: asyncpg.Pool, run_dbt: RunDbt
) -> tuple[dict[str, list[tuple[object, ...]]], dict[str, list[tuple[object, ...]]]]:
    """Build, add sends and reactions (a late reaction, a re-made one), build incrementally,
    snapshot, then full-refresh and snapshot again."""
    now = datetime.now(UTC)
    await load_feed(db_pool, FeedDataset.build(now))
    first = build_from_scratch(run_dbt, *MODELS_ONLY)
    assert first.returncode == 0, first.stdout[-5000:]

    later = datetime.now(UTC)
    rater = RATERS[0]
    # a reaction that continues the newest stored session: that session's last row, written
    # by the first build, now has a successor (is_session_continued flips)
    newest = await db_pool.fetchrow(
        "select user_id, reacted_at from app.user_meme_reaction"
        " where reacted_at is not null order by reacted_at desc limit 1"
    )
    [continuing_meme] = await _unsent_memes(
        db_pool, newest["user_id"], 1, excluding=[13, 14, 16, 17, 34, UNREACTED_MEME]
    )
    await _liked_send(
        db_pool,
        newest["user_id"],
        continuing_meme,
        newest["reacted_at"] + timedelta(seconds=30),
        newest["reacted_at"] + timedelta(seconds=60),
    )
    # a late reaction: the send of the unreacted meme was counted by the first build
    await db_pool.execute(
        "update app.user_meme_reaction set reaction_id = 1, reacted_at = $3"
        " where user_id = $1 and meme_id = $2",
        rater,
        UNREACTED_MEME,
        later,
    )
    # a reaction re-made later (the bot stamps every tap): its old place in the user's first
    # session empties, so sessions before the new reactions change too
    await db_pool.execute(
        "update app.user_meme_reaction set reaction_id = 3 - reaction_id, reacted_at = $2"
        " where (user_id, meme_id) = ("
        "   select user_id, meme_id from app.user_meme_reaction"
        "   where user_id = $1 and reaction_id is not null and meme_id <> $3"
        "   order by reacted_at limit 1)",
        RATERS[1],
        later + timedelta(seconds=40),
        UNREACTED_MEME,
    )
    new_sends = [
        (rater, 16, later + timedelta(seconds=20), 2, later + timedelta(seconds=25)),
        (rater, 17, later + timedelta(seconds=30), None, None),
        (RATERS[1], 16, later, 1, later + timedelta(seconds=2)),
        (FRESH_EN_READERS[0], 13, later, 1, later + timedelta(seconds=3)),
        (FRESH_EN_READERS[0], 14, later + timedelta(seconds=5), 2, later + timedelta(seconds=9)),
        (RU_READER, 34, later - timedelta(hours=2), 1, later),
    ]
    await db_pool.executemany(
        "insert into app.user_meme_reaction"
        " (user_id, meme_id, recommended_by, sent_at, reaction_id, reacted_at)"
        " values ($1, $2, 'lr_smoothed', $3, $4, $5)",
        new_sends,
    )
    incremental = run_dbt("build", "--vars", FIXTURE_VARS, *MODELS_ONLY)
    assert incremental.returncode == 0, incremental.stdout[-5000:]
    after_incremental = await _snapshot(db_pool)

    full = build_from_scratch(run_dbt, *MODELS_ONLY)
    assert full.returncode == 0, full.stdout[-5000:]
    return after_incremental, await _snapshot(db_pool)


@pytest.mark.parametrize("table", COMPARED_TABLES)
async def test_an_incremental_build_equals_a_full_refresh(
    incremental_and_full: tuple[dict[str, list[tuple[object, ...]]], ...], table: str
) -> None:
    after_incremental, after_full_refresh = incremental_and_full

    assert after_incremental[table] == after_full_refresh[table]


async def test_the_late_reaction_and_the_new_sends_are_counted(
    incremental_and_full: tuple[dict[str, list[tuple[object, ...]]], ...],
    db_pool: asyncpg.Pool,
) -> None:
    row = await db_pool.fetchrow(
        "select nlikes, nmemes_sent from marts.meme_stats where meme_id = $1", UNREACTED_MEME
    )
    assert (row["nlikes"], row["nmemes_sent"]) == (1, len(RATERS))
    sent = await db_pool.fetchval(
        "select nmemes_sent from marts.user_stats where user_id = $1", FRESH_EN_READERS[0]
    )
    assert sent == 2


async def test_memes_and_sources_whose_replaced_rows_were_never_counted_are_recounted(
    incremental_and_full: tuple[dict[str, list[tuple[object, ...]]], ...],
    db_pool: asyncpg.Pool,
    run_dbt: RunDbt,
) -> None:
    """int_reactions_scored built twice before int_meme_reaction_stats and
    user_meme_source_stats: the second build's rows replaced versions those models never
    counted, so moving the counts by the difference would subtract values that were never
    added. Those memes and (user, source) pairs are recounted, and each result equals a full
    refresh."""
    # after the module's full refresh: a reaction re-made and the scores built, twice (the
    # second build replaces the rows the first one wrote; a rebuild that changes nothing
    # writes nothing)
    scores_only = ("--select", "int_reactions_scored", "--vars", FIXTURE_VARS)
    for _ in range(2):
        await db_pool.execute(
            "update app.user_meme_reaction set reaction_id = 3 - reaction_id, reacted_at = now()"
            " where (user_id, meme_id) = ("
            "   select user_id, meme_id from app.user_meme_reaction"
            "   where user_id = $1 and reaction_id is not null"
            "   order by reacted_at desc limit 1)",
            RATERS[2],
        )
        scored = run_dbt("run", *scores_only)
        assert scored.returncode == 0, scored.stdout[-5000:]
    replaced_twice = await db_pool.fetchval(
        "select count(*) from intermediate.int_reactions_scored"
        " where previous_scored_at > (select max(scored_at)"
        "   from intermediate.int_meme_reaction_stats)"
    )
    assert replaced_twice > 0

    for model, table in (
        ("int_meme_reaction_stats", "intermediate.int_meme_reaction_stats"),
        ("user_meme_source_stats", "marts.user_meme_source_stats"),
    ):
        after_incremental, after_full = await _incremental_then_full_refresh(
            db_pool, run_dbt, model, table
        )
        assert after_incremental == after_full, model


async def test_days_whose_replaced_rows_were_never_counted_are_recounted(
    incremental_and_full: tuple[dict[str, list[tuple[object, ...]]], ...],
    db_pool: asyncpg.Pool,
    run_dbt: RunDbt,
) -> None:
    """The reaction models built twice before metrics_engine_daily, the second build
    replacing a row the first one wrote (a reaction that continues the session of one from
    between the builds): the daily metrics never counted that version, so moving by the
    difference would subtract a continuation never added. The day is recounted, and the result
    equals a full refresh."""
    user_id = RATERS[2]
    unsent = await _unsent_memes(db_pool, user_id, 2)
    assert len(unsent) == 2
    reaction_models = (
        "--select",
        "int_reactions_scored int_reactions_sessionised",
        "--vars",
        FIXTURE_VARS,
    )
    now = datetime.now(UTC)
    for meme_id, reacted_at in zip(unsent, (now - timedelta(seconds=30), now), strict=True):
        await _liked_send(db_pool, user_id, meme_id, reacted_at - timedelta(seconds=5), reacted_at)
        built = run_dbt("run", *reaction_models)
        assert built.returncode == 0, built.stdout[-5000:]
    replaced_uncounted = await db_pool.fetchval(
        "select count(*) from intermediate.int_reactions_sessionised"
        " where previous_sessionised_at > (select max(computed_at)"
        "   from marts.metrics_engine_daily)"
    )
    assert replaced_uncounted > 0

    after_incremental, after_full = await _incremental_then_full_refresh(
        db_pool, run_dbt, "metrics_engine_daily", "marts.metrics_engine_daily"
    )
    assert after_incremental == after_full


async def test_lists_are_rebuilt_for_new_sends_and_not_for_a_late_reaction_alone(
    incremental_and_full: tuple[dict[str, list[tuple[object, ...]]], ...],
    db_pool: asyncpg.Pool,
    run_dbt: RunDbt,
) -> None:
    """A user sent a meme since the last build gets a new list; a late reaction alone (a user
    scrolling back to a message of three days ago) leaves that user's list as it was, while
    the reaction still reaches the statistics."""
    sent_user, scrolling_user, old_meme = RATERS[3], RU_READER, 33
    lists_before = await _list_build_times(db_pool)
    likes_before = await db_pool.fetchval(
        "select nlikes from marts.meme_stats where meme_id = $1", old_meme
    )
    late = await db_pool.execute(
        "update app.user_meme_reaction set reaction_id = 1, reacted_at = now()"
        " where user_id = $1 and meme_id = $2 and reaction_id is null",
        scrolling_user,
        old_meme,
    )
    assert late == "UPDATE 1"
    [new_meme] = await _unsent_memes(db_pool, sent_user, 1)
    now = datetime.now(UTC)
    await _liked_send(db_pool, sent_user, new_meme, now, now + timedelta(seconds=4))

    built = run_dbt("build", "--vars", FIXTURE_VARS, *MODELS_ONLY)
    assert built.returncode == 0, built.stdout[-5000:]

    reasons = dict(
        await db_pool.fetch(
            "select user_id, rebuild_reason from intermediate.int_candidate_users"
            " where user_id = any($1::bigint[])",
            [sent_user, scrolling_user],
        )
    )
    assert reasons == {sent_user: "new sends", scrolling_user: None}
    lists_after = await _list_build_times(db_pool)
    assert lists_after[scrolling_user] == lists_before[scrolling_user]
    assert lists_after[sent_user] > lists_before[sent_user]
    likes_after = await db_pool.fetchval(
        "select nlikes from marts.meme_stats where meme_id = $1", old_meme
    )
    assert likes_after == likes_before + 1


async def _list_build_times(pool: asyncpg.Pool) -> dict[int, datetime]:
    rows = await pool.fetch(
        "select user_id, min(built_at) as built_at from recommendations.user_candidates"
        " group by user_id"
    )
    return {row["user_id"]: row["built_at"] for row in rows}


async def test_a_list_holding_a_withdrawn_meme_is_rebuilt_and_a_blocked_users_list_dropped(
    incremental_and_full: tuple[dict[str, list[tuple[object, ...]]], ...],
    db_pool: asyncpg.Pool,
    run_dbt: RunDbt,
) -> None:
    """A meme withdrawn after the lists were built (status 'ad') sends every list holding it to
    a rebuild without it; a user who blocked the bot loses their list; nobody else's list is
    rebuilt for either."""
    lists_before = await _list_build_times(db_pool)
    # the meme in the fewest lists, so that other lists stay as they were
    withdrawn_meme = await db_pool.fetchval(
        "select meme_id from recommendations.user_candidates"
        " group by meme_id order by count(*), meme_id limit 1"
    )
    holders = {
        row["user_id"]
        for row in await db_pool.fetch(
            "select user_id from recommendations.user_candidates where meme_id = $1",
            withdrawn_meme,
        )
    }
    # sent a meme within the lookback of the last build: rebuilt anyway, for 'new sends'
    recent_senders = {
        row["user_id"]
        for row in await db_pool.fetch(
            "select distinct user_id from app.user_meme_reaction where sent_at >"
            " (select max(built_at) from recommendations.user_candidates)"
            " - interval '1 minute' * $1",
            INCREMENTAL_LOOKBACK_MINUTES,
        )
    }
    assert holders - recent_senders, "the withdrawn meme's lists are all rebuilt anyway"
    blocking_user = max(set(lists_before) - holders - recent_senders)
    await db_pool.execute("update app.meme set status = 'ad' where id = $1", withdrawn_meme)
    await db_pool.execute(
        'update app."user" set blocked_bot_at = now() where id = $1', blocking_user
    )
    try:
        built = run_dbt("build", "--vars", FIXTURE_VARS, *MODELS_ONLY)
        assert built.returncode == 0, built.stdout[-5000:]

        reasons = dict(
            await db_pool.fetch(
                "select user_id, rebuild_reason from intermediate.int_candidate_users"
                " where needs_build"
            )
        )
        assert reasons == dict.fromkeys(holders - recent_senders, "unservable candidate") | (
            dict.fromkeys(recent_senders & set(lists_before), "new sends")
        )
        assert not await db_pool.fetchval(
            "select count(*) from recommendations.user_candidates where meme_id = $1",
            withdrawn_meme,
        )
        lists_after = await _list_build_times(db_pool)
        assert blocking_user not in lists_after
        for user_id in set(lists_before) - holders - recent_senders - {blocking_user}:
            assert lists_after[user_id] == lists_before[user_id], user_id
        for user_id in holders:
            assert lists_after[user_id] > lists_before[user_id], user_id
    finally:
        await db_pool.execute("update app.meme set status = 'ok' where id = $1", withdrawn_meme)
        await db_pool.execute(
            'update app."user" set blocked_bot_at = null where id = $1', blocking_user
        )


# The models whose builds record their watermark: table, time column, build stamp column.
STAMPED_MODELS = (
    ("intermediate.int_reactions_scored", "changed_at", "scored_at"),
    ("intermediate.int_reactions_sessionised", "reacted_at", "sessionised_at"),
)


async def test_builds_record_their_watermark_and_ignore_a_missing_or_stale_record(
    incremental_and_full: tuple[dict[str, list[tuple[object, ...]]], ...],
    db_pool: asyncpg.Pool,
    run_dbt: RunDbt,
) -> None:
    """Each build of a stamped model records max(time) over the rows it wrote, the watermark
    the next build would otherwise compute from the rows of the latest build. A record that
    is missing, or that another build wrote (its stamp is not the table's newest), is not
    trusted: here the stale one claims a watermark a day ahead, which would hide the new send
    from the next build; the builds compute the watermark instead and equal a full refresh."""
    for table, time_column, stamp_column in STAMPED_MODELS:
        recorded = await db_pool.fetchval(
            "select watermark from intermediate.build_watermarks where model_relation like $1",
            f'%"{table.split(".")[1]}"',
        )
        computed = await db_pool.fetchval(
            f"select max({time_column}) from {table}"
            f" where {stamp_column} = (select max({stamp_column}) from {table})"
        )
        assert recorded == computed, table

    scored, sessionised = (f'%"{table.split(".")[1]}"' for table, _, _ in STAMPED_MODELS)
    await db_pool.execute(
        "update intermediate.build_watermarks"
        " set watermark = now() + interval '1 day', build_stamp = build_stamp - interval '1 hour'"
        " where model_relation like $1",
        scored,
    )
    await db_pool.execute(
        "delete from intermediate.build_watermarks where model_relation like $1", sessionised
    )
    rater = RATERS[3]
    [meme] = await _unsent_memes(db_pool, rater, 1)
    sent_at = datetime.now(UTC)
    await _liked_send(db_pool, rater, meme, sent_at, sent_at + timedelta(seconds=4))

    for table, _, _ in STAMPED_MODELS:
        model = table.split(".")[1]
        after_incremental, after_full = await _incremental_then_full_refresh(
            db_pool, run_dbt, model, table
        )
        assert after_incremental == after_full, model
        # user_id and meme_id lead both tables' columns
        assert (rater, meme) in {row[:2] for row in after_incremental}, model


async def test_window_tables_emptied_by_a_crash_are_rebuilt_and_counted_once(
    incremental_and_full: tuple[dict[str, list[tuple[object, ...]]], ...],
    db_pool: asyncpg.Pool,
    run_dbt: RunDbt,
) -> None:
    """int_reactions_scored and int_reactions_sessionised are unlogged: crash recovery empties
    them (as `truncate` does here) while the logged models below them keep their counts. The
    next incremental build rebuilds both whole, and every model below them recounts instead of
    adding the whole history again: the result equals a full refresh."""
    assert set(
        await db_pool.fetchval(
            "select array_agg(relpersistence::text) from pg_class"
            " where oid = any(array['intermediate.int_reactions_scored'::regclass,"
            " 'intermediate.int_reactions_sessionised'::regclass])"
        )
    ) == {"u"}
    rater = RATERS[2]
    [meme] = await _unsent_memes(db_pool, rater, 1)
    sent_at = datetime.now(UTC)
    await _liked_send(db_pool, rater, meme, sent_at, sent_at + timedelta(seconds=6))
    await db_pool.execute(
        "truncate intermediate.int_reactions_scored, intermediate.int_reactions_sessionised"
    )

    incremental = run_dbt("build", "--vars", FIXTURE_VARS, *MODELS_ONLY)
    assert incremental.returncode == 0, incremental.stdout[-5000:]
    after_incremental = await _snapshot(db_pool)
    full = build_from_scratch(run_dbt, *MODELS_ONLY)
    assert full.returncode == 0, full.stdout[-5000:]
    after_full = await _snapshot(db_pool)
    for table in COMPARED_TABLES:
        assert after_incremental[table] == after_full[table], table
    assert (rater, meme) in {row[:2] for row in after_incremental[COMPARED_TABLES[0]]}


async def _median_window(pool: asyncpg.Pool, meme_id: int) -> asyncpg.Record:
    return await pool.fetchrow(
        "select median_window_low_sec, median_window_high_sec, median_window_times_sec,"
        " reaction_times_below_window, reaction_times_above_window"
        " from intermediate.int_meme_reaction_stats where meme_id = $1",
        meme_id,
    )


async def _medians_that_differ_from_percentile_cont(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch(
        """
        select stats.meme_id, stats.sec_to_react, coalesce(exact.median, 99999) as exact
        from intermediate.int_meme_reaction_stats as stats
        left join (
            select
                meme_id,
                percentile_cont(0.5) within group (order by reaction_time_sec) as median
            from intermediate.int_reactions_scored
            where reaction_time_sec between $1 and $2
            group by meme_id
        ) as exact on stats.meme_id = exact.meme_id
        where abs(stats.sec_to_react - coalesce(exact.median, 99999)) > 1e-9
        """,
        *REACTION_TIME_WINDOW,
    )


async def test_medians_stay_exact_as_times_pile_up_past_the_window_or_a_bound_is_removed(
    incremental_and_full: tuple[dict[str, list[tuple[object, ...]]], ...],
    db_pool: asyncpg.Pool,
    run_dbt: RunDbt,
) -> None:
    """Windows of one time on each side of the middle (FIXTURE_VARS). New users react to one
    meme, a few per build: times within the window are put in it and the bounds stay; slow
    times pile up above until the median would leave the window, and that build recounts the
    meme (a new window); a re-made reaction whose time was the low bound recounts it too.
    After every build each meme's median equals percentile_cont over its scored times."""
    meme = LOVED_MEME
    new_users = iter(range(201, 301))
    scores_and_stats = (
        "--select",
        "int_reactions_scored",
        "int_meme_reaction_stats",
        "--vars",
        FIXTURE_VARS,
    )

    async def react_and_build(reaction_seconds: list[float]) -> asyncpg.Record:
        sent_at = datetime.now(UTC)
        for seconds in reaction_seconds:
            user_id = next(new_users)
            await db_pool.execute(
                'insert into app."user" (id, nickname, created_at) values ($1, $2, $3)',
                user_id,
                f"user{user_id}",
                sent_at,
            )
            await _liked_send(
                db_pool, user_id, meme, sent_at, sent_at + timedelta(seconds=seconds)
            )
        built = run_dbt("run", *scores_and_stats)
        assert built.returncode == 0, built.stdout[-5000:]
        assert await _medians_that_differ_from_percentile_cont(db_pool) == []
        return await _median_window(db_pool, meme)

    await react_and_build([1.0, 1.5, 3.0, 3.5])
    centred = run_dbt(
        "run", "--full-refresh", "--select", "int_meme_reaction_stats", "--vars", FIXTURE_VARS
    )
    assert centred.returncode == 0, centred.stdout[-5000:]
    windows = [await _median_window(db_pool, meme)]
    low, high = windows[0]["median_window_low_sec"], windows[0]["median_window_high_sec"]
    assert math.isfinite(low)
    assert math.isfinite(high)
    within = [low + (high - low) * share for share in (0.5, 0.25, 0.75)]

    windows.append(await react_and_build([within[0], 40.0, 45.0]))  # one within, two above
    windows.append(await react_and_build([*within[1:], 50.0, 55.0]))  # two within, two above
    bounds = [(w["median_window_low_sec"], w["median_window_high_sec"]) for w in windows]
    assert bounds == [(low, high)] * 3
    sizes = [len(w["median_window_times_sec"]) for w in windows]
    assert [size - sizes[0] for size in sizes] == [0, 1, 3]
    above = [w["reaction_times_above_window"] for w in windows]
    assert [count - above[0] for count in above] == [0, 2, 4]
    assert {w["reaction_times_below_window"] for w in windows} == {
        windows[0]["reaction_times_below_window"]
    }

    # slow times only, until the median would leave the window: recounted, a new window
    for _ in range(5):
        windows.append(await react_and_build([56.0, 57.0, 58.0, 59.0]))
        latest_bounds = (
            windows[-1]["median_window_low_sec"],
            windows[-1]["median_window_high_sec"],
        )
        if latest_bounds != (low, high):
            break
    assert latest_bounds != (low, high)
    bounds.append(latest_bounds)

    # a reaction re-made later: its old time, the window's low bound, leaves the meme
    bound_send = await db_pool.fetchrow(
        "select user_id, sent_at from intermediate.int_reactions_scored"
        " where meme_id = $1 and reaction_time_sec = $2",
        meme,
        bounds[-1][0],
    )
    await db_pool.execute(
        "update app.user_meme_reaction set reacted_at = sent_at + interval '6 seconds'"
        " where user_id = $1 and meme_id = $2",
        bound_send["user_id"],
        meme,
    )
    built = run_dbt("run", *scores_and_stats)
    assert built.returncode == 0, built.stdout[-5000:]
    assert await _medians_that_differ_from_percentile_cont(db_pool) == []
    after_removal = await _median_window(db_pool, meme)
    assert after_removal["median_window_low_sec"] != bounds[-1][0]

    after_incremental, after_full = await _incremental_then_full_refresh(
        db_pool, run_dbt, "int_meme_reaction_stats", "intermediate.int_meme_reaction_stats"
    )
    assert after_incremental == after_full
