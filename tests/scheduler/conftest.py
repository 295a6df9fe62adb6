"""Fixtures of the scheduler tests: the fake clock and apps started on the test database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from bot.app import create_app
from bot.settings import Settings
from tests.fakes.fixtures import fake_zalo
from tests.scheduler.support import FakeClock

StartApp = Callable[..., Awaitable[web.Application]]
__all__ = ["StartApp", "fake_zalo"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock("2026-11-16T10:00")


@pytest.fixture
def start_app(aiohttp_client: Any, make_settings: Callable[..., Settings], clock: FakeClock) -> StartApp:
    """Start `create_app` on the test database with the fake clock; call it twice for two replicas."""

    async def start(**overrides: Any) -> web.Application:
        overrides.setdefault("workers_enabled", False)
        client = await aiohttp_client(create_app(make_settings(**overrides), clock=clock))
        app: web.Application = client.app
        return app

    return start
