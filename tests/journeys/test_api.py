"""The journeys through the HTTP API of `create_app`: printable receipt, subscribe links, status changes and
their messages (retries, quiet hours), ratings."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot import keys
from bot.app import create_app
from bot.settings import Settings
from handlers.base import IncomingMessage
from handlers.rating import handle_rating
from handlers.subscribe import handle_subscribe
from storage.apikeys import create_api_key
from storage.models import OutboxMessage
from tests.journeys.conftest import MONDAY_10AM, PROCEDURE, TZ, FakeClock

NEW_DOSSIER = {
    "procedure_id": PROCEDURE,
    "applicant": {"name": "Trần Văn Bình", "phone": "0987 654 321", "id_number": "038090001234"},
    "channel": "online",
    "documents": ["Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp", "Bản chụp thẻ Căn cước"],
    "fees": 200000,
}


class Api:
    """A running app with a fake clock, and helpers to call it."""

    def __init__(self, client: Any, clock: FakeClock) -> None:
        self.client = client
        self.clock = clock
        self.app = client.app

    async def key(self, role: str = "admin", department: str | None = None) -> dict[str, str]:
        async with self.app[keys.SESSIONMAKER].begin() as session:
            _row, secret = await create_api_key(session, name=f"t-{role}", role=role, department_id=department)
        return {"Authorization": f"Bearer {secret}"}

    async def create(self, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
        response = await self.client.post("/api/v1/dossiers", json={**NEW_DOSSIER, **fields}, headers=headers)
        assert response.status == 201, await response.text()
        body: dict[str, Any] = await response.json()
        return body

    async def patch(self, code: str, headers: dict[str, str], body: dict[str, Any], key: str | None = None) -> Any:
        extra = {"Idempotency-Key": key} if key else {}
        response = await self.client.patch(f"/api/v1/dossiers/{code}", json=body, headers={**headers, **extra})
        assert response.status == 200, await response.text()
        return await response.json()

    async def outbox(self, kind: str) -> list[OutboxMessage]:
        async with self.app[keys.SESSIONMAKER]() as session:
            query = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
            return list((await session.execute(query)).scalars())

    async def start(self, token: str, chat: str = "t1") -> str:
        msg = IncomingMessage(channel="telegram", chat_id=chat, user_id=chat, kind="start", start_param=token)
        replies = await handle_subscribe(msg, self.app[keys.CONTEXT])
        assert replies is not None
        return "\n".join(r.text for r in replies)


@pytest.fixture
async def api(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Api:
    clock = FakeClock(MONDAY_10AM)
    settings = make_settings(zalo_oa_id="4318000000000000001", telegram_bot_username="motcua_test_bot")
    client = await aiohttp_client(create_app(settings, clock=clock))
    return Api(client, clock)


def token_from(url: str) -> str:
    match = re.search(r"start=([A-Za-z0-9_-]+)", url)
    assert match
    return match.group(1)


async def test_dossier_view_has_subscribe_links_that_work(api: Api) -> None:
    admin = await api.key()
    created = await api.create(admin)
    response = await api.client.get(f"/api/v1/dossiers/{created['code']}", headers=admin)
    view = await response.json()
    links = view["subscribe_links"]
    assert links["telegram"].startswith("https://t.me/motcua_test_bot?start=")
    assert links["zalo"].startswith("https://zalo.me/4318000000000000001?ref=")
    assert datetime.fromisoformat(links["expires_at"]) > MONDAY_10AM
    text = await api.start(token_from(links["telegram"]))
    assert f"liên kết cuộc trò chuyện này với hồ sơ {created['code']}" in text
    assert "Trần Văn Bình" in text


async def test_receipt_pdf_is_printable_with_embedded_fonts_and_a_subscribe_link(api: Api, tmp_path: Path) -> None:
    admin = await api.key()
    created = await api.create(admin)
    response = await api.client.get(f"/api/v1/dossiers/{created['code']}/receipt.pdf", headers=admin)
    assert response.status == 200
    assert response.content_type == "application/pdf"
    pdf = await response.read()
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-32:]
    assert b"/FontFile2" in pdf and b"DejaVuSerif" in pdf  # TrueType fonts embedded
    # The link annotation carries the Telegram deep link: opening it subscribes the chat.
    match = re.search(rb"https://t\.me/motcua_test_bot\?start=([A-Za-z0-9_-]+)", pdf)
    assert match is not None
    assert "PHIẾU BIÊN NHẬN ĐIỆN TỬ" in await api.start(match.group(1).decode())
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed: the text layer was not checked")
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    for part in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        created["code"],
        "Trần Văn Bình",
        "Bản chụp thẻ Căn cước",
        "Thời gian nhận hồ sơ: 10 giờ 00 phút, ngày 23/11/2026",
        "200.000 đồng",
        "NGƯỜI TIẾP NHẬN HỒ SƠ",
    ):
        assert part in text, part


async def test_receipt_pdf_respects_keys_and_departments(api: Api) -> None:
    admin = await api.key()
    created = await api.create(admin)
    url = f"/api/v1/dossiers/{created['code']}/receipt.pdf"
    assert (await api.client.get(url)).status == 401
    assert (await api.client.get(url, headers=await api.key("officer", "so-tu-phap"))).status == 404  # as missing
    assert (await api.client.get(url, headers=await api.key("officer", created["department"]))).status == 200
    assert (await api.client.get("/api/v1/dossiers/NOPE-1/receipt.pdf", headers=admin)).status == 404


async def test_retried_patch_and_repeated_status_send_one_message(api: Api) -> None:
    admin = await api.key()
    created = await api.create(admin)
    await api.start(
        token_from(
            (await (await api.client.get(f"/api/v1/dossiers/{created['code']}", headers=admin)).json())[
                "subscribe_links"
            ]["telegram"]
        )
    )
    body = {"status": "needs_supplement", "reason": "Thiếu bản sao giấy khai sinh", "supplement_deadline": "2026-11-30"}
    first = await api.patch(created["code"], admin, body, key="abc-1")
    again = await api.patch(created["code"], admin, body, key="abc-1")
    assert first["changed"] is True and again["changed"] is False
    assert (await api.patch(created["code"], admin, {"status": "needs_supplement"}))["changed"] is False
    rows = await api.outbox("status")
    assert len(rows) == 1
    assert "Thiếu bản sao giấy khai sinh" in rows[0].payload["text"]
    assert "Hạn nộp bổ sung: Thứ Hai, 30/11/2026" in rows[0].payload["text"]


async def test_status_change_at_night_waits_until_morning(api: Api) -> None:
    admin = await api.key()
    created = await api.create(admin)
    api.clock.set_local(2026, 11, 23, 21, 45)
    await api.patch(created["code"], admin, {"status": "in_progress"})
    await api.patch(created["code"], admin, {"status": "result_ready"})
    (row,) = await api.outbox("status")  # "being processed" is chat-only; the result goes by ZNS (unconfigured)
    assert row.next_attempt_at == datetime(2026, 11, 24, 7, 0, tzinfo=TZ)
    assert row.status == "undeliverable" and "ZNS" in (row.last_error or "")


async def test_ratings_api_lists_ratings_for_the_right_officers(api: Api) -> None:
    admin = await api.key()
    created = await api.create(admin)
    view = await (await api.client.get(f"/api/v1/dossiers/{created['code']}", headers=admin)).json()
    await api.start(token_from(view["subscribe_links"]["telegram"]))
    await api.patch(created["code"], admin, {"status": "result_ready"})
    await api.patch(created["code"], admin, {"status": "returned"})
    (request,) = await api.outbox("rating_request")
    payload = request.payload["buttons"][2][0]["payload"]  # "Không hài lòng"
    ctx = api.app[keys.CONTEXT]
    press = IncomingMessage(channel="telegram", chat_id="t1", user_id="t1", kind="button", payload=payload)
    assert await handle_rating(press, ctx) is not None
    comment = IncomingMessage(channel="telegram", chat_id="t1", user_id="t1", text="Chờ lâu quá")
    assert await handle_rating(comment, ctx) is not None

    body = await (await api.client.get("/api/v1/ratings", headers=admin)).json()
    assert body["total"] == 1
    (item,) = body["items"]
    assert (item["dossier_code"], item["department"], item["level"], item["score"]) == (
        created["code"],
        created["department"],
        "not_satisfied",
        1,
    )
    assert (item["comment"], item["channel"], item["dossier_channel"]) == ("Chờ lâu quá", "telegram", "online")
    own = await api.key("officer", created["department"])
    assert (await (await api.client.get("/api/v1/ratings", headers=own)).json())["total"] == 1
    other = await api.key("officer", "so-tu-phap")
    assert (await (await api.client.get("/api/v1/ratings", headers=other)).json())["total"] == 0
    response = await api.client.get(f"/api/v1/ratings?department={created['department']}", headers=other)
    assert response.status == 403
    filtered = await api.client.get("/api/v1/ratings?level=satisfied", headers=admin)
    assert (await filtered.json())["total"] == 0
    bad = await api.client.get("/api/v1/ratings?level=great", headers=admin)
    assert bad.status == 422 and (await bad.json())["error"]["code"] == "invalid_parameter"


async def test_openapi_describes_the_journey_routes(api: Api) -> None:
    document = await (await api.client.get("/api/v1/openapi.json")).json()
    assert "get" in document["paths"]["/api/v1/dossiers/{code}/receipt.pdf"]
    assert "get" in document["paths"]["/api/v1/ratings"]
