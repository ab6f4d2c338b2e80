"""The `memefeed` command: the main job, the bot, migrations and the asset graph."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys

from memefeed.settings import DBT_PROJECT_DIR, get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="memefeed", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run",
        help="the main job: ingest, build the asset graph, serve the feed "
        "(with no TELEGRAM_BOT_TOKEN: simulated users against a local Bot API emulator)",
    )
    run.add_argument("--users", type=int, default=6, help="simulated users (demo mode)")
    run.add_argument("--memes", type=int, default=60, help="sample memes to draw (demo mode)")
    run.add_argument(
        "--reactions", type=int, default=12, help="reactions per simulated user per round"
    )
    run.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="rounds of scrolling, with the asset graph rebuilt after each (demo mode)",
    )

    commands.add_parser("migrate", help="apply the schema migrations (a rerun changes nothing)")
    commands.add_parser("prepare", help="parse the dbt project into the manifest Dagster loads")
    commands.add_parser("materialize", help="materialise the whole asset graph once")
    backfill = commands.add_parser(
        "backfill",
        help="report tables the bot writes as corrected (recorded in the Dagster instance of "
        "DAGSTER_HOME), so the stats, candidates and queues below them are rebuilt",
    )
    backfill.add_argument(
        "tables",
        nargs="+",
        help="reactions, users, languages, deep_links, sources, or an app table name",
    )
    backfill.add_argument("--note", help="why, recorded with the event (shown in the UI)")
    bot = commands.add_parser("bot", help="run the Telegram bot")
    bot.add_argument("--webhook", action="store_true", help="webhook mode under ASGI (uvicorn)")

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpcore", "telegram.ext", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    if args.command == "run":
        from memefeed.main_job import run_main_job

        return run_main_job(
            users=args.users,
            memes=args.memes,
            reactions_per_session=args.reactions,
            rounds=args.rounds,
        )
    if args.command == "migrate":
        from memefeed.migrations import upgrade_to_head

        upgrade_to_head(_required_database_url())
        print("migrations applied")
        return 0
    if args.command == "prepare":
        return prepare_dbt_manifest()
    if args.command == "materialize":
        from memefeed.graph import materialize_all

        materialize_all()
        return 0
    if args.command == "backfill":
        return report_backfill(args.tables, args.note)
    if args.command == "bot":
        from bot.runner import run_bot

        run_bot(webhook=args.webhook)
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


def prepare_dbt_manifest() -> int:
    """`dbt parse` needs no database: the profile has defaults for every connection value."""
    env = {**os.environ, "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
    dbt = os.path.join(os.path.dirname(sys.executable), "dbt")
    completed = subprocess.run(
        [dbt, "parse", "--project-dir", str(DBT_PROJECT_DIR), "--quiet"], env=env, check=False
    )
    return completed.returncode


def report_backfill(tables: list[str], note: str | None) -> int:
    from dagster import DagsterInstance

    from orchestration.lib.corrections import report_corrected

    if not os.environ.get("DAGSTER_HOME"):
        raise SystemExit("DAGSTER_HOME is not set: the corrections go to that Dagster instance")
    with DagsterInstance.get() as instance:
        try:
            keys = report_corrected(instance, tables, note)
        except ValueError as error:
            raise SystemExit(str(error)) from None
    for key in keys:
        print(f"reported {key.to_user_string()} as corrected")
    print("the feed_automation sensor rebuilds everything below it on its next tick")
    return 0


def _required_database_url() -> str:
    url = get_settings().database_url
    if url is None:
        raise SystemExit("DATABASE_URL is not set (only `memefeed run` starts an embedded one)")
    return url


if __name__ == "__main__":
    raise SystemExit(main())
