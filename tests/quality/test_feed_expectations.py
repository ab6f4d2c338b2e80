"""The Great Expectations suite passes on a correct build and names exactly what a damage breaks.

Each test damages the feed that tests/dbt's dataset gives after one `dbt build`, runs the suite
and repairs the damage.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from memefeed.migrations import upgrade_to_head
from memefeed.services import create_database, embedded_postgres
from memefeed.settings import PROJECT_ROOT
from orchestration.lib.feed_expectations import (
    FEED_EXPECTATIONS,
    GATED_TABLES,
    USER_CANDIDATES,
    run_feed_expectations,
)
from tests.dbt.feed_dataset import RATERS, RU_READER, FeedDataset
from tests.quality.conftest import Corruption

pytestmark = pytest.mark.integration

ALREADY_SENT_MEME = 1  # every rater reacted to memes 1-12 three days before the build
UNSENT_MEME = 16  # servable, sent to nobody: a candidate of every user and every language
LOVED_MEME = 13


def test_expectation_names_are_unique_and_each_gates_a_known_table() -> None:
    names = [expectation.name for expectation in FEED_EXPECTATIONS]

    assert len(names) == len(set(names))
    assert {expectation.gates for expectation in FEED_EXPECTATIONS} == set(GATED_TABLES)


def test_every_definition_builds_a_valid_gx_expectation() -> None:
    for expectation in FEED_EXPECTATIONS:
        built = expectation.expectation.build(meta={"feed_expectation": expectation.name})

        assert type(built).__name__ == expectation.expectation.type_name
        assert built.meta == {"feed_expectation": expectation.name}


def test_loading_the_dagster_definitions_does_not_import_great_expectations() -> None:
    # every Dagster step process loads the definitions; GX is imported only by a check that runs
    loads_gx = "import sys, orchestration.definitions; print('great_expectations' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", loads_gx],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert result.stdout.strip() == "False"


async def test_the_suite_passes_on_a_correct_build(
    built_feed: FeedDataset, database_url: str
) -> None:
    result = run_feed_expectations(database_url)

    assert result.failed_names == [], result.describe_failures()
    assert [outcome.name for outcome in result.outcomes] == [e.name for e in FEED_EXPECTATIONS]
    assert result.success


async def test_a_candidate_the_user_was_already_sent_fails_exactly_that_expectation(
    built_feed: FeedDataset, database_url: str, corrupted: Corruption
) -> None:
    rater = RATERS[0]
    damage = f"""
        insert into recommendations.user_candidates
            (user_id, meme_id, engine, score, rank, built_at)
        select user_id, {ALREADY_SENT_MEME}, 'damaged', 1.0, max(rank) + 1, max(built_at)
        from recommendations.user_candidates
        where user_id = {rater}
        group by user_id
    """
    repair = f"""
        delete from recommendations.user_candidates
        where user_id = {rater} and meme_id = {ALREADY_SENT_MEME}
    """
    async with corrupted(damage, repair):
        result = run_feed_expectations(database_url)

    assert result.failed_names == ["user_candidate_sends.none_sent_before_build"]
    (failure,) = result.failed
    assert failure.observed_value == 1
    assert failure.gates == USER_CANDIDATES
    (example,) = failure.unexpected_examples
    assert (example["user_id"], example["meme_id"]) == (rater, ALREADY_SENT_MEME)
    assert "none_sent_before_build: observed 1 unexpected of" in failure.describe()


async def test_lr_smoothed_out_of_range_fails_exactly_that_expectation(
    built_feed: FeedDataset, database_url: str, corrupted: Corruption
) -> None:
    damage = f"""
        create table public.quality_lr_smoothed_backup as
            select meme_id, lr_smoothed from marts.meme_stats where meme_id = {LOVED_MEME};
        update marts.meme_stats set lr_smoothed = 2.5 where meme_id = {LOVED_MEME};
    """
    repair = """
        update marts.meme_stats set lr_smoothed = backup.lr_smoothed
        from public.quality_lr_smoothed_backup as backup
        where meme_stats.meme_id = backup.meme_id;
        drop table public.quality_lr_smoothed_backup;
    """
    async with corrupted(damage, repair):
        result = run_feed_expectations(database_url)

    assert result.failed_names == ["meme_stats.lr_smoothed_within_bounds"]
    (failure,) = result.failed
    assert failure.observed_value == 1
    assert failure.unexpected_examples == ({"meme_id": LOVED_MEME, "lr_smoothed": 2.5},)


async def test_a_candidate_meme_that_lost_its_file_id_fails_the_file_id_and_status_checks(
    built_feed: FeedDataset, database_url: str, corrupted: Corruption
) -> None:
    # app.meme allows a null file id only off 'ok', so the damage is a meme broken after the build
    damage = f"""
        update app.meme set status = 'broken_content_link', telegram_file_id = null
        where id = {UNSENT_MEME}
    """
    repair = f"""
        update app.meme set status = 'ok', telegram_file_id = 'file-{UNSENT_MEME}'
        where id = {UNSENT_MEME}
    """
    async with corrupted(damage, repair):
        result = run_feed_expectations(database_url)

    assert set(result.failed_names) == {
        "user_candidate_memes.telegram_file_id_not_null",
        "user_candidate_memes.status_ok",
        "cold_start_candidate_memes.telegram_file_id_not_null",
        "cold_start_candidate_memes.status_ok",
    }
    file_ids = {o.name: o for o in result.failed}["user_candidate_memes.telegram_file_id_not_null"]
    # every user with candidates has the unsent meme among them
    assert file_ids.observed_value == len(built_feed.users)


async def test_a_candidate_meme_with_an_empty_file_id_fails_only_the_not_empty_checks(
    built_feed: FeedDataset, database_url: str, corrupted: Corruption
) -> None:
    # the table's constraint forbids only null for an 'ok' meme; '' would go out to Telegram
    damage = f"update app.meme set telegram_file_id = '' where id = {UNSENT_MEME}"
    repair = (
        f"update app.meme set telegram_file_id = 'file-{UNSENT_MEME}' where id = {UNSENT_MEME}"
    )
    async with corrupted(damage, repair):
        result = run_feed_expectations(database_url)

    assert set(result.failed_names) == {
        "user_candidate_memes.telegram_file_id_not_empty",
        "cold_start_candidate_memes.telegram_file_id_not_empty",
    }
    empty = {o.name: o for o in result.failed}["user_candidate_memes.telegram_file_id_not_empty"]
    assert empty.observed_value == len(built_feed.users)


async def test_a_candidate_meme_taken_off_ok_fails_only_the_status_checks(
    built_feed: FeedDataset, database_url: str, corrupted: Corruption
) -> None:
    damage = f"update app.meme set status = 'duplicate' where id = {UNSENT_MEME}"
    repair = f"update app.meme set status = 'ok' where id = {UNSENT_MEME}"
    async with corrupted(damage, repair):
        result = run_feed_expectations(database_url)

    assert set(result.failed_names) == {
        "user_candidate_memes.status_ok",
        "cold_start_candidate_memes.status_ok",
    }


async def test_an_active_user_without_candidates_while_unseen_memes_exist_fails(
    built_feed: FeedDataset, database_url: str, corrupted: Corruption
) -> None:
    starved_user = RATERS[1]
    damage = f"""
        create table public.quality_candidates_backup as
            select * from recommendations.user_candidates where user_id = {starved_user};
        delete from recommendations.user_candidates where user_id = {starved_user};
    """
    repair = """
        insert into recommendations.user_candidates
            select * from public.quality_candidates_backup;
        drop table public.quality_candidates_backup;
    """
    async with corrupted(damage, repair):
        result = run_feed_expectations(database_url)

    assert result.failed_names == [
        "active_user_candidate_counts.candidates_while_unseen_memes_exist"
    ]
    (failure,) = result.failed
    assert [example["user_id"] for example in failure.unexpected_examples] == [starved_user]


async def test_an_active_user_who_has_seen_every_servable_meme_may_have_no_candidates(
    built_feed: FeedDataset, database_url: str, db_pool: asyncpg.Pool, corrupted: Corruption
) -> None:
    # the tiny-catalogue case: the Russian reader is sent every servable meme before the build
    damage = f"""
        create table public.quality_candidates_backup as
            select * from recommendations.user_candidates where user_id = {RU_READER};
        delete from recommendations.user_candidates where user_id = {RU_READER};
        create table public.quality_sent_everything as
            select id as meme_id from app.meme
            where status = 'ok' and id not in (
                select meme_id from app.user_meme_reaction where user_id = {RU_READER}
            );
        insert into app.user_meme_reaction (user_id, meme_id, recommended_by, sent_at)
            select {RU_READER}, meme_id, 'quality_test', (
                select min(built_at) - interval '1 hour' from recommendations.user_candidates
            )
            from public.quality_sent_everything;
    """
    repair = f"""
        delete from app.user_meme_reaction
        where user_id = {RU_READER}
            and meme_id in (select meme_id from public.quality_sent_everything);
        drop table public.quality_sent_everything;
        insert into recommendations.user_candidates
            select * from public.quality_candidates_backup;
        drop table public.quality_candidates_backup;
    """
    async with corrupted(damage, repair):
        unseen = await db_pool.fetchval(
            "select count(*) from app.meme where status = 'ok' and id not in "
            "(select meme_id from app.user_meme_reaction where user_id = $1)",
            RU_READER,
        )
        result = run_feed_expectations(database_url)

    assert unseen == 0
    assert result.failed_names == [], result.describe_failures()


async def test_a_renamed_column_fails_the_expectations_that_read_it_with_the_error(
    built_feed: FeedDataset, database_url: str, corrupted: Corruption
) -> None:
    damage = "alter table marts.user_stats rename column nsessions to nsessions_renamed"
    repair = "alter table marts.user_stats rename column nsessions_renamed to nsessions"
    async with corrupted(damage, repair):
        result = run_feed_expectations(database_url)

    assert set(result.failed_names) == {
        "user_stats.nsessions_not_negative",
        "user_stats.sessions_within_sends",
    }
    assert all("nsessions" in (outcome.error or "") for outcome in result.failed)


def test_the_suite_reaches_a_postgres_on_a_unix_socket(tmp_path: Path) -> None:
    """The main job's embedded PostgreSQL has a socket URL with no host; GX must take it."""
    with embedded_postgres(tmp_path / "pg") as server_url:
        url = create_database(server_url, "socket_check")
        assert "host=/" in url
        upgrade_to_head(url)

        result = run_feed_expectations(url)

    # No dbt build ran, so the suite reads missing tables and fails by name instead of raising.
    assert not result.success
    assert "user_candidates.rank_from_one" in result.failed_names
