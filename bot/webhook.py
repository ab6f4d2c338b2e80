"""Webhook mode under ASGI: Telegram posts updates here; the secret token is required."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.handlers import SERVICES_KEY, BotServices

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1_000_000


def build_webhook_app(
    application: Application, *, secret_token: str, public_url: str | None = None
) -> Starlette:
    """An ASGI app that feeds verified updates into `application`.

    With `public_url`, the webhook is registered with Telegram at start-up.
    """
    if not secret_token:
        raise ValueError("webhook mode needs a secret token")

    async def receive_update(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret_token.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return PlainTextResponse("update too large", status_code=413)
        try:
            update = Update.de_json(json.loads(body), application.bot)
        except (ValueError, TypeError, KeyError) as error:
            log.warning("rejected a malformed update: %s", error)
            return PlainTextResponse("malformed update", status_code=400)
        await application.update_queue.put(update)
        return Response(status_code=200)

    async def healthz(request: Request) -> Response:
        services: BotServices | None = application.bot_data.get(SERVICES_KEY)
        if services is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            await services.pool.fetchval("select 1")
            await services.redis.ping()
        except Exception as error:  # any dependency failure makes the replica unhealthy
            return JSONResponse({"status": "unhealthy", "error": str(error)}, status_code=503)
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)
        if public_url is not None:
            await application.bot.set_webhook(
                public_url.rstrip("/") + WEBHOOK_PATH,
                secret_token=secret_token,
                allowed_updates=Update.ALL_TYPES,
            )
        await application.start()
        try:
            yield
        finally:
            await application.stop()
            await application.shutdown()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)

    return Starlette(
        routes=[
            Route(WEBHOOK_PATH, receive_update, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
