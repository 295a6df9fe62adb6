"""Wrong API keys are limited per client: the API and the dashboard sign-in answer 429 once a client has
presented too many, other clients are unaffected, and a client cannot dodge the limit with X-Forwarded-For
unless it comes through a trusted proxy. With Redis the budget is shared by the replicas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.app import create_app
from bot.settings import Settings

LIMIT = 3
WRONG = {"Authorization": "Bearer mc_00000000_not-a-key-at-all"}


@pytest.fixture
def settings(make_settings: Callable[..., Settings], redis_url: str | None) -> Settings:
    return make_settings(redis_url=redis_url, auth_fail_limit=LIMIT, auth_fail_window_seconds=600)


def via(address: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    """Headers of a request that nginx (on this host) forwarded for `address`."""
    return {**(headers or {}), "X-Forwarded-For": address}


async def test_too_many_wrong_keys_get_429_then_even_the_right_key_waits(client: Any, api_key: Any) -> None:
    good = await api_key("admin")
    for _ in range(LIMIT):
        resp = await client.get("/api/v1/dossiers", headers=via("203.0.113.5", WRONG))
        assert resp.status == 401
    resp = await client.get("/api/v1/dossiers", headers=via("203.0.113.5", WRONG))
    assert resp.status == 429
    body = await resp.json()
    assert body["error"]["code"] == "too_many_attempts"
    assert 1 <= int(resp.headers["Retry-After"]) <= 600
    assert (await client.get("/api/v1/dossiers", headers=via("203.0.113.5", good))).status == 429
    # Another client behind the same proxy is not held up, and a right key never counts as a failure.
    for _ in range(LIMIT + 2):
        assert (await client.get("/api/v1/dossiers", headers=via("203.0.113.6", good))).status == 200


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(
    aiohttp_client: Any, make_settings: Callable[..., Settings], redis_url: str | None
) -> None:
    # The test client connects from 127.0.0.1; trusting only another address makes it an ordinary client.
    settings = make_settings(redis_url=redis_url, auth_fail_limit=LIMIT, trusted_proxies="192.0.2.1")
    client = await aiohttp_client(create_app(settings))
    statuses = [
        (await client.get("/api/v1/dossiers", headers=via(f"198.51.100.{n}", WRONG))).status for n in range(LIMIT + 1)
    ]
    assert statuses == [401] * LIMIT + [429]


async def test_the_forwarded_chain_is_read_from_the_proxy_end(client: Any) -> None:
    # A client may put anything at the start of X-Forwarded-For; nginx appends the address it saw.
    for n in range(LIMIT):
        resp = await client.get("/api/v1/dossiers", headers=via(f"10.9.9.{n}, 203.0.113.7", WRONG))
        assert resp.status == 401
    assert (await client.get("/api/v1/dossiers", headers=via("10.1.1.1, 203.0.113.7", WRONG))).status == 429
    assert (await client.get("/api/v1/dossiers", headers=via("garbage, 203.0.113.8", WRONG))).status == 401


async def test_dashboard_sign_in_is_limited_too(client: Any, api_key: Any) -> None:
    good = (await api_key("admin"))["Authorization"].removeprefix("Bearer ")
    for _ in range(LIMIT):
        resp = await client.post(
            "/dashboard/login", data={"api_key": "sai-khoa"}, headers=via("203.0.113.9"), allow_redirects=False
        )
        assert resp.status == 401
    resp = await client.post(
        "/dashboard/login", data={"api_key": good}, headers=via("203.0.113.9"), allow_redirects=False
    )
    assert resp.status == 429
    assert "Đã nhập sai khóa truy cập quá nhiều lần" in await resp.text()
    assert int(resp.headers["Retry-After"]) >= 1
    resp = await client.post(
        "/dashboard/login", data={"api_key": good}, headers=via("203.0.113.10"), allow_redirects=False
    )
    assert resp.status == 303  # someone else signs in as usual


async def test_the_budget_is_shared_by_the_replicas(
    aiohttp_client: Any, settings: Settings, redis_url: str | None
) -> None:
    if redis_url is None:
        pytest.skip("replicas share the budget through Redis; the in-process store is per replica")
    replicas = [await aiohttp_client(create_app(settings)) for _ in range(2)]
    statuses = [
        (await replicas[n % 2].get("/api/v1/dossiers", headers=via("203.0.113.11", WRONG))).status
        for n in range(LIMIT + 1)
    ]
    assert statuses == [401] * LIMIT + [429]


def test_a_bad_trusted_proxies_value_stops_the_start(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValueError, match="'nginx' is not an IP address"):
        make_settings(trusted_proxies="127.0.0.1, nginx")
    assert make_settings(trusted_proxies="10.0.0.0/8 ::1").trusted_proxies == "10.0.0.0/8 ::1"
