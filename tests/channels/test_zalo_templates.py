"""ZBS template messages (the `zns` channel) against the fake Zalo API: by phone and by UID, the OA channel's
token store, and each refusal mapped to what the outbox does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import create_app
from bot.channels.base import SENDERS
from bot.channels.zalo_templates import next_morning
from bot.settings import Settings
from tests.fakes import FakeZalo

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PHONE = "84912345678"


def template(by: str = "phone", template_id: str | None = "tpl-status") -> dict[str, Any]:
    return {
        "text": "Hồ sơ đã có kết quả",
        "zns": {"template_id": template_id, "template_data": {"dossier_code": "X-1"}, "tracking_id": "k:1", "by": by},
    }


@pytest.fixture
async def zns(aiohttp_client: Any, make_settings: Callable[..., Settings], fake_zalo: FakeZalo) -> Any:
    client = await aiohttp_client(create_app(make_settings(**fake_zalo.settings(), workers_enabled=False)))
    return client.app[SENDERS]["zns"]


async def test_by_phone_and_by_uid(zns: Any, fake_zalo: FakeZalo) -> None:
    assert (await zns.send(PHONE, template())).status == "sent"
    assert (await zns.send("zu-1", template("uid"))).status == "sent"
    by_phone, by_uid = fake_zalo.templates()
    assert by_phone.params == {
        "phone": PHONE,
        "template_id": "tpl-status",
        "template_data": {"dossier_code": "X-1"},
        "tracking_id": "k:1",
    }
    assert by_uid.params["user_id"] == "zu-1" and "phone" not in by_uid.params
    assert by_phone.headers["access_token"] == fake_zalo.access_token


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (-118, "reroute"),
        (-114, "blocked"),
        (-213, "blocked"),
        (-230, "reroute"),
        (-108, "failed"),
        (-131, "failed"),
        (-100, "retry"),
        (-32, "retry"),
        (-999, "failed"),
    ],
)
async def test_refusals_map_to_outcomes(zns: Any, fake_zalo: FakeZalo, code: int, status: str) -> None:
    fake_zalo.fail(error=code, user_id=PHONE, path="/message/template")
    outcome = await zns.send(PHONE, template())
    assert outcome.status == status
    assert str(code) in (outcome.error or "")


async def test_sending_hours_and_quota_wait_for_the_morning(zns: Any, fake_zalo: FakeZalo) -> None:
    fake_zalo.fail(error=-133, user_id=PHONE, path="/message/template")
    hours = await zns.send(PHONE, template())
    assert (hours.status, hours.reason) == ("retry", "sending_hours")
    assert hours.not_before is not None and hours.not_before.astimezone(TZ).hour == 7
    fake_zalo.fail(error=-211, user_id=PHONE, path="/message/template")
    quota = await zns.send(PHONE, template())
    assert (quota.status, quota.reason) == ("retry", "quota")
    assert quota.not_before is not None and quota.not_before.astimezone(TZ).date() > datetime.now(TZ).date()


def test_next_morning() -> None:
    late = datetime(2026, 12, 5, 15, 30, tzinfo=UTC)  # 22:30 local
    early = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)  # 03:00 local on the 5th
    assert next_morning(late, TZ) == datetime(2026, 12, 6, 7, 0, tzinfo=TZ)
    assert next_morning(early, TZ) == datetime(2026, 12, 5, 7, 0, tzinfo=TZ)
    assert next_morning(early, TZ, next_day=True) == datetime(2026, 12, 6, 7, 0, tzinfo=TZ)


async def test_an_expired_token_is_refreshed_once_and_the_call_retried(zns: Any, fake_zalo: FakeZalo) -> None:
    fake_zalo.expire_access_token()
    assert (await zns.send(PHONE, template())).status == "sent"
    assert len(fake_zalo.refresh_calls) == 1
    assert fake_zalo.templates()[-1].headers["access_token"] == fake_zalo.access_token


async def test_no_template_id_fails_without_a_call(zns: Any, fake_zalo: FakeZalo) -> None:
    assert (await zns.send(PHONE, template(template_id=None))).status == "failed"
    assert fake_zalo.calls == []
