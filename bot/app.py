"""The composition root: builds the PTB Application, opens PostgreSQL and Redis, routes updates."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
from telegram import BotCommand
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import community_handlers, handlers
from bot.delivery import Delivery
from bot.feed import Feed
from bot.reactions import ReactionWriter
from memefeed.db_urls import plain_postgres_url


@dataclass(frozen=True)
class BotConfig:
    token: str
    database_url: str
    redis_url: str
    api_base_url: str = "https://api.telegram.org/bot"
    file_base_url: str = "https://api.telegram.org/file/bot"
    refill_threshold: int = 8
    refill_batch: int = 20
    rate_limit: bool = True
    db_pool_size: int = 10
    redis_pool_size: int = 64
    review_chat_id: int | None = None
    tune_gc: bool = True


def build_application(config: BotConfig, request: BaseRequest | None = None) -> Application:
    builder: ApplicationBuilder = (
        Application.builder()
        .token(config.token)
        .base_url(config.api_base_url)
        .base_file_url(config.file_base_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        # Updates from different users run concurrently; each reaction write is idempotent.
        .concurrent_updates(64)
        .post_init(_open_services(config))
        .post_shutdown(_close_services)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if config.rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=2))
    application = builder.build()
    register_handlers(application)
    return application


@contextlib.asynccontextmanager
async def running_in_process(
    application: Application, *, poll: bool = False
) -> AsyncIterator[Application]:
    """Run the application inside the caller's event loop (the main job, tests, benchmarks).

    Initialises it and opens its services (post_init); with `poll`, long-polls getUpdates and
    processes updates until the block ends. Everything is undone on the way out.
    """
    await application.initialize()
    assert application.post_init is not None
    await application.post_init(application)
    try:
        if poll:
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0, timeout=1)
            await application.start()
        yield application
    finally:
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        assert application.post_shutdown is not None
        await application.post_shutdown(application)


def register_handlers(application: Application) -> None:
    """Commands, then buttons by prefix, then what people send; the catch-alls come last."""
    private = filters.ChatType.PRIVATE
    application.add_handler(
        ChatMemberHandler(handlers.chat_member, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    commands = {
        "start": handlers.start,
        "lang": handlers.lang,
        "help": handlers.help_command,
        "stats": handlers.stats,
        "last": handlers.last,
        "admin_stats": community_handlers.admin_statistics,
        "broadcast": community_handlers.broadcast,
    }
    for command, callback in commands.items():
        application.add_handler(CommandHandler(command, callback, filters=private))
    buttons = {
        r"^r:": handlers.react,
        r"^q:retry$": handlers.retry,
        r"^l:": handlers.choose_language,
        r"^u:": handlers.change_last_reaction,
        r"^m:": community_handlers.review,
    }
    for pattern, callback in buttons.items():
        application.add_handler(CallbackQueryHandler(callback, pattern=pattern))
    application.add_handler(
        MessageHandler(private & filters.PHOTO, community_handlers.upload_photo)
    )
    not_a_photo = (
        filters.Document.ALL
        | filters.VIDEO
        | filters.ANIMATION
        | filters.Sticker.ALL
        | filters.AUDIO
        | filters.VOICE
        | filters.VIDEO_NOTE
    )
    application.add_handler(
        MessageHandler(private & not_a_photo, community_handlers.refuse_non_image)
    )
    application.add_handler(MessageHandler(private & filters.TEXT, handlers.help_command))
    application.add_handler(CallbackQueryHandler(handlers.unknown_callback))
    application.add_error_handler(handlers.on_error)


def _open_services(config: BotConfig):
    async def open_services(application: Application) -> None:
        pool = await asyncpg.create_pool(
            plain_postgres_url(config.database_url),
            min_size=1,
            max_size=config.db_pool_size,
            command_timeout=10,
            reset=keep_session_state,
        )
        assert pool is not None
        # Bounded and blocking: a burst waits for a free connection instead of failing.
        redis = aioredis.Redis(
            connection_pool=aioredis.BlockingConnectionPool.from_url(
                config.redis_url, max_connections=config.redis_pool_size, timeout=10
            )
        )
        feed = Feed(
            pool,
            redis,
            refill_threshold=config.refill_threshold,
            refill_batch=config.refill_batch,
        )
        application.bot_data[handlers.SERVICES_KEY] = handlers.BotServices(
            pool=pool,
            redis=redis,
            feed=feed,
            delivery=Delivery(pool, feed),
            reactions=ReactionWriter(pool),
            review_chat_id=config.review_chat_id,
        )
        if config.tune_gc:
            tune_garbage_collection()
        await application.bot.set_my_commands(
            [
                BotCommand("start", "Continue the meme feed"),
                BotCommand("lang", "Languages of your memes"),
                BotCommand("stats", "Your numbers"),
                BotCommand("last", "Your last reaction, to change it"),
                BotCommand("help", "What the bot does"),
            ]
        )

    return open_services


def tune_garbage_collection() -> None:
    """Fewer and cheaper collector passes for a long-running bot process.

    Each update allocates thousands of short-lived PTB objects, so with the default gen-0
    threshold (700) the collector ran every few updates, and its passes over the long-lived
    heap (imports, PTB's tables, pools) were the latency tail: p99 25-40 ms against 7-8 ms at
    2,000 reactions/s offered (benchmarks/hot_path). Freezing takes what is alive once the
    services are open out of every later pass.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


async def keep_session_state(connection: asyncpg.Connection) -> None:
    """Skip asyncpg's per-release RESET ALL / UNLISTEN / CLOSE ALL round trip.

    The bot sets no session state, listens to nothing and takes no advisory locks; asyncpg
    still rolls back any transaction left open before this runs. The default reset doubled
    the bot's database round trips per meme (benchmarks/hot_path).
    """


async def _close_services(application: Application) -> None:
    services: handlers.BotServices | None = application.bot_data.pop(handlers.SERVICES_KEY, None)
    if services is None:
        return
    await services.reactions.close()
    await services.feed.close()
    await services.redis.aclose()
    await services.pool.close()
