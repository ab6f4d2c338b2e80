"""The benchmark database: schema by the real migrations, rows and candidate tables by plain SQL.

The recommendation tables are filled directly in the shape of the dbt contract (DESIGN.md, "The
contract between dbt and the bot") rather than by `dbt build`: the benchmark times the bot, not
dbt, and direct SQL takes seconds. The anchor's live stats tables (reference section 1 and 3)
go in their own schema `anchor`, computed from the same reaction history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import asyncpg
import psycopg2

from memefeed.migrations import upgrade_to_head
from memefeed.services import create_database, drop_database, replace_database_name

FIRST_USER_ID = 7_000_001
SOURCES_PER_LANGUAGE = 20
UPLOAD_SOURCES_PER_LANGUAGE = 2
# The history and the candidate lists are dated before the run; rows the run writes are newer.
HISTORY_AGE = "2 days"


@dataclass(frozen=True)
class DatasetSize:
    users: int
    memes: int
    candidates_per_user: int
    cold_start_per_language: int = 1000
    min_history: int = 30
    max_history: int = 300


@dataclass(frozen=True)
class BenchUser:
    user_id: int
    first_name: str
    language_code: str


def step(message: str) -> None:
    print(f"  [setup] {message}", flush=True)


def recreate_database(server_url: str, name: str) -> str:
    drop_database(server_url, name)
    url = create_database(server_url, name)
    upgrade_to_head(url)
    return url


def database_url_for(server_url: str, name: str) -> str:
    return replace_database_name(server_url, name)


async def load(url: str, size: DatasetSize) -> list[BenchUser]:
    started = time.perf_counter()
    connection = await asyncpg.connect(url)
    try:
        await _load_app_rows(connection, size)
        step(f"app rows in {time.perf_counter() - started:.1f} s")
        await _load_candidates(connection, size)
        step(f"recommendations.* in {time.perf_counter() - started:.1f} s")
        await _load_anchor_stats(connection)
        step(f"anchor stats tables in {time.perf_counter() - started:.1f} s")
        await connection.execute("vacuum analyze")
        step(f"vacuum analyze done in {time.perf_counter() - started:.1f} s")
    finally:
        await connection.close()
    return await load_users(url)


async def load_users(url: str) -> list[BenchUser]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            """
            select u.id, t.first_name, t.language_code
            from app."user" as u join app.user_tg as t on t.id = u.id
            where u.id >= $1 order by u.id
            """,
            FIRST_USER_ID,
        )
    finally:
        await connection.close()
    return [BenchUser(r["id"], r["first_name"], r["language_code"]) for r in rows]


def database_exists(server_url: str, name: str) -> bool:
    connection = psycopg2.connect(server_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select 1 from pg_database where datname = %s", (name,))
            return cursor.fetchone() is not None
    finally:
        connection.close()


async def _load_app_rows(connection: asyncpg.Connection, size: DatasetSize) -> None:
    await connection.execute(
        """
        insert into app.meme_source (type, url, language_code)
        select case when g > $1::int * 2 then 'user upload' else 'telegram' end,
               'https://t.me/hot_path_source_' || g,
               case when g % 2 = 0 then 'en' else 'ru' end
        from generate_series(1, ($1::int + $2::int) * 2) as g
        """,
        SOURCES_PER_LANGUAGE,
        UPLOAD_SOURCES_PER_LANGUAGE,
    )
    await connection.execute(
        """
        with sources as (
            select id, language_code, row_number() over (order by id) - 1 as n,
                   count(*) over () as total
            from app.meme_source
        )
        insert into app.meme (meme_source_id, raw_meme_id, status, type, telegram_file_id,
                              caption, language_code, published_at, created_at)
        select s.id, g, 'ok', 'image', 'AgACAgIAAx0CbenchFileId-' || g,
               case when g % 3 = 0 then null else 'a caption of meme ' || g end,
               s.language_code, p.at, p.at
        from generate_series(1, $1) as g
        join sources as s on s.n = g % s.total
        cross join lateral (
            select now() - (g % 90) * interval '1 day' - (g % 1440) * interval '1 minute' as at
        ) as p
        """,
        size.memes,
    )
    step(f"{size.memes:,} memes")
    # Languages: half en, three in ten ru, the rest both (Telegram locale ru).
    await connection.execute(
        """
        with users as (
            select $1::bigint + g as id, g,
                   case when g % 10 < 5 then 'en' else 'ru' end as locale,
                   case when g % 10 < 5 then array['en']
                        when g % 10 < 8 then array['ru']
                        else array['ru', 'en'] end as languages
            from generate_series(0, $2::int - 1) as g
        ),
        u as (
            insert into app."user" (id, type, created_at, last_active_at)
            select id, 'user', now() - interval '30 days', now() - interval '1 day' from users
        ),
        t as (
            insert into app.user_tg (id, first_name, language_code)
            select id, 'Bench ' || g, locale from users
        )
        insert into app.user_language (user_id, language_code, created_at)
        select id, languages[i], now() - interval '30 days' + i * interval '1 second'
        from users cross join lateral generate_subscripts(languages, 1) as i
        """,
        FIRST_USER_ID,
        size.users,
    )
    # History: each user reacted to between min_history and max_history memes in their
    # languages, six likes in ten, all before the run.
    await connection.execute(
        f"""
        insert into app.user_meme_reaction
            (user_id, meme_id, recommended_by, sent_at, reaction_id, reacted_at)
        select u.id, h.meme_id, 'history', h.at,
               case when abs(hashint8extended(h.meme_id, u.id)) % 10 < 6 then 1 else 2 end,
               h.at + interval '4 seconds'
        from app."user" as u
        cross join lateral (
            select m.id as meme_id,
                   now() - interval '{HISTORY_AGE}'
                         - row_number() over () * interval '7 seconds' as at
            from app.meme as m
            where m.language_code in (
                select language_code from app.user_language where user_id = u.id
            )
            order by hashint8extended(m.id, u.id)
            limit $2::int + (u.id * 37) % ($3::int - $2::int + 1)
        ) as h
        where u.id >= $1
        """,
        FIRST_USER_ID,
        size.min_history,
        size.max_history,
    )
    histories = await connection.fetchval("select count(*) from app.user_meme_reaction")
    step(f"{size.users:,} users, {histories:,} reactions of history")


async def _load_candidates(connection: asyncpg.Connection, size: DatasetSize) -> None:
    await connection.execute(
        """
        create schema if not exists recommendations;
        create table recommendations.user_candidates (
            user_id bigint not null,
            meme_id bigint not null,
            engine text not null,
            score double precision not null,
            rank integer not null,
            built_at timestamptz not null,
            primary key (user_id, meme_id)
        );
        create table recommendations.cold_start_candidates (
            language_code text not null,
            meme_id bigint not null,
            engine text not null,
            score double precision not null,
            rank integer not null,
            built_at timestamptz not null,
            primary key (language_code, meme_id)
        );
        """
    )
    await connection.execute(
        """
        insert into recommendations.user_candidates
            (user_id, meme_id, engine, score, rank, built_at)
        select u.id, c.meme_id,
               case when c.rank % 10 = 0 then 'exploration' else 'lr_smoothed' end,
               1.0 / c.rank, c.rank, now() - interval '10 minutes'
        from app."user" as u
        cross join lateral (
            select m.id as meme_id, row_number() over (order by hashint8extended(m.id, -u.id))
                   as rank
            from app.meme as m
            where m.status = 'ok'
              and m.language_code in (
                  select language_code from app.user_language where user_id = u.id
              )
              and not exists (
                  select 1 from app.user_meme_reaction as r
                  where r.user_id = u.id and r.meme_id = m.id
              )
            order by hashint8extended(m.id, -u.id)
            limit $1
        ) as c
        """,
        size.candidates_per_user,
    )
    await connection.execute(
        """
        insert into recommendations.cold_start_candidates
            (language_code, meme_id, engine, score, rank, built_at)
        select language_code, id, 'cold_start_best', 1.0 / rank, rank,
               now() - interval '10 minutes'
        from (
            select language_code, id,
                   row_number() over (partition by language_code order by id desc) as rank
            from app.meme where status = 'ok'
        ) as ranked
        where rank <= $1
        """,
        size.cold_start_per_language,
    )
    await connection.execute(
        # as dbt builds them: user_candidates is read through its primary key (user_id leads)
        "create unique index on recommendations.cold_start_candidates (language_code, rank)"
    )
    count = await connection.fetchval("select count(*) from recommendations.user_candidates")
    step(f"{count:,} user candidates ({size.candidates_per_user} per user)")


async def _load_anchor_stats(connection: asyncpg.Connection) -> None:
    """The anchor's live stats tables, with its columns and defaults, from the same history."""
    await connection.execute(
        """
        create schema anchor;
        create table anchor.meme_stats (
            meme_id bigint primary key,
            nlikes integer not null default 0,
            ndislikes integer not null default 0,
            nmemes_sent integer not null default 0,
            age_days integer not null default 99999,
            raw_impr_rank integer not null default 99999,
            sec_to_react double precision not null default 99999,
            invited_count integer not null default 0,
            lr_smoothed double precision not null default 0,
            engagement_score double precision not null default 0,
            updated_at timestamptz not null default now()
        );
        create table anchor.user_meme_source_stats (
            user_id bigint not null,
            meme_source_id integer not null,
            nlikes integer not null default 0,
            ndislikes integer not null default 0,
            updated_at timestamptz not null default now(),
            primary key (user_id, meme_source_id)
        );
        create table anchor.meme_source_stats (
            meme_source_id integer primary key,
            nlikes integer not null default 0,
            ndislikes integer not null default 0,
            nmemes_sent_events integer not null default 0,
            nmemes_parsed integer not null default 0,
            nmemes_sent integer not null default 0,
            latest_meme_age integer,
            updated_at timestamptz not null default now()
        );
        create table anchor.user_stats (
            user_id bigint primary key,
            nlikes integer not null default 0,
            ndislikes integer not null default 0,
            nmemes_sent integer not null default 0,
            updated_at timestamptz not null default now()
        );
        -- Every meme gets a row, as the anchor's BASIC_COUNTS upsert does. lr_smoothed and
        -- engagement_score are simplified (per-meme like balance, not the per-user running
        -- mean): the engines only need values of the right shape to filter and sort on.
        insert into anchor.meme_stats
            (meme_id, nlikes, ndislikes, nmemes_sent, age_days, raw_impr_rank, sec_to_react,
             invited_count, lr_smoothed, engagement_score)
        select m.id,
               count(*) filter (where r.reaction_id = 1),
               count(*) filter (where r.reaction_id = 2),
               count(r.meme_id),
               extract('days' from now() - m.published_at)::int,
               abs(hashint8extended(m.id, 7)) % 4,
               case when count(r.meme_id) > 0 then 4 else 99999 end,
               case when abs(hashint8extended(m.id, 11)) % 20 = 0 then 1 else 0 end,
               coalesce((count(*) filter (where r.reaction_id = 1)
                         - count(*) filter (where r.reaction_id = 2))::float
                        / nullif(count(r.reaction_id) + 2, 0), 0),
               coalesce((count(*) filter (where r.reaction_id = 1)
                         - 0.8 * count(*) filter (where r.reaction_id = 2))::float
                        / nullif(count(r.reaction_id) + 2, 0), 0)
        from app.meme as m
        left join app.user_meme_reaction as r on r.meme_id = m.id
        group by m.id;
        insert into anchor.user_meme_source_stats (user_id, meme_source_id, nlikes, ndislikes)
        select r.user_id, m.meme_source_id,
               count(*) filter (where r.reaction_id = 1),
               count(*) filter (where r.reaction_id = 2)
        from app.user_meme_reaction as r join app.meme as m on m.id = r.meme_id
        where r.reaction_id is not null
        group by 1, 2;
        insert into anchor.meme_source_stats
            (meme_source_id, nlikes, ndislikes, nmemes_sent_events, nmemes_parsed, nmemes_sent,
             latest_meme_age)
        select m.meme_source_id,
               count(*) filter (where e.reaction_id = 1),
               count(*) filter (where e.reaction_id = 2),
               count(e.meme_id), count(distinct m.id), count(distinct e.meme_id),
               min(extract('days' from now() - m.published_at))::int
        from app.meme as m left join app.user_meme_reaction as e on e.meme_id = m.id
        group by 1;
        insert into anchor.user_stats (user_id, nlikes, ndislikes, nmemes_sent)
        select user_id, count(*) filter (where reaction_id = 1),
               count(*) filter (where reaction_id = 2), count(*)
        from app.user_meme_reaction group by 1;
        """
    )


async def reset_run_rows(url: str) -> int:
    """Forget what a run wrote, so the next run starts from the same state."""
    connection = await asyncpg.connect(url)
    try:
        status = await connection.execute(
            f"""
            delete from app.user_meme_reaction
            where sent_at > now() - interval '{HISTORY_AGE}' + interval '1 hour'
            """
        )
        await connection.execute("vacuum analyze app.user_meme_reaction")
    finally:
        await connection.close()
    return int(status.split()[-1])
