"""How notices reach citizens, as dialogues on the fakes: a running app, the fake Zalo API (which enforces the
48-hour window by the last message it saw, template rules and error codes), a fake SMS gateway, and a clock
the test moves (shared by the app and the fake Zalo)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import keys
from bot.app import create_app
from bot.channels.setup import DELIVERY
from bot.outbox import OutboxWorker, senders_of
from bot.settings import Settings
from storage.apikeys import create_api_key
from storage.contacts import get_contact, link_contact
from storage.dossiers import NewDossier
from storage.models import ChatContact, Dossier, OutboxMessage
from tests.channels.support import FAST
from tests.fakes import FakeZalo, sign_zalo_event, zalo_event
from tests.fakes.base import wait_until
from tests.fakes.sms import FakeSmsGateway
from tests.journeys.conftest import PROCEDURE, TZ

PHONE = "0912345678"
PHONE_84 = "84912345678"
TEMPLATES = {
    "zns_template_receipt": "tpl-receipt",
    "zns_template_status": "tpl-status",
    "zns_template_reminder": "tpl-reminder",
    "zns_template_rating": "tpl-rating",
}


class Clock:
    """The app's and the fake Zalo's clock: real time plus what the test added."""

    def __init__(self, start: datetime | None = None) -> None:
        self.offset = timedelta(0) if start is None else start - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)

    def set_local(self, year: int, month: int, day: int, hour: int, minute: int = 0) -> None:
        self.offset = datetime(year, month, day, hour, minute, tzinfo=TZ) - datetime.now(UTC)


@dataclass
class Centre:
    client: Any
    zalo: FakeZalo
    clock: Clock

    @property
    def app(self) -> Any:
        return self.client.app

    async def citizen_writes(self, uid: str, text: str = "xin chào", msg_id: str | None = None) -> None:
        """The citizen writes on Zalo and the bot answers (their contact now exists)."""
        before = len(self.zalo.messages(uid))
        raw, headers = sign_zalo_event(zalo_event("user_send_text", uid, text=text, msg_id=msg_id or f"m-{uid}"))
        response = await self.client.post("/webhooks/zalo", data=raw, headers=headers)
        assert response.status == 200
        await self.zalo.wait_for(lambda: len(self.zalo.messages(uid)) > before)

    async def new_dossier(self, **fields: Any) -> Dossier:
        values: dict[str, Any] = {
            "procedure_id": PROCEDURE,
            "applicant_name": "Nguyễn Thị Hoa",
            "applicant_phone": PHONE,
            "channel": "direct",
        }
        values.update(fields)
        async with self.app[keys.SESSIONMAKER].begin() as session:
            return await self.app[keys.DOSSIERS].create(session, NewDossier(**values), actor="test")

    async def link(self, uid: str, dossier: Dossier) -> None:
        async with self.app[keys.SESSIONMAKER].begin() as session:
            contact = await get_contact(session, "zalo", uid)
            assert contact is not None
            await link_contact(session, contact, dossier, "code")

    async def set_status(self, dossier: Dossier, status: str) -> None:
        async with self.app[keys.SESSIONMAKER].begin() as session:
            fresh = await self.app[keys.DOSSIERS].get(session, dossier.code)
            await self.app[keys.DOSSIERS].change(session, fresh, actor="test", status=status)

    async def rows(self, kind: str | None = None) -> list[OutboxMessage]:
        async with self.app[keys.SESSIONMAKER]() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if kind is not None:
                query = query.where(OutboxMessage.kind == kind)
            return list((await session.execute(query)).scalars())

    async def settled(self) -> None:
        """Wait until every outbox row has its verdict stored."""
        await wait_until(lambda: _all_final(self))

    async def contact(self, uid: str) -> ChatContact:
        async with self.app[keys.SESSIONMAKER]() as session:
            found = await get_contact(session, "zalo", uid)
        assert found is not None
        return found

    def status_templates(self, **who: str) -> list[Any]:
        return [c for c in self.zalo.templates(**who) if c.params["template_id"] == "tpl-status"]

    def status_texts(self, uid: str, code: str) -> list[str]:
        return [t for t in self.zalo.texts(uid) if code in t]

    async def admin(self) -> dict[str, str]:
        async with self.app[keys.SESSIONMAKER].begin() as session:
            _row, secret = await create_api_key(session, name="test-admin", role="admin")
        return {"Authorization": f"Bearer {secret}"}


MakeCentre = Callable[..., Any]


@pytest.fixture
async def make_centre(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_zalo: FakeZalo, redis_url: str | None
) -> MakeCentre:
    async def build(clock: Clock | None = None, **overrides: Any) -> Centre:
        clock = clock or Clock()
        fake_zalo.clock = clock
        values: dict[str, Any] = {
            **fake_zalo.settings(),
            **FAST,
            **TEMPLATES,
            "redis_url": redis_url,
            "quiet_hours": "",
        }
        values.update(overrides)
        client = await aiohttp_client(create_app(make_settings(**values), clock=clock))
        return Centre(client, fake_zalo, clock)

    return build


# --- which path -----------------------------------------------------------------------------------------


async def test_silent_for_three_days_gets_result_ready_as_a_template_by_uid(make_centre: MakeCentre) -> None:
    centre = await make_centre()
    await centre.citizen_writes("zu1")
    dossier = await centre.new_dossier()
    await centre.link("zu1", dossier)
    centre.clock.advance(days=3)
    await centre.set_status(dossier, "result_ready")
    await centre.zalo.wait_for(lambda: len(centre.status_templates(user_id="zu1")) == 1)
    [call] = centre.status_templates(user_id="zu1")
    assert call.params["template_data"]["dossier_code"] == dossier.code
    assert call.headers["access_token"] == centre.zalo.access_token
    assert centre.status_texts("zu1", dossier.code) == []  # no consultation message was even tried
    assert not [c for c in centre.zalo.calls if c.error is not None]
    await centre.settled()
    [row] = await centre.rows("status")
    assert (row.channel, row.recipient, row.status) == ("zns", "zu1", "sent")


async def test_wrote_40_hours_ago_gets_a_consultation_replying_to_that_message(make_centre: MakeCentre) -> None:
    centre = await make_centre()
    await centre.citizen_writes("zu2", msg_id="m-last")
    dossier = await centre.new_dossier()
    await centre.link("zu2", dossier)
    centre.clock.advance(hours=40)
    await centre.set_status(dossier, "result_ready")
    await wait_until(lambda: len(centre.status_texts("zu2", dossier.code)) == 1)
    [call] = [c for c in centre.zalo.messages("zu2") if dossier.code in str(c.params["message"].get("text"))]
    assert call.params["recipient"] == {"user_id": "zu2", "message_id": "m-last"}
    assert centre.zalo.paid == [] and centre.status_templates() == []


async def test_four_days_is_a_consultation_only_with_the_paid_window(make_centre: MakeCentre) -> None:
    centre = await make_centre(zalo_paid_window=True)
    centre.zalo.paid_window = True  # the OA enabled it at Zalo too
    await centre.citizen_writes("zu3")
    dossier = await centre.new_dossier()
    await centre.link("zu3", dossier)
    centre.clock.advance(days=4)
    await centre.set_status(dossier, "result_ready")
    await wait_until(lambda: len(centre.status_texts("zu3", dossier.code)) == 1)
    assert len(centre.zalo.paid) == 1  # billed: the OA enabled the 48 h – 7 d window
    [call] = centre.zalo.paid
    assert "message_id" not in call.params["recipient"]  # not a reply any more
    centre.clock.advance(days=4)  # 8 days: not even paid
    await centre.set_status(dossier, "returned")
    await centre.zalo.wait_for(lambda: len(centre.zalo.templates(user_id="zu3")) == 2)  # status + rating
    assert {c.params["template_id"] for c in centre.zalo.templates(user_id="zu3")} == {"tpl-status", "tpl-rating"}


async def test_never_followed_gets_it_by_phone(make_centre: MakeCentre) -> None:
    centre = await make_centre()
    dossier = await centre.new_dossier()
    await centre.set_status(dossier, "result_ready")
    await centre.zalo.wait_for(lambda: len(centre.status_templates(phone=PHONE_84)) == 1)
    receipts = [c for c in centre.zalo.templates(phone=PHONE_84) if c.params["template_id"] == "tpl-receipt"]
    assert len(receipts) == 1  # the receipt went by phone too
    await centre.settled()
    [row] = await centre.rows("status")
    assert (row.channel, row.recipient, row.idempotency_key) == ("zns", PHONE_84, f"{row.idempotency_key}")
    assert row.idempotency_key.endswith(":zns")


async def test_no_zalo_account_falls_back_to_sms_for_the_kinds_the_centre_allows(
    make_centre: MakeCentre, fake_sms: FakeSmsGateway
) -> None:
    centre = await make_centre(**fake_sms.settings())
    centre.zalo.no_zalo_account.add(PHONE_84)
    dossier = await centre.new_dossier()
    await centre.set_status(dossier, "result_ready")
    await wait_until(lambda: _statuses(centre, "status", {"rerouted", "sent"}))
    assert {phone for phone, _text in fake_sms.sent} == {PHONE_84}
    assert dossier.code in " ".join(text for _phone, text in fake_sms.sent)  # in one or more segments
    # The receipt is not an SMS kind by default: recorded undeliverable with the reasons, shown by the API.
    await wait_until(lambda: _statuses(centre, "receipt", {"undeliverable"}))
    response = await centre.client.get("/api/v1/outbox?status=undeliverable", headers=await centre.admin())
    [item] = [i for i in (await response.json())["items"] if i["kind"] == "receipt"]
    assert "-118" in item["last_error"] and "SMS_NOTICE_KINDS" in item["last_error"]
    await centre.settled()
    statuses = {r.channel: r.status for r in await centre.rows("status")}
    assert statuses == {"zns": "rerouted", "sms": "sent"}


async def _statuses(centre: Centre, kind: str, wanted: set[str]) -> bool:
    return {r.status for r in await centre.rows(kind)} == wanted


async def test_a_closed_window_reroutes_to_the_template_and_does_not_block_the_contact(
    make_centre: MakeCentre,
) -> None:
    centre = await make_centre()
    await centre.citizen_writes("zu4")
    dossier = await centre.new_dossier()
    await centre.link("zu4", dossier)
    # Zalo says the window is closed although we think it is open (e.g. the user's last action was elsewhere).
    centre.zalo.fail(error=-230, user_id="zu4", path="/v3.0/oa/message/cs")
    await centre.set_status(dossier, "result_ready")
    await centre.zalo.wait_for(lambda: len(centre.status_templates(user_id="zu4")) == 1)
    await centre.settled()
    rows = {r.channel: r for r in await centre.rows("status")}
    assert rows["zalo"].status == "rerouted" and "-230" in (rows["zalo"].last_error or "")
    assert rows["zns"].status == "sent"
    contact = await centre.contact("zu4")
    assert contact.blocked is False


async def test_outside_sending_hours_waits_for_seven_in_the_morning(make_centre: MakeCentre) -> None:
    clock = Clock()
    clock.set_local(*_tomorrow_local(), 22, 30)
    centre = await make_centre(clock=clock, workers_enabled=False)
    centre.zalo.timed_templates.add("tpl-status")
    worker = _worker(centre)
    dossier = await centre.new_dossier()
    await worker.run_once()  # the receipt (no sending hours) goes at once
    await centre.set_status(dossier, "result_ready")
    await worker.run_once()
    [row] = await centre.rows("status")
    assert row.status == "pending" and centre.status_templates() == []
    day = clock().astimezone(TZ).date() + timedelta(days=1)
    assert row.next_attempt_at.astimezone(TZ) == datetime(day.year, day.month, day.day, 7, 0, tzinfo=TZ)
    clock.advance(hours=8)  # 06:30
    assert await worker.run_once() == 0
    clock.advance(minutes=30)  # 07:00
    assert await worker.run_once() == 1
    [call] = centre.status_templates(phone=PHONE_84)
    assert call.ok


async def test_quota_used_up_waits_for_the_next_day_and_is_counted(make_centre: MakeCentre) -> None:
    clock = Clock()
    clock.set_local(*_tomorrow_local(), 10, 0)
    centre = await make_centre(clock=clock, workers_enabled=False)
    centre.zalo.quota = 1
    worker = _worker(centre)
    dossier = await centre.new_dossier()
    await worker.run_once()  # the receipt uses the day's quota
    await centre.set_status(dossier, "result_ready")
    await worker.run_once()
    [row] = await centre.rows("status")
    local = row.next_attempt_at.astimezone(TZ)
    assert (local.date() - clock().astimezone(TZ).date(), local.hour) == (timedelta(days=1), 7)
    metrics = await (await centre.client.get("/metrics")).text()
    assert 'motcua_outbox_deferred_total{channel="zns",reason="quota"} 1.0' in metrics
    clock.advance(days=1)
    await worker.run_once()
    assert len(centre.status_templates(phone=PHONE_84)) == 1


async def test_nothing_reachable_is_recorded_undeliverable_with_the_reason(make_centre: MakeCentre) -> None:
    centre = await make_centre(zns_template_status=None)
    for phone, reason in ((None, "no phone number on the dossier"), (PHONE, "ZNS_TEMPLATE_STATUS is not set")):
        dossier = await centre.new_dossier(applicant_phone=phone)
        await centre.set_status(dossier, "result_ready")
        [row] = [r for r in await centre.rows("status") if r.dossier_id == dossier.id]
        assert (row.channel, row.status) == ("none", "undeliverable")
        assert "no linked chat" in (row.last_error or "") and reason in (row.last_error or "")


# --- tokens -------------------------------------------------------------------------------------------


async def test_with_only_a_refresh_token_the_first_send_refreshes_and_every_sender_uses_it(
    make_centre: MakeCentre,
) -> None:
    centre = await make_centre(zalo_access_token=None)
    await centre.citizen_writes("zu5")  # the consultation reply: the first send refreshed
    assert [c["refresh_token"] for c in centre.zalo.refresh_calls] == ["REFRESH-0"]
    dossier = await centre.new_dossier()  # the receipt goes by phone (template API)
    await centre.zalo.wait_for(lambda: len(centre.zalo.templates(phone=PHONE_84)) == 1)
    assert centre.zalo.templates(phone=PHONE_84)[0].headers["access_token"] == centre.zalo.access_token
    # Zalo expires the token: the template sender refreshes once (-124) and both senders use the new one.
    centre.zalo.expire_access_token()
    await centre.set_status(dossier, "result_ready")
    await centre.zalo.wait_for(lambda: len(centre.status_templates(phone=PHONE_84)) == 1)
    assert len(centre.zalo.refresh_calls) == 2
    await centre.citizen_writes("zu5", text="cảm ơn", msg_id="m-2")
    fresh = centre.zalo.access_token
    assert centre.status_templates(phone=PHONE_84)[0].headers["access_token"] == fresh
    assert centre.zalo.messages("zu5")[-1].headers["access_token"] == fresh
    assert len(centre.zalo.refresh_calls) == 2


async def test_a_dead_refresh_token_shows_in_healthz(make_centre: MakeCentre) -> None:
    centre = await make_centre(zalo_access_token=None)
    centre.zalo.refresh_dead = True
    await centre.new_dossier()
    await wait_until(lambda: len(centre.zalo.refresh_calls) >= 1)
    await wait_until(lambda: _health_says_dead(centre))  # the refresh was refused: /healthz says so


async def _health_says_dead(centre: Centre) -> bool:
    response = await centre.client.get("/healthz")
    body = await response.json()
    zalo = str(body["checks"].get("zalo", ""))
    return response.status == 200 and body["status"] == "degraded" and "Kết nối lại Zalo OA" in zalo


# --- replicas -----------------------------------------------------------------------------------------


async def test_two_replicas_send_each_notice_once(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_zalo: FakeZalo, redis_url: str | None
) -> None:
    clock = Clock()
    fake_zalo.clock = clock
    settings = make_settings(**fake_zalo.settings(), **FAST, **TEMPLATES, redis_url=redis_url, quiet_hours="")
    first = await aiohttp_client(create_app(settings, clock=clock))
    second = await aiohttp_client(create_app(settings, clock=clock))
    one, two = Centre(first, fake_zalo, clock), Centre(second, fake_zalo, clock)
    for n in range(4):
        await one.citizen_writes(f"zr{n}")
    dossiers = [await (one if n % 2 else two).new_dossier() for n in range(8)]
    for n, dossier in enumerate(dossiers[:4]):
        await one.link(f"zr{n}", dossier)
    clock.advance(days=3)  # half of them by UID, half by phone
    for n, dossier in enumerate(dossiers):
        await (two if n % 2 else one).set_status(dossier, "result_ready")
    await fake_zalo.wait_for(lambda: len(one.status_templates()) == 8)
    await wait_until(lambda: _all_final(one))
    assert len(one.status_templates()) == 8
    codes = [c.params["template_data"]["dossier_code"] for c in one.status_templates()]
    assert sorted(codes) == sorted(d.code for d in dossiers)


async def _all_final(centre: Centre) -> bool:
    return all(r.status in ("sent", "rerouted", "undeliverable") for r in await centre.rows())


# --- helpers --------------------------------------------------------------------------------------------


def _tomorrow_local() -> tuple[int, int, int]:
    day = datetime.now(TZ).date() + timedelta(days=1)
    return day.year, day.month, day.day


def _worker(centre: Centre) -> OutboxWorker:
    app = centre.app
    return OutboxWorker(
        sessionmaker=app[keys.SESSIONMAKER],
        state=app[keys.STATE],
        senders=senders_of(app),
        metrics=app[keys.METRICS],
        rerouter=app[DELIVERY].reroute,
        clock=centre.clock,
        orphan_grace_seconds=3600,
    )
