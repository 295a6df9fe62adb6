"""Pytest fixtures that start the fakes on 127.0.0.1: `from tests.fakes.fixtures import fake_telegram, fake_zalo`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.sms import FakeSmsGateway
from tests.fakes.telegram import FakeTelegram
from tests.fakes.zalo import FakeZalo


@pytest.fixture
async def fake_telegram(aiohttp_server: Any) -> FakeTelegram:
    """A running fake Bot API; `fake_telegram.settings()` gives the settings that point at it."""
    fake = FakeTelegram()
    server = await aiohttp_server(fake.app)
    fake.base_url = f"http://127.0.0.1:{server.port}/bot"
    return fake


@pytest.fixture
async def fake_zalo(aiohttp_server: Any) -> AsyncIterator[FakeZalo]:
    """A running fake Zalo OA API and OAuth server; `fake_zalo.settings()` points the bot at it."""
    fake = FakeZalo()
    server = await aiohttp_server(fake.app)
    fake.base_url = f"http://127.0.0.1:{server.port}"
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
async def fake_sms(aiohttp_server: Any) -> FakeSmsGateway:
    """A running fake SMS gateway; `fake_sms.settings()` points the bot at it."""
    fake = FakeSmsGateway()
    server = await aiohttp_server(fake.app, host="127.0.0.1")
    fake.url = str(server.make_url("/sms/send"))
    return fake


__all__ = ["fake_sms", "fake_telegram", "fake_zalo"]
