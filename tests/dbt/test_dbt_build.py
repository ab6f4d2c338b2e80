"""`dbt build` on a small realistic dataset: green, right figures, a feed the bot can trust.

Expected figures come from tests/dbt/feed_dataset.py, which computes them in Python from the
same rows the test inserts.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import timedelta

import asyncpg
import pytest

from memefeed.settings import DBT_PROJECT_DIR
from tests.dbt.conftest import FIXTURE_VARS, RunDbt
from tests.dbt.feed_dataset import (
    DE_READER,
    FRESH_EN_READERS,
    HATED_MEME,
    LOVED_MEME,
    NO_LANGUAGE_USER,
    RATERS,
    RU_READER,
    SHARER,
    FeedDataset,
)

pytestmark = pytest.mark.integration

CANDIDATES_PER_USER = 100


async def _candidates(pool: asyncpg.Pool) -> dict[int, list[asyncpg.Record]]:
    rows = await pool.fetch("select * from recommendations.user_candidates order by user_id, rank")
    per_user: dict[int, list[asyncpg.Record]] = defaultdict(list)
    for row in rows:
        per_user[row["user_id"]].append(row)
    return per_user


async def test_meme_stats_counts_every_send_and_reaction(
    built_feed: FeedDataset, db_pool: asyncpg.Pool
) -> None:
    rows = {r["meme_id"]: r for r in await db_pool.fetch("select * from marts.meme_stats")}

    assert set(rows) == built_feed.servable_meme_ids()
    expected = built_feed.meme_counts()
    for meme_id, row in rows.items():
        nlikes, ndislikes, nmemes_sent = expected.get(meme_id, (0, 0, 0))
        assert (row["nlikes"], row["ndislikes"], row["nmemes_sent"]) == (
            nlikes,
            ndislikes,
            nmemes_sent,
        ), meme_id
    assert rows[LOVED_MEME]["nlikes"] == len(RATERS)
    assert rows[15]["nmemes_sent"] == len(RATERS)
    assert rows[15]["nlikes"] + rows[15]["ndislikes"] == 0


async def test_meme_stats_reaction_time_invites_age_and_views_rank(
    built_feed: FeedDataset, db_pool: asyncpg.Pool
) -> None:
    rows = {r["meme_id"]: r for r in await db_pool.fetch("select * from marts.meme_stats")}

    # 0.2 s and 61 s fall outside the 0.5-60 s window: the median of 2 s and 4 s
    assert rows[LOVED_MEME]["sec_to_react"] == pytest.approx(3.0)
    assert rows[LOVED_MEME]["sec_to_react"] == pytest.approx(built_feed.sec_to_react(LOVED_MEME))
    assert rows[40]["sec_to_react"] == 99999  # never sent
    assert rows[LOVED_MEME]["invited_count"] == 2 == built_feed.invited_count(LOVED_MEME)
    assert rows[21]["age_days"] == 10
    expected_ranks = built_feed.raw_impr_rank()
    assert {m: r["raw_impr_rank"] for m, r in rows.items()} == {m: expected_ranks[m] for m in rows}
    assert {r["raw_impr_rank"] for m, r in rows.items() if m <= 20} == {0, 1, 2, 3}


async def test_lr_smoothed_matches_an_independent_computation_over_all_history(
    built_feed: FeedDataset, db_pool: asyncpg.Pool
) -> None:
    actual = {
        r["meme_id"]: r["lr_smoothed"]
        for r in await db_pool.fetch("select meme_id, lr_smoothed from marts.meme_stats")
    }
    expected = built_feed.lr_smoothed()

    for meme_id, value in actual.items():
        assert value == pytest.approx(expected.get(meme_id, 0.0), abs=1e-9), meme_id
    assert actual[LOVED_MEME] > 0.5
    assert actual[HATED_MEME] < -0.5
    assert actual[1] == 0  # only reactions after a user's 10th count


async def test_user_stats_sessions_time_spent_and_invites(
    built_feed: FeedDataset, db_pool: asyncpg.Pool
) -> None:
    rows = {r["user_id"]: r for r in await db_pool.fetch("select * from marts.user_stats")}

    assert set(rows) == set(built_feed.users)
    for user_id in (*RATERS, RU_READER):
        lengths = built_feed.session_lengths(user_id)
        assert rows[user_id]["nsessions"] == len(lengths), user_id
        assert rows[user_id]["median_session_length"] == statistics.median(lengths), user_id
        assert rows[user_id]["time_spent_sec"] == built_feed.time_spent_sec(user_id), user_id
    # a 45-minute pause after 6 reactions; 102 also paused exactly 30 minutes after 11
    assert (rows[101]["nsessions"], rows[101]["median_session_length"]) == (2, 7)
    assert (rows[102]["nsessions"], rows[102]["median_session_length"]) == (3, 5)
    assert rows[101]["time_spent_sec"] == 12 * 30
    assert (rows[101]["nmemes_sent"], rows[101]["nlikes"] + rows[101]["ndislikes"]) == (15, 14)
    assert rows[SHARER]["invited_users"] == 2
    assert rows[DE_READER]["nmemes_sent"] == rows[DE_READER]["nsessions"] == 0
    assert rows[DE_READER]["first_reaction_at"] is None


async def test_user_candidates_never_repeat_a_sent_or_unservable_meme(
    built_feed: FeedDataset, db_pool: asyncpg.Pool
) -> None:
    candidates = await _candidates(db_pool)
    sent = built_feed.sent_pairs()
    servable = built_feed.servable_meme_ids()

    for user_id, rows in candidates.items():
        meme_ids = [row["meme_id"] for row in rows]
        assert not {(user_id, m) for m in meme_ids} & sent, user_id
        assert len(meme_ids) == len(set(meme_ids)), user_id
        assert set(meme_ids) <= servable, user_id


async def test_every_user_gets_all_unseen_memes_ranked_one_to_n(
    built_feed: FeedDataset, db_pool: asyncpg.Pool
) -> None:
    candidates = await _candidates(db_pool)
    sent = built_feed.sent_pairs()

    assert set(candidates) == set(built_feed.users)
    for user_id, rows in candidates.items():
        unseen = {m for m in built_feed.servable_meme_ids() if (user_id, m) not in sent}
        assert len(rows) == min(CANDIDATES_PER_USER, len(unseen)), user_id
        assert [row["rank"] for row in rows] == list(range(1, len(rows) + 1)), user_id
        assert len({row["built_at"] for row in rows}) == 1


async def test_user_candidates_put_the_users_languages_first_then_fall_back(
    built_feed: FeedDataset, db_pool: asyncpg.Pool
) -> None:
    candidates = await _candidates(db_pool)
    languages = built_feed.languages_of(built_feed.servable_meme_ids())

    russian = [languages[row["meme_id"]] == "ru" for row in candidates[RU_READER]]
    assert russian == sorted(russian, reverse=True)
    assert sum(russian) == 7  # 31-33 were sent
    assert {row["engine"] for row in candidates[RU_READER] if not russian[row["rank"] - 1]} == {
        "fallback_other_language"
    }
    for user_id in (*RATERS, *FRESH_EN_READERS):
        english = [languages[row["meme_id"]] == "en" for row in candidates[user_id]]
        assert english == sorted(english, reverse=True), user_id
    # nobody reads German here and 107 has no languages: both still get the whole catalogue
    for user_id in (DE_READER, NO_LANGUAGE_USER):
        assert len(candidates[user_id]) == len(built_feed.servable_meme_ids())
        assert {row["engine"] for row in candidates[user_id]} == {"fallback_other_language"}


async def test_fresh_readers_get_the_loved_meme_first_and_their_own_order(
    built_feed: FeedDataset, db_pool: asyncpg.Pool
) -> None:
    candidates = await _candidates(db_pool)
    first, second = (candidates[user_id] for user_id in FRESH_EN_READERS[1:])

    # the cold-start stage's fixed first slot is cold_start_explore's best meme
    assert (first[0]["meme_id"], first[0]["engine"]) == (LOVED_MEME, "cold_start_explore")
    assert (second[0]["meme_id"], second[0]["engine"]) == (LOVED_MEME, "cold_start_explore")
    assert {row["engine"] for row in first} >= {"cold_start_adapt", "exploration"}
    assert {row["meme_id"] for row in first} == {row["meme_id"] for row in second}
    assert [row["meme_id"] for row in first] != [row["meme_id"] for row in second]
    rank_of = {row["meme_id"]: row["rank"] for row in first}
    assert rank_of[LOVED_MEME] < rank_of[HATED_MEME]


async def test_cold_start_candidates_list_each_language_then_the_others(
    built_feed: FeedDataset, db_pool: asyncpg.Pool
) -> None:
    rows = await db_pool.fetch(
        "select * from recommendations.cold_start_candidates order by language_code, rank"
    )
    per_language: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        per_language[row["language_code"]].append(row["meme_id"])
    languages = built_feed.languages_of(built_feed.servable_meme_ids())

    assert set(per_language) == {"en", "ru", "de", "*"}
    for language, meme_ids in per_language.items():
        assert len(meme_ids) == len(set(meme_ids)) == len(languages), language
    assert {languages[m] for m in per_language["ru"][:10]} == {"ru"}
    assert {languages[m] for m in per_language["en"][:30]} == {"en"}
    assert per_language["en"][0] == LOVED_MEME
    assert per_language["de"] == per_language["*"]


async def test_no_user_is_left_without_candidates(
    built_feed: FeedDataset, db_pool: asyncpg.Pool
) -> None:
    starved = await db_pool.fetchval(
        "select count(*) from monitoring.user_candidate_coverage where is_starved or is_short"
    )
    assert starved == 0


@pytest.mark.parametrize("lists_of_one_build", [True, False], ids=["full_build", "partial_build"])
async def test_dbt_test_fails_when_a_candidate_was_already_sent(
    built_feed: FeedDataset, db_pool: asyncpg.Pool, run_dbt: RunDbt, lists_of_one_build: bool
) -> None:
    """Both forms of the check: one join when every list is the latest build's, lookups in the
    reactions' key for the lists of a partial build (the other users' lists older)."""
    user_id, meme_id = RATERS[0], LOVED_MEME
    other_lists_age = timedelta(0) if lists_of_one_build else timedelta(hours=1)
    shift_other_lists = """
        update recommendations.user_candidates
        set built_at = built_at + $2::interval
        where user_id <> $1
    """
    try:
        await db_pool.execute(shift_other_lists, user_id, -other_lists_age)
        await db_pool.execute(
            """
            insert into recommendations.user_candidates
                (user_id, meme_id, engine, score, rank, built_at)
            select user_id, $2, 'lr_smoothed', 1.0, max(rank) + 1, max(built_at)
            from recommendations.user_candidates where user_id = $1 group by user_id
            """,
            user_id,
            meme_id,
        )
        result = run_dbt("test", "--select", "assert_user_candidates_exclude_sent_memes")
    finally:
        await db_pool.execute(
            "delete from recommendations.user_candidates where user_id = $1 and meme_id = $2",
            user_id,
            meme_id,
        )
        await db_pool.execute(shift_other_lists, user_id, other_lists_age)

    assert result.returncode != 0
    assert "FAIL 1 assert_user_candidates_exclude_sent_memes" in result.stdout
    check = _compiled_query("already_sent as (")
    assert ("inner join reactions as sent" in check) == lists_of_one_build
    assert ("cross join lateral" in check) != lists_of_one_build


def _compiled_query(*fragments: str) -> str:
    """The one query dbt last compiled (target/compiled) that holds every fragment."""
    queries = (
        path.read_text() for path in (DBT_PROJECT_DIR / "target" / "compiled").rglob("*.sql")
    )
    (compiled,) = [sql for sql in queries if all(fragment in sql for fragment in fragments)]
    return compiled


SESSIONS_KEY_TEST = "unique_combination_of_columns_int_reactions_sessionised_user_id__meme_id"


async def test_a_key_test_trusts_a_unique_index_and_finds_duplicates_without_one(
    built_feed: FeedDataset, db_pool: asyncpg.Pool, run_dbt: RunDbt
) -> None:
    # With the unique index the build made, the key test passes without grouping the rows;
    # without it, the same test must find a repeated key.
    passed = run_dbt("test", "--select", SESSIONS_KEY_TEST)
    assert passed.returncode == 0, passed.stdout
    assert f"PASS {SESSIONS_KEY_TEST}" in passed.stdout
    # the query as run: the index check, and the latest build's stamp as a literal
    compiled = _compiled_query("pg_index", "int_reactions_sessionised", "user_id, meme_id")
    assert "where sessionised_at = '" in compiled
    assert "max(sessionised_at)" not in compiled

    key_index = await db_pool.fetchval(
        """
        select key_index.indexrelid::regclass::text
        from pg_index as key_index
        where
            key_index.indrelid = 'intermediate.int_reactions_sessionised'::regclass
            and key_index.indisunique
        """
    )
    assert key_index is not None
    async with db_pool.acquire() as connection, connection.transaction():
        await connection.execute(f"drop index {key_index}")
        # a copy of a row of the latest build, which the test's filter reads
        await connection.execute(
            """
            insert into intermediate.int_reactions_sessionised
            select * from intermediate.int_reactions_sessionised
            where sessionised_at = (
                select max(sessionised_at) from intermediate.int_reactions_sessionised
            )
            limit 1
            """
        )
    try:
        failed = run_dbt("test", "--select", SESSIONS_KEY_TEST)
    finally:
        async with db_pool.acquire() as connection, connection.transaction():
            await connection.execute(
                """
                delete from intermediate.int_reactions_sessionised as copy
                where copy.ctid > (
                    select min(original.ctid)
                    from intermediate.int_reactions_sessionised as original
                    where original.user_id = copy.user_id and original.meme_id = copy.meme_id
                )
                """
            )
            await connection.execute(
                "create unique index on intermediate.int_reactions_sessionised (user_id, meme_id)"
            )

    assert failed.returncode != 0
    assert f"FAIL 1 {SESSIONS_KEY_TEST}" in failed.stdout


SCORES_SENT_AT_TEST = "not_null_int_reactions_scored_sent_at"


async def test_a_not_null_test_trusts_the_declaration_and_finds_nulls_without_it(
    built_feed: FeedDataset, db_pool: asyncpg.Pool, run_dbt: RunDbt
) -> None:
    # The build declared the scores' sent_at NOT NULL, so its test reads the catalog, not
    # the rows; without the declaration, the same test must find a null.
    declared = await db_pool.fetchval(
        """
        select attnotnull from pg_attribute
        where attrelid = 'intermediate.int_reactions_scored'::regclass and attname = 'sent_at'
        """
    )
    assert declared is True
    passed = run_dbt("test", "--select", SCORES_SENT_AT_TEST)
    assert passed.returncode == 0, passed.stdout
    assert f"PASS {SCORES_SENT_AT_TEST}" in passed.stdout

    async with db_pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "alter table intermediate.int_reactions_scored alter column sent_at drop not null"
        )
        # a row of the latest build, which the test's filter reads
        nulled = await connection.fetchrow(
            """
            select user_id, meme_id, sent_at
            from intermediate.int_reactions_scored
            where scored_at = (select max(scored_at) from intermediate.int_reactions_scored)
            limit 1
            """
        )
        assert nulled is not None
        await connection.execute(
            """
            update intermediate.int_reactions_scored set sent_at = null
            where user_id = $1 and meme_id = $2
            """,
            nulled["user_id"],
            nulled["meme_id"],
        )
    try:
        failed = run_dbt("test", "--select", SCORES_SENT_AT_TEST)
    finally:
        async with db_pool.acquire() as connection, connection.transaction():
            await connection.execute(
                """
                update intermediate.int_reactions_scored set sent_at = $3
                where user_id = $1 and meme_id = $2
                """,
                nulled["user_id"],
                nulled["meme_id"],
                nulled["sent_at"],
            )
            await connection.execute(
                "alter table intermediate.int_reactions_scored alter column sent_at set not null"
            )

    assert failed.returncode != 0
    assert f"FAIL 1 {SCORES_SENT_AT_TEST}" in failed.stdout


SCORES_RANGE_TEST = "test_name:expression_is_true,int_reactions_scored"


async def test_an_expression_test_trusts_the_declared_check_and_finds_rows_without_it(
    built_feed: FeedDataset, db_pool: asyncpg.Pool, run_dbt: RunDbt
) -> None:
    # The build declared the scores' debiased_like range as a CHECK constraint, so its test
    # reads the catalog, not the rows; without the constraint, the test must find the row.
    check_name = await db_pool.fetchval(
        """
        select conname from pg_constraint
        where
            conrelid = 'intermediate.int_reactions_scored'::regclass
            and contype = 'c'
            and convalidated
            and conname like 'expression_is_true_%'
        """
    )
    assert check_name is not None
    passed = run_dbt("test", "--select", SCORES_RANGE_TEST)
    assert passed.returncode == 0, passed.stdout

    async with db_pool.acquire() as connection, connection.transaction():
        definition = await connection.fetchval(
            """
            select pg_get_constraintdef(oid) from pg_constraint
            where conrelid = 'intermediate.int_reactions_scored'::regclass and conname = $1
            """,
            check_name,
        )
        await connection.execute(
            f'alter table intermediate.int_reactions_scored drop constraint "{check_name}"'
        )
        out_of_range = await connection.fetchrow(
            """
            select user_id, meme_id, debiased_like from intermediate.int_reactions_scored
            where scored_at = (select max(scored_at) from intermediate.int_reactions_scored)
            order by user_id, meme_id
            limit 1
            """
        )
        assert out_of_range is not None
        await connection.execute(
            """
            update intermediate.int_reactions_scored set debiased_like = 5
            where user_id = $1 and meme_id = $2
            """,
            out_of_range["user_id"],
            out_of_range["meme_id"],
        )
    try:
        failed = run_dbt("test", "--select", SCORES_RANGE_TEST)
        # the declaration refuses such a row
        with pytest.raises(asyncpg.CheckViolationError):
            await db_pool.execute(
                f"alter table intermediate.int_reactions_scored"
                f' add constraint "{check_name}" {definition}'
            )
    finally:
        async with db_pool.acquire() as connection, connection.transaction():
            await connection.execute(
                """
                update intermediate.int_reactions_scored
                set debiased_like = $3
                where user_id = $1 and meme_id = $2
                """,
                out_of_range["user_id"],
                out_of_range["meme_id"],
                out_of_range["debiased_like"],
            )
            await connection.execute(
                f"alter table intermediate.int_reactions_scored"
                f' add constraint "{check_name}" {definition}'
            )

    assert failed.returncode != 0
    assert "FAIL 1 expression_is_true_int_reactions_scored" in failed.stdout


async def test_unknown_keys_fail_the_one_pass_relationships_test(
    built_feed: FeedDataset, db_pool: asyncpg.Pool, run_dbt: RunDbt
) -> None:
    # One test checks the scores' user, meme and meme source keys in one scan; each unknown
    # key must still fail it.
    selector = "test_name:references_known_rows,int_reactions_scored"
    passed = run_dbt("test", "--select", selector)
    assert passed.returncode == 0, passed.stdout

    async with db_pool.acquire() as connection, connection.transaction():
        # two rows of the latest build: one gets an unknown user, the other an unknown source
        rows = await connection.fetch(
            """
            select user_id, meme_id, meme_source_id from intermediate.int_reactions_scored
            where scored_at = (select max(scored_at) from intermediate.int_reactions_scored)
            order by user_id, meme_id
            limit 2
            """
        )
        assert len(rows) == 2
        unknown_user, unknown_source = rows
        await connection.execute(
            "update intermediate.int_reactions_scored set user_id = -1"
            " where user_id = $1 and meme_id = $2",
            unknown_user["user_id"],
            unknown_user["meme_id"],
        )
        await connection.execute(
            "update intermediate.int_reactions_scored set meme_source_id = -2"
            " where user_id = $1 and meme_id = $2",
            unknown_source["user_id"],
            unknown_source["meme_id"],
        )
    try:
        failed = run_dbt("test", "--select", selector)
    finally:
        async with db_pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "update intermediate.int_reactions_scored set user_id = $1"
                " where user_id = -1 and meme_id = $2",
                unknown_user["user_id"],
                unknown_user["meme_id"],
            )
            await connection.execute(
                "update intermediate.int_reactions_scored set meme_source_id = $3"
                " where user_id = $1 and meme_id = $2",
                unknown_source["user_id"],
                unknown_source["meme_id"],
                unknown_source["meme_source_id"],
            )

    assert failed.returncode != 0
    assert "FAIL 2 references_known_rows_int_reactions_scored" in failed.stdout


USER_RANK_TEST = "assert_user_candidates_ranks_are_contiguous"


async def test_a_repeated_rank_in_a_new_list_fails_the_rank_test(
    built_feed: FeedDataset, db_pool: asyncpg.Pool, run_dbt: RunDbt
) -> None:
    # No unique index keeps (user_id, rank) unique (under one, each rebuilt list's insert met
    # the deleted list's ranks): the data test on the lists each build writes does.
    indexed = await db_pool.fetchval(
        """
        select count(*) from pg_index as rank_index
        where
            rank_index.indrelid = 'recommendations.user_candidates'::regclass
            and rank_index.indisunique
            and rank_index.indkey::text = (
                select string_agg(attnum::text, ' ' order by attnum)
                from pg_attribute
                where
                    attrelid = 'recommendations.user_candidates'::regclass
                    and attname in ('user_id', 'rank')
            )
        """
    )
    assert indexed == 0
    user_id, meme_id = await db_pool.fetchrow(
        """
        select user_id, meme_id from recommendations.user_candidates
        where rank = 2 and built_at = (select max(built_at) from recommendations.user_candidates)
        order by user_id
        limit 1
        """
    )
    await db_pool.execute(
        "update recommendations.user_candidates set rank = 1 where user_id = $1 and meme_id = $2",
        user_id,
        meme_id,
    )
    try:
        result = run_dbt("test", "--select", USER_RANK_TEST)
    finally:
        await db_pool.execute(
            "update recommendations.user_candidates set rank = 2"
            " where user_id = $1 and meme_id = $2",
            user_id,
            meme_id,
        )

    assert result.returncode != 0
    assert f"FAIL 1 {USER_RANK_TEST}" in result.stdout


async def test_median_windows_are_stored_without_compression(
    built_feed: FeedDataset, db_pool: asyncpg.Pool
) -> None:
    # rewritten for every meme with a new reaction, and measured floats do not compress
    storage = await db_pool.fetchval(
        """
        select attstorage from pg_attribute
        where
            attrelid = 'intermediate.int_meme_reaction_stats'::regclass
            and attname = 'median_window_times_sec'
        """
    )
    assert storage == b"e"  # pg_attribute.attstorage is a "char", which asyncpg reads as bytes


ENGINES = (
    "best_uploaded_memes",
    "lr_smoothed",
    "like_spread_and_recent",
    "recently_liked",
    "goat",
    "es_ranked",
    "cold_start_explore",
    "cold_start_adapt",
    "less_seen",
    "exploration",
)


@pytest.mark.parametrize("engine", ENGINES)
async def test_each_engine_offers_only_unsent_servable_memes_in_the_users_languages(
    built_feed: FeedDataset, db_pool: asyncpg.Pool, engine: str
) -> None:
    await _assert_engine_rows_are_valid(built_feed, db_pool, engine)


async def _assert_engine_rows_are_valid(
    built_feed: FeedDataset, db_pool: asyncpg.Pool, engine: str
) -> None:
    rows = await db_pool.fetch(
        f"select user_id, meme_id, engine, engine_rank from recommendations.candidates_{engine}"
    )
    servable = built_feed.servable_meme_ids()
    languages = built_feed.languages_of(servable)
    sent = built_feed.sent_pairs()

    for row in rows:
        user_id, meme_id = row["user_id"], row["meme_id"]
        assert row["engine"] == engine
        assert meme_id in servable, row
        assert languages[meme_id] in built_feed.users[user_id], row
        assert (user_id, meme_id) not in sent, row
    per_user: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        per_user[row["user_id"]].append(row["engine_rank"])
    for ranks in per_user.values():
        assert sorted(ranks) == list(range(1, len(ranks) + 1))


ENGINES_WITH_FIXTURE_CANDIDATES = {
    "lr_smoothed",
    "recently_liked",
    "es_ranked",
    "less_seen",
    "exploration",
    "cold_start_explore",
    "cold_start_adapt",
}


async def _engine_weights(db_pool: asyncpg.Pool) -> dict[str, set[str]]:
    """The maturity stages that give each engine a weight (seeds/engine_weights.csv)."""
    weighted: dict[str, set[str]] = defaultdict(set)
    for row in await db_pool.fetch(
        "select engine, maturity_stage, weight from seeds.engine_weights"
    ):
        if row["weight"] > 0:
            weighted[row["engine"]].add(row["maturity_stage"])
    return weighted


async def _engine_users(db_pool: asyncpg.Pool, engine: str) -> set[int]:
    rows = await db_pool.fetch(f"select distinct user_id from recommendations.candidates_{engine}")
    return {row["user_id"] for row in rows}


async def _assert_engines_serve_only_the_stage(
    db_pool: asyncpg.Pool, stage: str
) -> dict[str, set[str]]:
    """With every user of the build in `stage`: the engines that weigh it have users (those the
    fixture can feed), the others none. Nobody is a moderator, so less_seen follows the weights
    alone. Returns the stages that weigh each engine."""
    weighted = await _engine_weights(db_pool)
    for engine in ENGINES:
        users = await _engine_users(db_pool, engine)
        if stage not in weighted[engine]:
            assert not users, engine
        # the fixture has no uploads (best_uploaded_memes) and no meme past goat's gates
        elif engine in ENGINES_WITH_FIXTURE_CANDIDATES:
            assert users, engine
    return weighted


ENGINE_TEST = "candidates_{engine},test_name:engine_candidates_are_valid"


async def test_the_engine_test_names_repeated_pairs_ranks_and_unknown_memes(
    built_feed: FeedDataset, db_pool: asyncpg.Pool, run_dbt: RunDbt
) -> None:
    # The test finds repeats per user first and the repeated pairs only among those users'
    # rows: one user gets a repeated meme and a meme that does not exist, another a repeated
    # rank (each kind of repeat must be enough to select its user).
    engine = "lr_smoothed"
    table = f"recommendations.candidates_{engine}"
    passed = run_dbt("test", "--select", ENGINE_TEST.format(engine=engine))
    assert passed.returncode == 0, passed.stdout

    first, second = await db_pool.fetch(
        f"""
        select user_id, min(meme_id) as meme_id, max(engine_rank) as last_rank
        from {table} group by user_id order by user_id limit 2
        """
    )
    unlisted_meme = await db_pool.fetchval(
        f"""
        select id from app.meme
        where id not in (select meme_id from {table} where user_id = $1)
        order by id limit 1
        """,
        second["user_id"],
    )
    unknown_meme = await db_pool.fetchval("select max(id) + 1000 from app.meme")
    bad_rows = [
        (first["user_id"], first["meme_id"], first["last_rank"] + 1),  # the meme again
        (first["user_id"], unknown_meme, first["last_rank"] + 2),  # no such meme
        (second["user_id"], unlisted_meme, second["last_rank"]),  # the rank again
    ]
    await db_pool.executemany(
        f"""
        insert into {table} (user_id, meme_id, engine, score, engine_rank)
        values ($1, $2, $3, 0.0, $4)
        """,
        [(user_id, meme_id, engine, rank) for user_id, meme_id, rank in bad_rows],
    )
    try:
        failed = run_dbt("test", "--select", ENGINE_TEST.format(engine=engine))
        problems = await db_pool.fetch(
            _compiled_query("users_with_repeats", f'"candidates_{engine}"')
        )
    finally:
        await db_pool.executemany(
            f"delete from {table} where user_id = $1 and meme_id = $2 and engine_rank = $3",
            bad_rows,
        )

    assert failed.returncode != 0
    assert "FAIL 3 engine_candidates_are_valid_candidates_lr_smoothed" in failed.stdout
    found = sorted((r["problem"], r["user_id"], r["meme_id"], r["engine_rank"]) for r in problems)
    assert found == [
        ("duplicate (user_id, engine_rank)", second["user_id"], None, second["last_rank"]),
        ("duplicate (user_id, meme_id)", first["user_id"], first["meme_id"], None),
        ("unknown meme", first["user_id"], unknown_meme, first["last_rank"] + 2),
    ]
    for user in (first, second):
        remaining = await db_pool.fetchval(
            f"select count(*) from {table} where user_id = $1", user["user_id"]
        )
        assert remaining == user["last_rank"]


async def test_an_engine_builds_candidates_only_for_the_stages_that_weigh_it(
    built_feed: FeedDataset, db_pool: asyncpg.Pool
) -> None:
    stages = await db_pool.fetch(
        "select distinct maturity_stage from intermediate.int_candidate_users"
    )
    # every fixture user has fewer than 30 sends
    assert [row["maturity_stage"] for row in stages] == ["cold_start"]
    weighted = await _assert_engines_serve_only_the_stage(db_pool, "cold_start")

    assert any("cold_start" not in weighted[engine] for engine in ENGINES), weighted


async def test_every_engine_serves_the_users_of_its_stages(
    built_feed: FeedDataset, db_pool: asyncpg.Pool, run_dbt: RunDbt
) -> None:
    # Everyone mature for one rebuild of the lists' users and the engines: the engines that
    # need history have users who were not sent the memes with history (the fresh readers).
    engines = [f"candidates_{engine}" for engine in ENGINES]
    selection = ("--select", "int_candidate_users", "int_candidate_user_sends", *engines)
    everyone_mature = FIXTURE_VARS.replace(
        "}", ', "maturity_growing_min_sends": 0, "maturity_mature_min_sends": 0}'
    )
    try:
        result = run_dbt("run", "--full-refresh", "--vars", everyone_mature, *selection)
        assert result.returncode == 0, result.stdout[-3000:]
        await _assert_engines_serve_only_the_stage(db_pool, "mature")

        for engine in ENGINES:
            await _assert_engine_rows_are_valid(built_feed, db_pool, engine)
    finally:
        restored = run_dbt("run", "--full-refresh", "--vars", FIXTURE_VARS, *selection)
        assert restored.returncode == 0, restored.stdout[-3000:]


async def test_meme_source_stats_and_daily_metrics_add_up(
    built_feed: FeedDataset, db_pool: asyncpg.Pool
) -> None:
    sources = {
        r["meme_source_id"]: r
        for r in await db_pool.fetch("select * from marts.meme_source_stats")
    }
    counts = built_feed.meme_counts()
    assert sources[1]["nmemes_sent_events"] == sum(
        c[2] for m, c in counts.items() if m <= 20 or m == 41
    )
    assert sources[2]["nlikes"] == 1
    daily = await db_pool.fetch("select * from marts.metrics_daily")
    total_reactions = sum(1 for r in built_feed.reactions if r.reaction_id is not None)
    assert sum(r["count_reactions"] for r in daily) == total_reactions
    engines = await db_pool.fetch("select * from marts.metrics_engine_daily")
    assert {r["engine"] for r in engines} == {"fixture"}
    assert sum(r["count_sends"] for r in engines) == len(built_feed.reactions)
    sessions = await db_pool.fetchval("select count(*) from marts.fct_sessions")
    continued = sum(r["count_continued"] for r in engines)
    assert continued == total_reactions - sessions


async def test_the_blend_is_the_same_when_rebuilt_on_the_same_data(
    built_feed: FeedDataset, db_pool: asyncpg.Pool, run_dbt: RunDbt
) -> None:
    query = "select user_id, meme_id, engine, rank from recommendations.user_candidates"
    before = sorted(tuple(r) for r in await db_pool.fetch(query))

    result = run_dbt("run", "--select", "user_candidates", "--vars", FIXTURE_VARS)

    assert result.returncode == 0, result.stdout[-3000:]
    assert sorted(tuple(r) for r in await db_pool.fetch(query)) == before


async def test_users_of_one_stage_get_different_engine_orders(
    built_feed: FeedDataset, db_pool: asyncpg.Pool
) -> None:
    candidates = await _candidates(db_pool)
    sequences = {
        tuple(row["engine"] for row in candidates[user_id][:20]) for user_id in FRESH_EN_READERS
    }

    assert len(sequences) > 1
