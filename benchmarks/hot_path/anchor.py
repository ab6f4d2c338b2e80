"""The baseline: the anchor bot's hot path (reference sections 2 and 4, HEAD version), re-created.

Not our bot: a small PTB Application with the anchor's algorithm, run through the same
recording request and simulated users so every figure is comparable.

- Reaction (section 4): the cached `user_info` counters in Redis are bumped; the user's
  `last_active_at` update is fire and forget; `UPDATE user_meme_reaction ... WHERE reaction_id
  IS NULL` decides whether it is new; if so, `next_message`.
- next_message: pop the Redis list, check the meme is still ok and unsent (one query per pop),
  send (a dislike edits the message in place), then insert the sent row and fire and forget
  `check_queue`.
- check_queue (HEAD): a token lock `SET NX EX 30`; if the queue holds <= 8, generate 15: the
  user's stage engines run live, each with the language join and the seen-filter against the
  stats tables, then the blender picks 15; `RPUSH` + `EXPIRE 3600`.

Left out, as they are not on the recommendation path and leaving them out only favours the
baseline: popups, the daily token reward, the moderator invite, the languages lookup of
next_message. /start is only onboarding plus a synchronous first refill (the anchor generates
cold-start recommendations after the language picker); it runs in the warm-up only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
import redis.asyncio as aioredis
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
)

from benchmarks.hot_path.harness import BenchRequest

log = logging.getLogger(__name__)

REFILL_THRESHOLD = 8
REFILL_LIMIT = 15
QUEUE_TTL = 3600
USER_INFO_TTL = 3600
RETRY_CALLBACK = "q:empty"
SERVICES = "anchor_services"

# Shared parts of every engine: language join, seen-filter, queue exclusion (HEAD binds them).
_COMMON_JOINS = """
INNER JOIN app.user_language L ON L.user_id = $1 AND L.language_code = M.language_code
LEFT JOIN anchor.user_meme_source_stats UMSS
    ON UMSS.user_id = $1 AND UMSS.meme_source_id = M.meme_source_id
LEFT JOIN app.user_meme_reaction R ON R.meme_id = M.id AND R.user_id = $1
"""
_COMMON_WHERE = "M.status = 'ok' AND R.meme_id IS NULL AND M.id != ALL($2::bigint[])"
_SELECT = "SELECT M.id, M.type, M.telegram_file_id, M.caption"

ENGINES: dict[str, str] = {
    "best_uploaded_memes": f"""
        {_SELECT}, 'best_uploaded_memes' AS recommended_by
        FROM app.meme M
        INNER JOIN anchor.meme_stats MS ON MS.meme_id = M.id
        INNER JOIN app.meme_source S ON S.id = M.meme_source_id
        {_COMMON_JOINS}
        WHERE {_COMMON_WHERE} AND S.type = 'user upload'
        ORDER BY -1 * COALESCE((UMSS.nlikes + 1.) / (UMSS.nlikes + UMSS.ndislikes + 1.), 0.5)
            * (MS.nlikes + 1.) / (MS.nlikes + MS.ndislikes + 1.) NULLS LAST
        LIMIT $3
    """,
    "like_spread_and_recent_memes": f"""
        {_SELECT}, 'like_spread_and_recent_memes' AS recommended_by
        FROM app.meme M
        INNER JOIN anchor.meme_stats MS ON MS.meme_id = M.id
        {_COMMON_JOINS}
        WHERE {_COMMON_WHERE} AND MS.nlikes > MS.ndislikes AND MS.raw_impr_rank = 0
        ORDER BY (MS.nlikes - MS.ndislikes) / (MS.nmemes_sent + 1.)
            * CASE WHEN MS.age_days < 30 THEN 1 ELSE 0.5 END DESC
        LIMIT $3
    """,
    "lr_smoothed": f"""
        {_SELECT}, 'lr_smoothed' AS recommended_by
        FROM app.meme M
        INNER JOIN anchor.meme_stats MS ON MS.meme_id = M.id
        {_COMMON_JOINS}
        WHERE {_COMMON_WHERE} AND MS.nlikes > 1
        ORDER BY COALESCE((UMSS.nlikes + 1.) / (UMSS.nlikes + UMSS.ndislikes + 1.), 0.5)
            * MS.lr_smoothed DESC
        LIMIT $3
    """,
    "recently_liked": f"""
        WITH EVENTS AS (
            SELECT meme_id FROM app.user_meme_reaction
            WHERE reaction_id = 1 ORDER BY sent_at DESC LIMIT 10000
        ),
        LIKED AS (
            SELECT meme_id, COUNT(*) AS n FROM EVENTS GROUP BY meme_id HAVING COUNT(*) > 1
        )
        {_SELECT}, 'recently_liked' AS recommended_by
        FROM LIKED E
        INNER JOIN app.meme M ON M.id = E.meme_id
        {_COMMON_JOINS}
        WHERE {_COMMON_WHERE}
        LIMIT $3
    """,
    "goat": f"""
        WITH SCORES AS (
            {_SELECT},
                1.0 * (MS.nlikes - MS.ndislikes)::float / (MS.nmemes_sent + 1)
                * MS.lr_smoothed
                * (MS.nlikes + MS.ndislikes)::float / (MS.nmemes_sent + 1)
                * CASE WHEN MS.sec_to_react BETWEEN 2 AND 10 THEN 1 ELSE 0.6 END
                * CASE WHEN MS.invited_count > 0 THEN 1 ELSE 0.8 END
                * CASE WHEN MS.raw_impr_rank < 1 THEN 1 ELSE 0.8 END
                * (MSS.nlikes + MSS.ndislikes)::float / (MSS.nmemes_sent_events + 1.)
                * (UMSS.nlikes + 1.) / (UMSS.nlikes + UMSS.ndislikes + 1.) AS score
            FROM app.meme M
            INNER JOIN anchor.meme_stats MS ON MS.meme_id = M.id
            INNER JOIN anchor.meme_source_stats MSS ON MSS.meme_source_id = M.meme_source_id
            INNER JOIN anchor.user_meme_source_stats UMSS
                ON UMSS.user_id = $1 AND UMSS.meme_source_id = M.meme_source_id
            INNER JOIN app.user_language L
                ON L.user_id = $1 AND L.language_code = M.language_code
            LEFT JOIN app.user_meme_reaction R
                ON R.meme_id = M.id AND R.user_id = $1 AND R.sent_at > NOW() - INTERVAL '30 days'
            WHERE {_COMMON_WHERE}
                AND (MS.nlikes + MS.ndislikes) >= 10 AND MS.lr_smoothed >= 0.20
                AND M.created_at <= NOW() - INTERVAL '3 days'
        )
        SELECT id, type, telegram_file_id, caption, 'goat' AS recommended_by
        FROM SCORES ORDER BY score DESC NULLS LAST LIMIT $3
    """,
    "es_ranked": f"""
        {_SELECT}, 'es_ranked' AS recommended_by
        FROM app.meme M
        INNER JOIN anchor.meme_stats MS ON MS.meme_id = M.id
        {_COMMON_JOINS}
        WHERE {_COMMON_WHERE} AND MS.engagement_score > 0
        ORDER BY COALESCE((UMSS.nlikes + 1.) / (UMSS.nlikes + UMSS.ndislikes + 1.), 0.5)
            * MS.engagement_score DESC
        LIMIT $3
    """,
}

# HEAD weights per maturity stage; both stages present here have fixed_pos {0: lr_smoothed}.
GROWING_WEIGHTS = {
    "best_uploaded_memes": 0.1,
    "lr_smoothed": 0.3,
    "recently_liked": 0.2,
    "goat": 0.1,
    "es_ranked": 0.1,
    "like_spread_and_recent_memes": 0.2,
}
MATURE_WEIGHTS = {
    "best_uploaded_memes": 0.3,
    "like_spread_and_recent_memes": 0.3,
    "lr_smoothed": 0.4,
    "recently_liked": 0.2,
    "goat": 0.1,
    "es_ranked": 0.1,
}
COLD_START_EXPLORE = """
    SELECT M.id, M.type, M.telegram_file_id, M.caption, 'cold_start_explore' AS recommended_by
    FROM app.meme M
    INNER JOIN anchor.meme_stats MS ON MS.meme_id = M.id
    INNER JOIN app.user_language L ON L.user_id = $1 AND L.language_code = M.language_code
    LEFT JOIN app.user_meme_reaction R ON R.meme_id = M.id AND R.user_id = $1
    WHERE M.status = 'ok' AND R.meme_id IS NULL AND M.id != ALL($2::bigint[])
        AND (MS.nlikes + MS.ndislikes) >= 50 AND MS.lr_smoothed >= 0.40
    ORDER BY MS.lr_smoothed DESC, (MS.nlikes + MS.ndislikes) DESC
    LIMIT $3
"""

USER_INFO_SQL = """
SELECT U.type, COALESCE(US.nmemes_sent, 0) AS nmemes_sent,
    (SELECT COUNT(*) FROM app.user_meme_reaction
     WHERE user_id = $1 AND reacted_at >= DATE(NOW())) AS memes_watched_today,
    (SELECT language_code FROM app.user_language WHERE user_id = $1
     ORDER BY CASE language_code WHEN 'en' THEN 0 WHEN 'ru' THEN 1 ELSE 2 END DESC
     LIMIT 1) AS interface_lang
FROM app."user" U LEFT JOIN anchor.user_stats US ON US.user_id = U.id
WHERE U.id = $1
"""


def blend(
    candidates: dict[str, list[dict[str, Any]]],
    weights: dict[str, float],
    fixed_pos: dict[int, str],
    limit: int,
) -> list[dict[str, Any]]:
    """The anchor's blender (section 2): weighted engine picks, head items, dedup across all."""
    rng = random.Random()
    lists = {engine: list(items) for engine, items in candidates.items() if items}
    output: list[dict[str, Any]] = []
    while lists and len(output) < limit:
        fixed = fixed_pos.get(len(output))
        if fixed in lists:
            engine = fixed
        else:
            engines = list(lists)
            engine = rng.choices(engines, [weights[e] + 1e-6 for e in engines])[0]
        item = lists[engine][0]
        output.append(item)
        for name in list(lists):
            lists[name] = [c for c in lists[name] if c["id"] != item["id"]]
            if not lists[name]:
                del lists[name]
    return output


@dataclass
class AnchorServices:
    pool: asyncpg.Pool
    redis: aioredis.Redis
    background: set[asyncio.Task[Any]]


def services_of(context: ContextTypes.DEFAULT_TYPE) -> AnchorServices:
    return context.application.bot_data[SERVICES]


def queue_key(user_id: int) -> str:
    return f"meme_queue:{user_id}"


async def get_user_info(services: AnchorServices, user_id: int) -> dict[str, Any]:
    cached = await services.redis.get(f"user_info:{user_id}")
    if cached is not None:
        return json.loads(cached)
    row = await services.pool.fetchrow(USER_INFO_SQL, user_id)
    info = dict(row) if row is not None else {"type": "user", "nmemes_sent": 0}
    await services.redis.set(f"user_info:{user_id}", json.dumps(info), ex=USER_INFO_TTL)
    return info


async def update_user_info_counters(services: AnchorServices, user_id: int) -> None:
    info = await get_user_info(services, user_id)
    info["nmemes_sent"] = int(info.get("nmemes_sent") or 0) + 1
    info["memes_watched_today"] = int(info.get("memes_watched_today") or 0) + 1
    await services.redis.set(f"user_info:{user_id}", json.dumps(info), ex=USER_INFO_TTL)


async def generate_recommendations(services: AnchorServices, user_id: int, limit: int) -> int:
    info = await get_user_info(services, user_id)
    raw_queue = await services.redis.lrange(queue_key(user_id), 0, -1)
    in_queue = [json.loads(raw)["id"] for raw in raw_queue]
    nmemes_sent = int(info.get("nmemes_sent") or 0)
    if nmemes_sent < 30:
        rows = await services.pool.fetch(COLD_START_EXPLORE, user_id, in_queue, limit)
        selected = [dict(row) for row in rows]
    else:
        weights = MATURE_WEIGHTS if nmemes_sent >= 100 else GROWING_WEIGHTS
        candidates: dict[str, list[dict[str, Any]]] = {}
        for engine in weights:
            rows = await services.pool.fetch(ENGINES[engine], user_id, in_queue, limit)
            candidates[engine] = [dict(row) for row in rows]
        selected = blend(candidates, weights, {0: "lr_smoothed"}, limit)
    if selected:
        async with services.redis.pipeline(transaction=False) as pipe:
            pipe.rpush(queue_key(user_id), *(json.dumps(item) for item in selected))
            pipe.expire(queue_key(user_id), QUEUE_TTL)
            await pipe.execute()
    return len(selected)


async def check_queue(services: AnchorServices, user_id: int) -> bool:
    lock = f"meme_queue_lock:{user_id}"
    token = str(uuid.uuid4())
    if not await services.redis.set(lock, token, nx=True, ex=30):
        return False
    try:
        if await services.redis.llen(queue_key(user_id)) <= REFILL_THRESHOLD:
            await generate_recommendations(services, user_id, REFILL_LIMIT)
    except Exception:
        log.warning("check_queue failed for user %d", user_id, exc_info=True)
    finally:
        current = await services.redis.get(lock)
        if isinstance(current, bytes) and current.decode() == token:
            await services.redis.delete(lock)
    return True


def fire_and_forget(services: AnchorServices, coroutine: Any) -> None:
    task = asyncio.create_task(coroutine)
    services.background.add(task)
    task.add_done_callback(services.background.discard)


async def get_next_meme_for_user(services: AnchorServices, user_id: int) -> dict[str, Any] | None:
    for _ in range(10):
        raw = await services.redis.lpop(queue_key(user_id))
        if raw is None:
            return None
        meme = json.loads(cast(bytes, raw))
        sendable = await services.pool.fetchval(
            """
            SELECT M.id FROM app.meme M
            LEFT JOIN app.user_meme_reaction R ON R.meme_id = M.id AND R.user_id = $1
            WHERE M.id = $2 AND M.status = 'ok' AND R.meme_id IS NULL
            """,
            user_id,
            meme["id"],
        )
        if sendable is not None:
            return meme
    return None


def keyboard(meme_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("❤️", callback_data=f"r:{meme_id}:1"),
                InlineKeyboardButton("⏬", callback_data=f"r:{meme_id}:2"),
            ]
        ]
    )


async def next_message(
    context: ContextTypes.DEFAULT_TYPE, user_id: int, update: Update, reaction_id: int | None
) -> None:
    services = services_of(context)
    meme = await get_next_meme_for_user(services, user_id)
    if meme is None:
        fire_and_forget(services, check_queue(services, user_id))
        await context.bot.send_message(
            user_id,
            "⏳ preparing memes",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("⏳", callback_data=RETRY_CALLBACK)]]
            ),
        )
        return
    caption = (meme.get("caption") or "") + (
        f'\n\n<i><a href="https://t.me/bot?start=s_{user_id}_{meme["id"]}">memes</a></i>'
    )
    query = update.callback_query
    if reaction_id == 2 and query is not None and query.message is not None:
        await context.bot.edit_message_media(
            chat_id=user_id,
            message_id=query.message.message_id,
            media=InputMediaPhoto(meme["telegram_file_id"], caption=caption),
            reply_markup=keyboard(meme["id"]),
        )
    else:
        await context.bot.send_photo(
            user_id, meme["telegram_file_id"], caption=caption, reply_markup=keyboard(meme["id"])
        )
    await services.pool.execute(
        """
        INSERT INTO app.user_meme_reaction (user_id, meme_id, recommended_by)
        VALUES ($1, $2, $3) ON CONFLICT (user_id, meme_id) DO NOTHING
        """,
        user_id,
        meme["id"],
        meme["recommended_by"],
    )
    fire_and_forget(services, check_queue(services, user_id))


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    if user is None:
        return
    services = services_of(context)
    await services.pool.execute(
        """
        INSERT INTO app."user" (id, type, last_active_at) VALUES ($1, 'user', now())
        ON CONFLICT (id) DO UPDATE SET last_active_at = now()
        """,
        user.id,
    )
    await check_queue(services, user.id)
    await next_message(context, user.id, update, None)


async def react(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    services = services_of(context)
    meme_id, reaction_id = (int(part) for part in query.data[2:].split(":"))
    user_id = query.from_user.id
    await update_user_info_counters(services, user_id)
    fire_and_forget(
        services,
        services.pool.execute(
            'UPDATE app."user" SET last_active_at = now(), blocked_bot_at = NULL WHERE id = $1',
            user_id,
        ),
    )
    status = await services.pool.execute(
        """
        UPDATE app.user_meme_reaction SET reaction_id = $3, reacted_at = now()
        WHERE user_id = $1 AND meme_id = $2 AND reaction_id IS NULL
        """,
        user_id,
        meme_id,
        reaction_id,
    )
    await query.answer()
    if status.endswith(" 0"):
        return
    await next_message(context, user_id, update, reaction_id)


async def retry(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    await next_message(context, query.from_user.id, update, None)


def build_anchor_application(
    database_url: str, redis_url: str, request: BenchRequest, pool_size: int
) -> Application:
    async def open_services(application: Application) -> None:
        pool = await asyncpg.create_pool(
            database_url, min_size=1, max_size=pool_size, command_timeout=30
        )
        assert pool is not None
        application.bot_data[SERVICES] = AnchorServices(
            pool, aioredis.from_url(redis_url, max_connections=2000), set()
        )

    async def close_services(application: Application) -> None:
        services: AnchorServices | None = application.bot_data.pop(SERVICES, None)
        if services is None:
            return
        await wait_for_background(services)
        await services.redis.aclose()
        await services.pool.close()

    builder: ApplicationBuilder = (
        Application.builder()
        .token("123:ANCHOR")
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .concurrent_updates(64)
        .post_init(open_services)
        .post_shutdown(close_services)
        .request(request)
        .get_updates_request(request)
    )
    application = builder.build()
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(react, pattern=r"^r:"))
    application.add_handler(CallbackQueryHandler(retry, pattern=r"^q:empty$"))
    return application


async def wait_for_background(services: AnchorServices) -> None:
    while services.background:
        await asyncio.gather(*list(services.background), return_exceptions=True)
