""" "Kết nối lại Zalo OA": a dead refresh token shows in /healthz; an admin grants access again through Zalo's
v4 permission flow with PKCE (the fake checks the verifier) and every sender uses the new tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from bot import keys
from bot.app import create_app
from bot.channels.base import SENDERS
from bot.settings import Settings
from handlers.base import Reply
from storage.apikeys import create_api_key
from storage.dossiers import NewDossier
from tests.channels.support import FAST
from tests.fakes import FakeZalo


async def sign_in(client: Any, role: str = "admin") -> None:
    async with client.app[keys.SESSIONMAKER].begin() as session:
        _row, secret = await create_api_key(session, name=f"dash-{role}", role=role)
    response = await client.post("/dashboard/login", data={"api_key": secret}, allow_redirects=False)
    assert response.status == 303


async def test_an_admin_reconnects_the_oa_and_every_sender_uses_the_new_tokens(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_zalo: FakeZalo
) -> None:
    settings = make_settings(**{**fake_zalo.settings(), **FAST, "zalo_access_token": None, "workers_enabled": False})
    client = await aiohttp_client(create_app(settings))
    fake_zalo.refresh_dead = True
    fake_zalo.interacted("zk1")
    zalo = client.app[SENDERS]["zalo"]
    assert (await zalo.send("zk1", Reply("Xin chào").to_payload())).status == "retry"  # refresh refused
    health = await (await client.get("/healthz")).json()
    assert health["status"] == "degraded" and "/dashboard/zalo/connect" in health["checks"]["zalo"]

    # Without a dashboard session: to the sign-in page.
    response = await client.get("/dashboard/zalo/connect", allow_redirects=False)
    assert response.headers["Location"] == "/dashboard/login"
    await sign_in(client)
    # The delivery page says what is wrong, offers the button and lists what nobody could receive.
    async with client.app[keys.SESSIONMAKER].begin() as session:
        await client.app[keys.DOSSIERS].create(
            session,
            NewDossier(procedure_id="cap-phieu-ly-lich-tu-phap", applicant_name="Lê Văn Cường", channel="direct"),
            actor="test",
        )
    assert 'href="/dashboard/delivery"' in await (await client.get("/dashboard")).text()  # linked for admins
    page = await (await client.get("/dashboard/delivery")).text()
    assert 'href="/dashboard/zalo/connect">Kết nối lại Zalo OA</a>' in page
    assert "Biên nhận" in page and "no phone number on the dossier" in page
    response = await client.get("/dashboard/zalo/connect", allow_redirects=False)
    assert response.status == 302
    target = urlsplit(response.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert target.path == "/v4/oa/permission" and query["redirect_uri"].endswith("/dashboard/zalo/callback")
    assert len(query["code_challenge"]) == 43 and query["state"]
    # The OA admin consents on Zalo's page, which sends them back with a code.
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(response.headers["Location"], allow_redirects=False) as consent,
    ):
        back = urlsplit(consent.headers["Location"])
    forged = await client.get("/dashboard/zalo/callback?code=CODE-1&state=forged", allow_redirects=False)
    assert forged.status == 400
    response = await client.get(f"/dashboard/zalo/callback?{back.query}", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/dashboard"
    # Used once: the same callback again is refused.
    again = await client.get(f"/dashboard/zalo/callback?{back.query}", allow_redirects=False)
    assert again.status == 400

    assert (await (await client.get("/healthz")).json())["status"] == "ok"
    assert (await zalo.send("zk1", Reply("Xin chào").to_payload())).status == "sent"
    template = {"text": "x", "zns": {"template_id": "tpl", "template_data": {}, "tracking_id": "t"}}
    assert (await client.app[SENDERS]["zns"].send("84912345678", template)).status == "sent"
    assert fake_zalo.messages("zk1")[-1].headers["access_token"] == fake_zalo.access_token
    assert fake_zalo.templates()[-1].headers["access_token"] == fake_zalo.access_token


async def test_an_officer_cannot_reconnect_the_oa(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_zalo: FakeZalo
) -> None:
    client = await aiohttp_client(create_app(make_settings(**fake_zalo.settings(), workers_enabled=False)))
    async with client.app[keys.SESSIONMAKER].begin() as session:
        _row, secret = await create_api_key(session, name="dash-officer", role="officer", department_id="cong-an")
    await client.post("/dashboard/login", data={"api_key": secret}, allow_redirects=False)
    response = await client.get("/dashboard/zalo/connect", allow_redirects=False)
    assert response.status == 403
    assert (await client.get("/dashboard/delivery", allow_redirects=False)).status == 403
    assert 'href="/dashboard/delivery"' not in await (await client.get("/dashboard")).text()
