"""`/healthz` tells the truth about the database and Redis; `/metrics` speaks Prometheus."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from bot.app import create_app
from bot.settings import Settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_healthz_ok(client: Any) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert (await resp.json()) == {"status": "ok", "checks": {"database": "ok"}}


async def test_healthz_503_when_database_unreachable(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/nowhere"
    client = await aiohttp_client(create_app(make_settings(database_url=url, auto_migrate=False)))
    resp = await client.get("/healthz")
    assert resp.status == 503
    data = await resp.json()
    assert data["status"] == "unavailable"
    assert data["checks"]["database"].startswith("unavailable")
    # The API answers 503 too (so clients retry), never a 500.
    resp = await client.get("/api/v1/dossiers", headers={"Authorization": "Bearer mc_x_y"})
    assert resp.status == 503
    assert (await resp.json())["error"]["code"] == "unavailable"


async def test_healthz_503_when_redis_unreachable(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    client = await aiohttp_client(create_app(settings))
    resp = await client.get("/healthz")
    assert resp.status == 503
    data = await resp.json()
    assert data["checks"]["database"] == "ok"
    assert data["checks"]["redis"].startswith("unavailable")


async def test_metrics(client: Any) -> None:
    await client.get("/healthz")
    resp = await client.get("/metrics")
    assert resp.status == 200
    text = await resp.text()
    assert 'motcua_http_requests_total{route="/healthz",status="200"}' in text
    assert "motcua_outbox_messages" in text or "# TYPE motcua_outbox_messages gauge" in text


async def test_unknown_route_is_json_404(client: Any) -> None:
    resp = await client.get("/nope")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"
    resp = await client.delete("/healthz")
    assert resp.status == 405
