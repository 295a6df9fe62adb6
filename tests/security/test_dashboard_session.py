"""The dashboard's session cookie cannot be forged, altered, replayed after revocation or carried elsewhere."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import keys
from bot.app import create_app
from bot.dashboard import COOKIE, Session, sign_session
from bot.settings import Settings
from storage.apikeys import hash_key, revoke_api_key
from storage.models import ApiKey, utcnow

PAGES = [
    "/dashboard",
    "/dashboard/export/summary.csv",
    "/dashboard/export/dossiers.csv",
    "/dashboard/export/overdue.csv",
]
SECRET = "s3cr3t-for-the-dashboard-tests-0123456789"


@pytest.fixture
async def dash(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Any:
    return await aiohttp_client(create_app(make_settings(session_secret=SECRET)))


async def sign_in(client: Any, key_headers: dict[str, str]) -> str:
    """Sign in with an API key; returns the session cookie's value."""
    secret = key_headers["Authorization"].removeprefix("Bearer ")
    resp = await client.post("/dashboard/login", data={"api_key": secret}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    value = resp.cookies[COOKIE].value
    client.session.cookie_jar.clear()
    return str(value)


async def get(client: Any, path: str, cookie: str | None) -> Any:
    client.session.cookie_jar.clear()
    headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie is not None else {}
    return await client.get(path, headers=headers, allow_redirects=False)


async def assert_refused(client: Any, cookie: str | None) -> None:
    for path in PAGES:
        resp = await get(client, path, cookie)
        assert resp.status < 500, path
        if path == "/dashboard":
            assert resp.status == 303 and resp.headers["Location"] == "/dashboard/login", path
        else:
            assert resp.status == 401, path


def _payload(cookie: str) -> dict[str, Any]:
    payload = cookie.split(".")[0]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def _reencode(data: dict[str, Any], mac: str) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{payload}.{mac}"


async def test_a_signed_in_session_works(dash: Any, api_key: Any) -> None:
    cookie = await sign_in(dash, await api_key("admin"))
    for path in PAGES:
        resp = await get(dash, path, cookie)
        assert resp.status == 200, path


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda c: "", id="empty"),
        pytest.param(lambda c: "garbage", id="garbage"),
        pytest.param(lambda c: c.split(".")[0], id="no-mac"),
        pytest.param(lambda c: c + ".x", id="two-dots"),
        pytest.param(lambda c: c[:-1] + ("0" if c[-1] != "0" else "1"), id="mac-flipped"),
        pytest.param(lambda c: ("B" if c[0] != "B" else "C") + c[1:], id="payload-flipped"),
        pytest.param(lambda c: c.upper(), id="upper"),
        pytest.param(lambda c: c + "0" * 600, id="huge"),
        pytest.param(lambda c: "ñ" + c, id="non-ascii"),
        pytest.param(lambda c: _reencode({**_payload(c), "k": _payload(c)["k"] + 1}, c.split(".")[1]), id="other-key"),
        pytest.param(lambda c: _reencode({**_payload(c), "e": 4102444800}, c.split(".")[1]), id="longer-expiry"),
        pytest.param(lambda c: _reencode({**_payload(c), "k": "1 OR 1=1"}, c.split(".")[1]), id="injection"),
        pytest.param(lambda c: _reencode({"k": 10**30, "e": 4102444800, "n": "x"}, c.split(".")[1]), id="huge-id"),
    ],
)
async def test_tampered_cookies_are_refused(dash: Any, api_key: Any, tamper: Callable[[str], str]) -> None:
    await api_key("officer", "so-tu-phap")  # a second key, so "other-key" points at a real row
    cookie = await sign_in(dash, await api_key("admin"))
    await assert_refused(dash, tamper(cookie))


async def test_cookie_signed_with_another_secret_is_refused(dash: Any, api_key: Any) -> None:
    await sign_in(dash, await api_key("admin"))
    async with dash.app[keys.SESSIONMAKER]() as db:
        key_id = (await db.execute(select(ApiKey.id).where(ApiKey.role == "admin"))).scalars().first()
    expires = int((utcnow() + timedelta(hours=1)).timestamp())
    forged = sign_session(b"not-the-secret", Session(key_id=key_id, expires=expires, nonce="n"))
    await assert_refused(dash, forged)


async def test_forged_with_the_right_secret_but_for_an_integration_key_is_refused(dash: Any, api_key: Any) -> None:
    """Even a correctly signed session is worth nothing for a key that may not use the dashboard."""
    headers = await api_key("integration")
    secret = headers["Authorization"].removeprefix("Bearer ")
    async with dash.app[keys.SESSIONMAKER]() as db:
        key_id = (await db.execute(select(ApiKey.id).where(ApiKey.key_hash == hash_key(secret)))).scalar_one()
    expires = int((utcnow() + timedelta(hours=1)).timestamp())
    await assert_refused(dash, sign_session(SECRET.encode(), Session(key_id=key_id, expires=expires, nonce="n")))
    resp = await dash.post("/dashboard/login", data={"api_key": secret}, allow_redirects=False)
    assert resp.status == 403


async def test_expired_session_is_refused(
    aiohttp_client: Any, make_settings: Callable[..., Settings], api_key: Any, dash: Any
) -> None:
    cookie = await sign_in(dash, await api_key("admin"))
    later = aiohttp_client(
        create_app(make_settings(session_secret=SECRET), clock=lambda: utcnow() + timedelta(hours=8, seconds=1))
    )
    await assert_refused(await later, cookie)


async def test_revoking_the_key_ends_its_sessions(dash: Any, api_key: Any) -> None:
    headers = await api_key("admin")
    cookie = await sign_in(dash, headers)
    assert (await get(dash, "/dashboard", cookie)).status == 200
    secret = headers["Authorization"].removeprefix("Bearer ")
    async with dash.app[keys.SESSIONMAKER].begin() as db:
        key_id = (await db.execute(select(ApiKey.id).where(ApiKey.key_hash == hash_key(secret)))).scalar_one()
        await revoke_api_key(db, key_id)
    await assert_refused(dash, cookie)


async def test_a_session_is_valid_on_every_replica_sharing_the_secret(
    aiohttp_client: Any, make_settings: Callable[..., Settings], api_key: Any, dash: Any
) -> None:
    cookie = await sign_in(dash, await api_key("admin"))
    other = await aiohttp_client(create_app(make_settings(session_secret=SECRET)))
    assert (await get(other, "/dashboard", cookie)).status == 200
    stranger = await aiohttp_client(create_app(make_settings(session_secret="another-centre-" + SECRET)))
    await assert_refused(stranger, cookie)


async def test_cross_site_sign_in_and_sign_out_are_refused(dash: Any, api_key: Any) -> None:
    headers = await api_key("admin")
    secret = headers["Authorization"].removeprefix("Bearer ")
    resp = await dash.post(
        "/dashboard/login", data={"api_key": secret}, headers={"Origin": "https://evil.example"}, allow_redirects=False
    )
    assert resp.status == 403
    assert COOKIE not in resp.cookies
    cookie = await sign_in(dash, headers)
    resp = await dash.post(
        "/dashboard/logout",
        data={"csrf": "wrong"},
        headers={"Cookie": f"{COOKIE}={cookie}", "Sec-Fetch-Site": "cross-site"},
        allow_redirects=False,
    )
    assert resp.status == 403


async def test_officer_session_sees_only_their_department(dash: Any, api_key: Any) -> None:
    kb = dash.app[keys.KB]
    proc_a = next(p for p in kb.procedures if p.processing_time.days)
    other = next(d for d in kb.departments if d.id != proc_a.department)
    body = {"procedure_id": proc_a.id, "applicant": {"name": "Vũ Thị Mai", "phone": "0911222333"}, "channel": "direct"}
    resp = await dash.post("/api/v1/dossiers", json=body, headers=await api_key("admin"))
    code = (await resp.json())["code"]
    cookie = await sign_in(dash, await api_key("officer", other.id))
    resp = await get(dash, f"/dashboard/dossiers/{code}", cookie)
    assert resp.status in (403, 404)
    assert "Vũ Thị Mai" not in await resp.text()
    resp = await get(dash, "/dashboard/export/dossiers.csv", cookie)
    assert resp.status == 200
    assert code not in await resp.text()


def test_session_expiry_is_checked_against_the_clock() -> None:
    """The signing helpers themselves: a valid cookie read after its expiry is None."""
    from bot.dashboard import read_session

    now = datetime(2026, 3, 2, 9, 0)
    session = Session(key_id=1, expires=int(now.timestamp()) + 60, nonce="n")
    cookie = sign_session(b"k", session)
    assert read_session(b"k", cookie, now) == session
    assert read_session(b"k", cookie, now + timedelta(seconds=61)) is None
    assert read_session(b"other", cookie, now) is None


async def _csrf(client: Any, cookie: str) -> str:
    import re

    html = await (await get(client, "/dashboard", cookie)).text()
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


async def test_signing_out_ends_the_session_on_every_replica(
    aiohttp_client: Any, make_settings: Callable[..., Settings], redis_url: str | None, api_key: Any
) -> None:
    """The old cookie opened /dashboard and its exports until its 8-hour expiry after sign-out."""
    settings = make_settings(session_secret=SECRET, redis_url=redis_url)
    first = await aiohttp_client(create_app(settings))
    key = await api_key("admin")
    cookie = await sign_in(first, key)
    replicas = [first]
    if redis_url is not None:  # a second replica shares the database and Redis
        replicas.append(await aiohttp_client(create_app(settings)))
    for replica in replicas:
        for path in PAGES:
            assert (await get(replica, path, cookie)).status == 200, path
    token = await _csrf(first, cookie)
    first.session.cookie_jar.clear()
    resp = await first.post(
        "/dashboard/logout", data={"csrf": token}, headers={"Cookie": f"{COOKIE}={cookie}"}, allow_redirects=False
    )
    assert resp.status == 303
    for replica in replicas:
        await assert_refused(replica, cookie)
    # Signing in again gives a new session that works.
    fresh = await sign_in(replicas[-1], key)
    assert (await get(first, "/dashboard", fresh)).status == 200
