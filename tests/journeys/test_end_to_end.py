"""The journeys end to end: updates posted as Telegram and Zalo post them, through the inbox, the pipeline and
the outbox, to the loopback fake Bot API, fake Zalo API and fake ZNS server."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot import keys
from bot.app import create_app
from bot.settings import Settings
from storage.apikeys import create_api_key
from storage.models import OutboxMessage
from tests.channels.support import FAST, TG_HEADERS
from tests.fakes import FakeTelegram, FakeZalo, sign_zalo_event, telegram_callback_update, telegram_message_update
from tests.fakes.base import wait_until
from tests.fakes.zalo import zalo_event
from tests.journeys.conftest import MONDAY_10AM, OFFICERS_CHAT, PROCEDURE, FakeClock

NEW_DOSSIER = {
    "procedure_id": PROCEDURE,
    "applicant": {"name": "Lê Minh Tuấn", "phone": "0903 111 222", "id_number": "079090001111"},
    "channel": "direct",
    "documents": ["Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp"],
    "fees": 200000,
}
CITIZEN = 42
STRANGER = 43


class E2E:
    """A running app wired to the fakes, and helpers to drive it."""

    def __init__(self, client: Any, telegram: FakeTelegram, zalo: FakeZalo) -> None:
        self.client, self.telegram, self.zalo = client, telegram, zalo
        self.app = client.app
        self.updates = 100

    async def admin(self) -> dict[str, str]:
        async with self.app[keys.SESSIONMAKER].begin() as session:
            _row, secret = await create_api_key(session, name="e2e", role="admin")
        return {"Authorization": f"Bearer {secret}"}

    async def create(self, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
        response = await self.client.post("/api/v1/dossiers", json={**NEW_DOSSIER, **fields}, headers=headers)
        assert response.status == 201, await response.text()
        body: dict[str, Any] = await response.json()
        return body

    async def links(self, code: str, headers: dict[str, str]) -> dict[str, str]:
        view = await (await self.client.get(f"/api/v1/dossiers/{code}", headers=headers)).json()
        links: dict[str, str] = view["subscribe_links"]
        return links

    async def patch(self, code: str, headers: dict[str, str], body: dict[str, Any], key: str | None = None) -> None:
        extra = {"Idempotency-Key": key} if key else {}
        response = await self.client.patch(f"/api/v1/dossiers/{code}", json=body, headers={**headers, **extra})
        assert response.status == 200, await response.text()

    async def telegram_says(self, chat: int, text: str, **fields: Any) -> None:
        self.updates += 1
        update = telegram_message_update(self.updates, chat, text, **fields)
        response = await self.client.post("/webhooks/telegram", json=update, headers=TG_HEADERS)
        assert response.status == 200

    async def telegram_presses(self, chat: int, data: str) -> None:
        self.updates += 1
        update = telegram_callback_update(self.updates, chat, data)
        response = await self.client.post("/webhooks/telegram", json=update, headers=TG_HEADERS)
        assert response.status == 200

    async def zalo_event(self, event: dict[str, Any]) -> None:
        raw, headers = sign_zalo_event(event)
        response = await self.client.post("/webhooks/zalo", data=raw, headers=headers)
        assert response.status == 200

    async def zalo_says(self, user: str, text: str) -> None:
        self.updates += 1
        await self.zalo_event(zalo_event("user_send_text", user, text=text, msg_id=f"m{self.updates}"))

    async def rows(self, kind: str) -> list[OutboxMessage]:
        async with self.app[keys.SESSIONMAKER]() as session:
            query = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
            return list((await session.execute(query)).scalars())


@pytest.fixture
async def e2e(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    fake_telegram: FakeTelegram,
    fake_zalo: FakeZalo,
    redis_url: str | None,
) -> E2E:
    settings = make_settings(
        **fake_telegram.settings(),
        **fake_zalo.settings(),
        **FAST,
        redis_url=redis_url,
        officers_telegram_chat_id=int(OFFICERS_CHAT),
        zalo_oa_id="388613280878808645",
    )
    client = await aiohttp_client(create_app(settings, clock=FakeClock(MONDAY_10AM)))
    return E2E(client, fake_telegram, fake_zalo)


def start_token(url: str) -> str:
    match = re.search(r"(?:start|ref)=([A-Za-z0-9_-]+)", url)
    assert match
    return match.group(1)


async def test_telegram_subscribe_status_messages_privacy_and_rating(e2e: E2E) -> None:
    tg = e2e.telegram
    admin = await e2e.admin()
    dossier = await e2e.create(admin)
    code = dossier["code"]
    token = start_token((await e2e.links(code, admin))["telegram"])

    # Opening the receipt's deep link: linked, receipt in the chat.
    await e2e.telegram_says(CITIZEN, f"/start {token}")
    await tg.wait_for(lambda: len(tg.sent(CITIZEN)) == 1)
    [linked] = tg.texts(CITIZEN)  # one message: confirmation and receipt together
    assert f"liên kết cuộc trò chuyện này với hồ sơ {code}" in linked
    assert "PHIẾU BIÊN NHẬN ĐIỆN TỬ" in linked and "Lê Minh Tuấn" in linked

    # A status change through the API, retried with the same Idempotency-Key: one message.
    body = {"status": "needs_supplement", "reason": "Thiếu bản sao giấy khai sinh", "supplement_deadline": "2026-11-30"}
    await e2e.patch(code, admin, body, key="k-1")
    await e2e.patch(code, admin, body, key="k-1")
    await tg.wait_for(lambda: len(tg.sent(CITIZEN)) == 2)
    assert "Thiếu bản sao giấy khai sinh" in tg.texts(CITIZEN)[1]
    assert len(await e2e.rows("status")) == 1

    # Another chat looks the code up: status, no personal data.
    await e2e.telegram_says(STRANGER, code.lower())
    await tg.wait_for(lambda: len(tg.sent(STRANGER)) == 1)
    stranger = tg.texts(STRANGER)[0]
    assert "Yêu cầu bổ sung giấy tờ" in stranger
    for secret in ("Lê Minh Tuấn", "0903", "079090001111", "Thiếu bản sao"):
        assert secret not in stranger

    # Returned: the rating request comes with inline buttons; a press is stored and thanked.
    await e2e.patch(code, admin, {"status": "in_progress"})
    await e2e.patch(code, admin, {"status": "result_ready"})
    await e2e.patch(code, admin, {"status": "returned"})
    await tg.wait_for(lambda: any("đánh giá mức độ hài lòng" in t for t in tg.texts(CITIZEN)))
    request = next(c for c in tg.sent(CITIZEN) if "đánh giá mức độ hài lòng" in c.params["text"])
    keyboard = request.params["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == ["Rất hài lòng", "Hài lòng", "Không hài lòng"]
    await e2e.telegram_presses(CITIZEN, keyboard[0][0]["callback_data"])
    await tg.wait_for(lambda: any("Cảm ơn Ông/Bà đã đánh giá: Rất hài lòng" in t for t in tg.texts(CITIZEN)))
    ratings = await (await e2e.client.get("/api/v1/ratings", headers=admin)).json()
    assert [(r["dossier_code"], r["level"], r["channel"]) for r in ratings["items"]] == [
        (code, "very_satisfied", "telegram")
    ]


async def test_zalo_citizen_talks_to_officers_on_telegram(e2e: E2E) -> None:
    tg, zl = e2e.telegram, e2e.zalo
    await e2e.zalo_says("zu1", "gặp cán bộ")
    await zl.wait_for(lambda: len(zl.texts("zu1")) == 1)
    assert "Đã chuyển cuộc trò chuyện đến cán bộ" in zl.texts("zu1")[0]
    await tg.wait_for(lambda: len(tg.sent(OFFICERS_CHAT)) == 1)
    assert "Kênh: Zalo" in tg.texts(OFFICERS_CHAT)[0]

    # The bot is quiet; the citizen's next message goes to the officers.
    await e2e.zalo_says("zu1", "Hồ sơ của tôi bao giờ xong?")
    await tg.wait_for(lambda: len(tg.sent(OFFICERS_CHAT)) == 2)
    assert "«Hồ sơ của tôi bao giờ xong?»" in tg.texts(OFFICERS_CHAT)[1]
    assert len(zl.texts("zu1")) == 1

    # The officer replies to the forwarded message in the group: the citizen reads it on Zalo.
    async def forwarded_ids() -> list[str]:
        return [r.platform_message_id for r in await e2e.rows("handoff") if r.platform_message_id]

    async def both_forwarded() -> bool:
        return len(await forwarded_ids()) == 2

    await wait_until(both_forwarded)
    message_id = (await forwarded_ids())[-1]
    await e2e.telegram_says(
        int(OFFICERS_CHAT),
        "Chào anh, thứ Sáu có kết quả ạ.",
        chat_type="supergroup",
        user_id=777,
        reply_to_message_id=int(message_id),
    )
    await zl.wait_for(lambda: len(zl.texts("zu1")) == 2)
    assert zl.texts("zu1")[1] == "Cán bộ Trung tâm: Chào anh, thứ Sáu có kết quả ạ."

    # /done hands the conversation back to the bot.
    await e2e.telegram_says(
        int(OFFICERS_CHAT), "/done", chat_type="supergroup", user_id=777, reply_to_message_id=int(message_id)
    )
    await zl.wait_for(lambda: len(zl.texts("zu1")) == 3)
    assert "Trợ lý tự động tiếp tục" in zl.texts("zu1")[2]
    await tg.wait_for(lambda: any("Đã kết thúc #HO" in t for t in tg.texts(OFFICERS_CHAT)))


async def test_zalo_follow_with_ref_links_and_quick_reply_rating(e2e: E2E) -> None:
    zl = e2e.zalo
    admin = await e2e.admin()
    dossier = await e2e.create(admin)
    links = await e2e.links(dossier["code"], admin)
    assert links["zalo"].startswith("https://zalo.me/388613280878808645?ref=")
    await e2e.zalo_event(zalo_event("follow", "zu7", extra={"ref": start_token(links["zalo"])}))
    await zl.wait_for(lambda: len(zl.texts("zu7")) == 1)
    assert "PHIẾU BIÊN NHẬN ĐIỆN TỬ" in zl.texts("zu7")[0]

    await e2e.patch(dossier["code"], admin, {"status": "result_ready"})
    await e2e.patch(dossier["code"], admin, {"status": "returned"})
    await zl.wait_for(lambda: any("đánh giá mức độ hài lòng" in t for t in zl.texts("zu7")))
    # On Zalo a quick reply comes back as its label: "Không hài lòng" → the comment step.
    await e2e.zalo_says("zu7", "Không hài lòng")
    await zl.wait_for(lambda: any("cho biết lý do" in t for t in zl.texts("zu7")))
    await e2e.zalo_says("zu7", "Phải chờ rất lâu ở quầy")
    await zl.wait_for(lambda: any("Cảm ơn ý kiến" in t for t in zl.texts("zu7")))
    ratings = await (await e2e.client.get("/api/v1/ratings", headers=admin)).json()
    (item,) = ratings["items"]
    assert (item["level"], item["comment"], item["channel"]) == ("not_satisfied", "Phải chờ rất lâu ở quầy", "zalo")


async def test_english_on_telegram(e2e: E2E) -> None:
    tg = e2e.telegram
    admin = await e2e.admin()
    dossier = await e2e.create(admin)
    await e2e.telegram_says(CITIZEN, "/lang en")
    await tg.wait_for(lambda: len(tg.sent(CITIZEN)) == 1)
    assert "I will answer in English" in tg.texts(CITIZEN)[0]
    await e2e.telegram_says(CITIZEN, dossier["code"])
    await tg.wait_for(lambda: len(tg.sent(CITIZEN)) == 2)
    assert "Status: Received" in tg.texts(CITIZEN)[1]


# --- ZNS ---------------------------------------------------------------------------------------------


async def test_applicant_without_a_chat_gets_zns_by_phone(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    fake_zalo: FakeZalo,
) -> None:
    fake_zalo.no_zalo_account.add("84900000118")
    settings = make_settings(
        **fake_zalo.settings(),
        **FAST,
        zns_template_receipt="tpl-receipt",
        zns_template_status="tpl-status",
    )
    client = await aiohttp_client(create_app(settings, clock=FakeClock(MONDAY_10AM)))
    e2e = E2E(client, FakeTelegram(), fake_zalo)
    admin = await e2e.admin()
    dossier = await e2e.create(admin)
    unreachable = await e2e.create(admin, applicant={"name": "Phạm Thu", "phone": "0900000118"})

    async def settled() -> bool:
        rows = await e2e.rows("receipt")
        return len(rows) == 2 and all(r.status in ("sent", "undeliverable", "failed") for r in rows)

    await wait_until(settled)
    sent, blocked = await e2e.rows("receipt")
    assert (sent.channel, sent.recipient, sent.status) == ("zns", "84903111222", "sent")
    assert sent.platform_message_id and sent.platform_message_id.startswith("zbs-")
    # No Zalo account (-118) and no SMS gateway: undeliverable with both reasons, the contact is not "blocked".
    assert blocked.status == "undeliverable" and "-118" in (blocked.last_error or "")
    assert "SMS" in (blocked.last_error or "")
    [first] = fake_zalo.templates(phone="84903111222")
    assert first.params["template_id"] == "tpl-receipt"
    assert first.params["tracking_id"] == sent.idempotency_key
    assert first.params["template_data"]["dossier_code"] == dossier["code"]
    assert first.headers["access_token"] == fake_zalo.access_token
    assert unreachable["code"] != dossier["code"]
