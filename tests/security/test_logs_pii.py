"""Personal data never reaches the logs, even at DEBUG: a flow full of names, phones and ID numbers, then grep.

The flow: dossiers created through the API, a CSV import with bad rows, status changes, a citizen on
Telegram who looks a dossier up, proves ownership with the phone's last digits, shares a phone number,
subscribes by the receipt link, asks for an officer; messages to them go out through the outbox.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from bot import keys
from bot.app import create_app
from bot.settings import Settings
from tests.channels.support import FAST, TG_HEADERS
from tests.fakes import FakeTelegram, telegram_message_update
from tests.fakes.base import wait_until
from tests.fakes.fixtures import fake_telegram

__all__ = ["fake_telegram"]

NAME = "Nguyễn Thị Bích Ngọc"
PHONE = "0912345678"
ID_NUMBER = "001190012345"
NAME_2 = "Trương Công Định"
PHONE_2 = "0987654321"
ID_NUMBER_2 = "079203004567"
CSV_NAME = "Hoàng Văn Thụ"
CSV_PHONE = "0356789012"
CHAT_PHONE = "0338112233"


def _variants(phone: str) -> list[str]:
    """The ways a phone number may be written: 0912345678, 912345678 after +84/84, with spaces."""
    national = phone[1:]
    return [phone, "84" + national, f"{phone[:4]} {phone[4:7]} {phone[7:]}", f"{phone[:4]}.{phone[4:7]}.{phone[7:]}"]


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn").replace("đ", "d")


SECRETS = [
    *[v for p in (PHONE, PHONE_2, CSV_PHONE, CHAT_PHONE) for v in _variants(p)],
    ID_NUMBER,
    ID_NUMBER_2,
    *[n for name in (NAME, NAME_2, CSV_NAME) for n in (name, _strip_accents(name), name.upper())],
]


def leaks(text: str) -> list[str]:
    found = [s for s in SECRETS if s in text]
    # Also digits that run together across separators (e.g. "0912-345-678").
    digits_only = re.sub(r"[\s.\-()]", "", text)
    found += [p for p in (PHONE, PHONE_2, CSV_PHONE, CHAT_PHONE, ID_NUMBER, ID_NUMBER_2) if p in digits_only]
    return sorted(set(found))


def _more_than(fake: FakeTelegram, chat: int, count: int) -> bool:
    return len(fake.sent(chat)) > count


@pytest.fixture
async def app_client(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_telegram: FakeTelegram, redis_url: str | None
) -> Any:
    settings = make_settings(**fake_telegram.settings(), **FAST, redis_url=redis_url, log_level="DEBUG")
    return await aiohttp_client(create_app(settings))


async def test_no_personal_data_in_logs(
    app_client: Any, api_key: Any, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = app_client
    kb = client.app[keys.KB]
    proc = next(p for p in kb.procedures if p.processing_time.days)
    admin = await api_key("admin")

    # Dossiers through the API, one with an invalid field that echoes nothing personal back into logs.
    codes = []
    for name, phone, id_number in ((NAME, PHONE, ID_NUMBER), (NAME_2, PHONE_2, ID_NUMBER_2)):
        body = {
            "procedure_id": proc.id,
            "applicant": {"name": name, "phone": phone, "id_number": id_number},
            "channel": "online",
        }
        resp = await client.post("/api/v1/dossiers", json=body, headers=admin)
        assert resp.status == 201, await resp.text()
        codes.append((await resp.json())["code"])
    bad = {"procedure_id": "khong-co", "applicant": {"name": NAME, "phone": PHONE}, "channel": "fax"}
    assert (await client.post("/api/v1/dossiers", json=bad, headers=admin)).status == 400
    bad["channel"] = "online"
    assert (await client.post("/api/v1/dossiers", json=bad, headers=admin)).status == 422

    # A CSV import with bad rows (unknown procedure, bad channel, bad date, duplicate).
    csv = (
        "procedure_id,applicant_name,applicant_phone,channel,received_at\n"
        f"{proc.id},{CSV_NAME},{CSV_PHONE},direct,2026-03-02T09:00:00\n"
        f"khong-co,{CSV_NAME},{CSV_PHONE},direct,2026-03-02T09:00:00\n"
        f"{proc.id},{CSV_NAME},{CSV_PHONE},fax,2026-03-02T09:00:00\n"
        f"{proc.id},{CSV_NAME},{CSV_PHONE},direct,hôm qua\n"
        f"{proc.id},{NAME},{PHONE},online,2026-03-02T09:00:00\n"
    )
    resp = await client.post(
        "/api/v1/dossiers/import", data=csv.encode(), headers={**admin, "Content-Type": "text/csv"}
    )
    assert resp.status == 200
    assert len((await resp.json())["rejected"]) == 3

    # Reads, searches and status changes by officers.
    view = await (await client.get(f"/api/v1/dossiers/{codes[0]}", headers=admin)).json()
    assert (await client.get("/api/v1/dossiers?status=received", headers=admin)).status == 200
    assert (await client.get("/api/v1/exports/dossiers.csv", headers=admin)).status == 200
    for status in ("in_progress", "needs_supplement"):
        resp = await client.patch(f"/api/v1/dossiers/{codes[0]}", json={"status": status}, headers=admin)
        assert resp.status == 200

    # A citizen on Telegram: looks up, proves ownership (wrong then right digits), shares a phone, subscribes.
    chat = 5550001
    token = parse_qs(urlparse(view["subscribe_links"]["telegram"]).query)["start"][0]
    messages: list[dict[str, Any]] = [
        telegram_message_update(1, chat, codes[1]),
        telegram_message_update(2, chat, "9999"),
        telegram_message_update(3, chat, PHONE_2[-4:]),
        telegram_message_update(4, chat, f"tra cứu hồ sơ {codes[0]} của {NAME} sđt {PHONE} cccd {ID_NUMBER}"),
        telegram_message_update(
            5, chat, None, contact={"phone_number": "+84" + CHAT_PHONE[1:], "first_name": "Lan", "user_id": chat}
        ),
        telegram_message_update(6, chat, f"/start {token}"),
        telegram_message_update(7, chat, f"gặp cán bộ, tôi là {NAME}, số {PHONE}"),
    ]
    for n, update in enumerate(messages):
        # One at a time: each answer is in before the next message (the conversation has steps).
        answered = len(fake_telegram.sent(chat))
        resp = await client.post("/webhooks/telegram", json=update, headers=TG_HEADERS)
        assert resp.status == 200, n
        await fake_telegram.wait_for(partial(_more_than, fake_telegram, chat, answered), timeout=20)

    # The officer changes the status: the subscribed chat is told (the outbox sends it).
    before = len(fake_telegram.sent(chat))
    resp = await client.patch(f"/api/v1/dossiers/{codes[0]}", json={"status": "in_progress"}, headers=admin)
    assert resp.status == 200
    await wait_until(lambda: len(fake_telegram.sent(chat)) > before, timeout=20)

    # The flow did handle personal data (the citizen saw their own dossier) ...
    assert any(codes[0] in text for text in fake_telegram.texts(chat))
    # ... and none of it is in the logs, at any level, in messages or tracebacks.
    assert caplog.records, "nothing was logged: the test would prove nothing"
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    leaking = [f"{r.name}: {r.getMessage()[:300]}" for r in caplog.records if leaks(r.getMessage())]
    assert leaks(logged) == [], leaking[:10]
    # Nor are the secrets: the bot token, the webhook secret, the API key.
    api_secret = admin["Authorization"].removeprefix("Bearer ")
    for secret in (fake_telegram.token, TG_HEADERS["X-Telegram-Bot-Api-Secret-Token"], api_secret):
        assert secret not in logged
