"""A running app whose clock is fixed at `data.NOW`, holding the report data set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.settings import Settings
from tests.reports.data import NOW, load_rows


@pytest.fixture
async def report_client(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Any:
    """A test client on `create_app` (clock at 2 October 2025, 10:00 local) with the data set loaded."""
    from bot import keys
    from bot.app import create_app

    client = await aiohttp_client(create_app(make_settings(), clock=lambda: NOW))
    async with client.app[keys.SESSIONMAKER].begin() as session:
        await load_rows(session)
    return client


@pytest.fixture
def report_key(report_client: Any) -> Callable[..., Any]:
    """`await report_key("officer", "so-tu-phap")` → the Authorization header of a new key."""
    from bot import keys
    from storage.apikeys import create_api_key

    async def make(role: str = "admin", department: str | None = None) -> dict[str, str]:
        async with report_client.app[keys.SESSIONMAKER].begin() as session:
            _row, secret = await create_api_key(session, name=f"test-{role}", role=role, department_id=department)
        return {"Authorization": f"Bearer {secret}"}

    return make
