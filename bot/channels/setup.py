"""Wiring of the channels: webhook routes, the PTB application, the Zalo client, the inbox and the outbox.

`setup_channels(app)` is listed in `bot.app.FEATURE_SETUPS`. Resources open in cleanup contexts (in order:
the write gate, inbox writer and pipeline; then each channel of `bot.channels.registry.CHANNELS`, in its
order, by the channel's own `lifecycle`). The inbox and outbox
workers start in `on_startup`, after every feature's cleanup context has registered its senders, and stop
in `on_shutdown`, before those resources close. Workers run only when `WORKERS_ENABLED`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from bot import keys
from bot.channels.base import SENDERS, Limits, limits_of
from bot.channels.registry import CHANNELS, declared_limits
from bot.inbox import (
    INBOX_ADAPTERS,
    INBOX_WORKERS,
    INBOX_WRITER,
    PIPELINE,
    WRITE_GATE,
    InboxWorkers,
    InboxWriter,
    create_write_gate,
)
from bot.outbox import OutboxWorker, list_outbox, senders_of
from bot.pipeline import Pipeline
from handlers.delivery import Delivery
from storage.db import SessionMaker, create_engine, create_sessionmaker

log = logging.getLogger(__name__)

OUTBOX_WORKER = web.AppKey("outbox_worker", OutboxWorker)
# How notices reach citizens; the outbox worker asks it for a refused notice's next path.
DELIVERY = web.AppKey("delivery", Delivery)
# The sessions of the inbox writer and the workers (on SQLite, over their own persistent connections).
WORK_SESSIONMAKER: web.AppKey[SessionMaker] = web.AppKey("work_sessionmaker")


async def core_ctx(app: web.Application) -> AsyncIterator[None]:
    """The write gate, the inbox writer and the pipeline."""
    from handlers import HANDLERS

    dialect = app[keys.ENGINE].dialect.name
    gate = create_write_gate(dialect)
    app[WRITE_GATE] = gate
    # On SQLite the workers' many small transactions reuse open connections (NullPool would open one each).
    own_engine = (
        create_engine(app[keys.SETTINGS].database_url, pool_size=2, persistent=True) if dialect == "sqlite" else None
    )
    sessionmaker = create_sessionmaker(own_engine) if own_engine is not None else app[keys.SESSIONMAKER]
    app[WORK_SESSIONMAKER] = sessionmaker
    writer = InboxWriter(sessionmaker, gate)
    app[INBOX_WRITER] = writer
    app[PIPELINE] = Pipeline(app[keys.CONTEXT], HANDLERS, channel_limits(app))
    app[DELIVERY] = Delivery(app[keys.SETTINGS], app[keys.CALENDAR], app[keys.CONTEXT].clock)
    app.setdefault(INBOX_ADAPTERS, {})
    try:
        yield
    finally:
        await writer.close()
        if own_engine is not None:
            await own_engine.dispose()


def channel_limits(app: web.Application) -> Callable[[str], Limits]:
    """The limits each channel declares, looked up when a reply is shaped: the opened channel object's
    (channels open while the app starts, after the pipeline exists), else its class in the registry."""
    declared = declared_limits()

    def of(channel: str) -> Limits:
        opened = app.get(SENDERS, {}).get(channel)
        return limits_of(opened) if opened is not None else declared.get(channel, Limits())

    return of


async def start_workers(app: web.Application) -> None:
    settings = app[keys.SETTINGS]
    if not settings.workers_enabled:
        return
    outbox = OutboxWorker(
        sessionmaker=app[WORK_SESSIONMAKER],
        state=app[keys.STATE],
        senders=senders_of(app),
        metrics=app[keys.METRICS],
        batch_size=settings.outbox_batch_size,
        lease_seconds=settings.outbox_lease_seconds,
        max_attempts=settings.outbox_max_attempts,
        backoff_seconds=settings.outbox_backoff_seconds,
        backoff_max_seconds=settings.outbox_backoff_max_seconds,
        poll_interval=settings.outbox_poll_interval_seconds,
        write_gate=app[WRITE_GATE],
        rerouter=app[DELIVERY].reroute,
    )
    inbox = InboxWorkers(
        sessionmaker=app[WORK_SESSIONMAKER],
        pipeline=app[PIPELINE],
        adapters=app[INBOX_ADAPTERS],
        metrics=app[keys.METRICS],
        workers=settings.inbox_workers,
        lease_seconds=settings.inbox_lease_seconds,
        max_attempts=settings.inbox_max_attempts,
        backoff_seconds=settings.outbox_backoff_seconds,
        backoff_max_seconds=settings.outbox_backoff_max_seconds,
        poll_interval=settings.outbox_poll_interval_seconds,
        write_gate=app[WRITE_GATE],
        on_enqueued=outbox.wake,
    )
    app[OUTBOX_WORKER] = outbox
    app[INBOX_WORKERS] = inbox
    outbox.start()
    inbox.start()
    channels: list[str] = sorted(inbox.adapters)
    log.info(
        "workers started: %d inbox worker(s) for %s, outbox senders %s",
        inbox.workers,
        ", ".join(channels) or "no channel",
        ", ".join(sorted(senders_of(app)())),
    )


async def stop_workers(app: web.Application) -> None:
    inbox = app.get(INBOX_WORKERS)
    if inbox is not None:
        await inbox.stop()
    outbox = app.get(OUTBOX_WORKER)
    if outbox is not None:
        await outbox.stop()


def _openapi(app: web.Application) -> None:
    from bot.api.openapi import add_paths, error_responses, ok
    from bot.outbox import OUTBOX_STATUSES

    time = {"type": "string", "format": "date-time", "nullable": True}
    message = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "idempotency_key": {"type": "string"},
            "channel": {"type": "string"},
            "kind": {"type": "string"},
            "status": {"type": "string", "enum": list(OUTBOX_STATUSES)},
            "attempts": {"type": "integer"},
            "created_at": time,
            "next_attempt_at": time,
            "sent_at": time,
            "last_error": {"type": "string", "nullable": True},
            "dossier_id": {"type": "integer", "nullable": True},
        },
    }
    params = [
        {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(OUTBOX_STATUSES)}},
        {"name": "channel", "in": "query", "schema": {"type": "string", "maxLength": 32}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
    ]
    listing = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": message}}}
    add_paths(
        app,
        {
            "/api/v1/outbox": {
                "get": {
                    "summary": "Outgoing messages, newest first (admin): find what failed or was undeliverable",
                    "parameters": params,
                    "responses": {**ok(listing), **error_responses(400, 401, 403)},
                }
            }
        },
    )


def setup_channels(app: web.Application) -> None:
    """Routes, resources and workers of the channels, inbox and outbox."""
    for channel in CHANNELS:
        for method, path, handler in channel.routes():
            app.router.add_route(method, path, handler)
    app.router.add_get("/api/v1/outbox", list_outbox)
    from bot.zalo_connect import setup_zalo_connect

    setup_zalo_connect(app)  # "Kết nối lại Zalo OA" (dashboard session, admin)
    _openapi(app)
    app.cleanup_ctx.append(core_ctx)
    for channel in CHANNELS:
        app.cleanup_ctx.append(channel.lifecycle)
    app.on_startup.append(start_workers)
    app.on_shutdown.append(stop_workers)


__all__ = ["OUTBOX_WORKER", "WORK_SESSIONMAKER", "setup_channels"]
