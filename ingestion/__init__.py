"""Source adapters (Telegram channel pages, a local folder) and the media pipeline.

Plain Python on psycopg2 and httpx: the orchestration layer calls these functions; nothing here
imports Dagster, dbt or the bot.
"""

# Sent with every request to Telegram's web preview, download hosts and the Bot API, so their
# operators can tell who is calling.
USER_AGENT = "memefeed-ingestion/0.1 (+https://t.me/memefeed_bot)"
