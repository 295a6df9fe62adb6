"""Open the application's resources outside the web server (CLI commands, benchmarks, scripts)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bot.app import create_app
from bot.settings import Settings


@asynccontextmanager
async def open_app(settings: Settings, *, workers: bool = False) -> AsyncIterator[web.Application]:
    """Start the app's cleanup contexts (database, state, features) without serving HTTP.

    Background workers (inbox, outbox, scheduler) stay off unless `workers` is true.
    """
    if not workers:
        settings = settings.model_copy(update={"workers_enabled": False, "scheduler_enabled": False})
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        yield app
    finally:
        await runner.cleanup()
