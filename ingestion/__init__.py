"""Source adapters (Telegram channel pages, a local folder) and the media pipeline.

Plain Python on psycopg2 and httpx: the orchestration layer calls these functions; nothing here
imports Dagster, dbt or the bot.
"""
