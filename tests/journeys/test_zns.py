"""The ZNS sender against a small fake ZNS server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from bot import keys
from bot.app import create_app
from bot.channels.base import SENDERS
from bot.settings import Settings
from bot.zns import ZnsSender
from storage.models import PlatformToken
from tests.journeys.conftest import MONDAY_10AM, FakeClock

PAYLOAD = {
    "text": "Hồ sơ TTHCC-261123-0001 đã có kết quả",
    "zns": {
        "template_id": "251234",
        "template_data": {"customer_name": "Nguyễn Thị Hoa", "dossier_code": "TTHCC-261123-0001"},
        "tracking_id": "status:1:2:zns",
    },
}


class FakeZns:
    """Records requests; answers `error` = the code configured for the phone (0 by default)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.codes: dict[str, int] = {}
        self.http_status: int = 200

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        if self.http_status != 200:
            return web.Response(status=self.http_status, headers={"Retry-After": "7"}, text="busy")
        code = self.codes.get(body["phone"], 0)
        if code:
            return web.json_response({"error": code, "message": "refused"})
        return web.json_response(
            {"error": 0, "message": "Success", "data": {"msg_id": f"zns-{len(self.requests)}", "sent_time": "1"}}
        )


@pytest.fixture
async def fake_zns(aiohttp_server: Any) -> tuple[FakeZns, str]:
    fake = FakeZns()
    app = web.Application()
    app.router.add_post("/message/template", fake.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    return fake, str(server.make_url("")).rstrip("/")


async def static_token() -> str | None:
    return "access-1"


async def test_sends_the_template_with_tracking_id(fake_zns: tuple[FakeZns, str]) -> None:
    fake, url = fake_zns
    sender = ZnsSender(url, static_token)
    try:
        outcome = await sender.send("84912345678", PAYLOAD)
    finally:
        await sender.close()
    assert (outcome.status, outcome.platform_message_id) == ("sent", "zns-1")
    (request,) = fake.requests
    assert request["headers"]["access_token"] == "access-1"
    assert request["body"] == {
        "phone": "84912345678",
        "template_id": "251234",
        "template_data": {"customer_name": "Nguyễn Thị Hoa", "dossier_code": "TTHCC-261123-0001"},
        "tracking_id": "status:1:2:zns",
    }


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        (-108, "failed", "bad_phone"),
        (-118, "blocked", "user_cannot_receive"),
        (-119, "blocked", "user_cannot_receive"),
        (-114, "blocked", "user_cannot_receive"),
        (-115, "failed", "quota_exhausted"),
        (-144, "failed", "quota_exhausted"),
        (-131, "failed", "template_not_approved"),
        (-117, "failed", "template_not_approved"),
        (-124, "retry", "access token"),
        (-100, "retry", "unknown"),
        (-999, "failed", "refused"),
    ],
)
async def test_error_codes_map_to_outcomes(fake_zns: tuple[FakeZns, str], code: int, status: str, reason: str) -> None:
    fake, url = fake_zns
    fake.codes["84900000001"] = code
    sender = ZnsSender(url, static_token)
    try:
        outcome = await sender.send("84900000001", PAYLOAD)
    finally:
        await sender.close()
    assert outcome.status == status
    assert reason in (outcome.error or "")
    assert str(code) in (outcome.error or "")


async def test_server_trouble_is_retried_with_its_delay(fake_zns: tuple[FakeZns, str]) -> None:
    fake, url = fake_zns
    fake.http_status = 503
    sender = ZnsSender(url, static_token)
    try:
        outcome = await sender.send("84912345678", PAYLOAD)
    finally:
        await sender.close()
    assert (outcome.status, outcome.retry_after) == ("retry", 7.0)


async def test_unreachable_server_is_retried() -> None:
    sender = ZnsSender("http://127.0.0.1:9", static_token, timeout_seconds=2)
    try:
        outcome = await sender.send("84912345678", PAYLOAD)
    finally:
        await sender.close()
    assert outcome.status == "retry"


async def test_missing_template_or_token_fails_without_a_call(fake_zns: tuple[FakeZns, str]) -> None:
    fake, url = fake_zns

    async def no_token() -> str | None:
        return None

    sender = ZnsSender(url, no_token)
    try:
        assert (await sender.send("84912345678", PAYLOAD)).status == "failed"
        no_template = {**PAYLOAD, "zns": {**PAYLOAD["zns"], "template_id": None}}  # type: ignore[dict-item]
        assert (await ZnsSender(url, static_token).send("84912345678", no_template)).status == "failed"
    finally:
        await sender.close()
    assert fake.requests == []


async def test_app_sender_uses_the_token_the_zalo_channel_stores(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_zns: tuple[FakeZns, str]
) -> None:
    fake, url = fake_zns
    clock = FakeClock(MONDAY_10AM)
    settings = make_settings(zalo_zns_base_url=url, zalo_access_token="configured-token")
    client = await aiohttp_client(create_app(settings, clock=clock))
    sender = client.app[SENDERS]["zns"]
    assert (await sender.send("84912345678", PAYLOAD)).status == "sent"
    async with client.app[keys.SESSIONMAKER].begin() as session:
        session.add(
            PlatformToken(
                name="zalo_oa",
                access_token="rotated-token",
                refresh_token="r",
                expires_at=clock() + timedelta(hours=20),
            )
        )
    assert (await sender.send("84912345678", PAYLOAD)).status == "sent"
    assert [r["headers"]["access_token"] for r in fake.requests] == ["configured-token", "rotated-token"]
