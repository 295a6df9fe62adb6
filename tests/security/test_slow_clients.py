"""Slow and vanishing clients: a body that trickles or never comes is cut off; a client that hangs up is
counted apart from a backing service that is down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from bot import keys
from bot.app import create_app
from bot.settings import Settings

HEAD = (
    b"POST /api/v1/dossiers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 100\r\n\r\n"
)


def count(app: Any, status: str) -> float:
    value = app[keys.REGISTRY].get_sample_value(
        "motcua_http_requests_total", {"route": "/api/v1/dossiers", "status": status}
    )
    return float(value or 0)


@pytest.fixture
async def server(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Any:
    return await aiohttp_client(create_app(make_settings(body_read_timeout_seconds=0.5)))


@pytest.mark.parametrize("body", [b"", b'{"procedure_id"'])
async def test_a_body_that_never_arrives_gets_408_and_the_socket_is_closed(server: Any, body: bytes) -> None:
    """Complete headers then a trickle or nothing kept the socket open indefinitely (200 held at 100 s)."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(HEAD + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=5)  # read() returns at EOF: the server closed
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"request_timeout" in answer
    assert count(server.app, "408") == 1


async def test_a_body_that_arrives_in_time_is_read(server: Any) -> None:
    resp = await server.post("/api/v1/dossiers", data=b"{}", headers={"Content-Type": "application/json"})
    assert resp.status == 401  # got through to authentication


async def test_a_client_hanging_up_mid_request_is_not_a_503(server: Any, caplog: pytest.LogCaptureFixture) -> None:
    """It was logged as "service unavailable" and counted as a 503."""
    caplog.set_level(logging.INFO, logger="bot.http")
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(HEAD + b'{"procedure_id": "x"')
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.transport.abort()  # the client vanishes halfway through its body
    for _ in range(100):
        if count(server.app, "499"):
            break
        await asyncio.sleep(0.02)
    assert count(server.app, "499") == 1
    assert count(server.app, "503") == 0
    assert not [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert [r for r in caplog.records if "client closed the connection" in r.getMessage()]
