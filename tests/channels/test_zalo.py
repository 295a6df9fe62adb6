"""Zalo OA end to end: events posted as Zalo posts them (signed raw bytes), replies seen at the fake API."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from bot import keys
from bot.app import create_app
from bot.channels.zalo import ZALO, verify_signature, zalo_signature
from bot.settings import Settings
from handlers.base import IncomingMessage
from handlers.faq import handle_faq
from storage.models import InboxUpdate
from tests.channels.support import FAST, contact, count, inbox_rows
from tests.fakes import FakeZalo, sign_zalo_event, zalo_event
from tests.fakes.base import wait_until
from tests.fakes.zalo import APP_ID, APP_SECRET, OA_SECRET


@pytest.fixture
async def zl(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_zalo: FakeZalo, redis_url: str | None
) -> Any:
    """A running app wired to the fake Zalo API, workers on, over each state backend."""
    settings = make_settings(**fake_zalo.settings(), **FAST, redis_url=redis_url)
    return await aiohttp_client(create_app(settings))


async def post(client: Any, event: dict[str, Any], secret: str = OA_SECRET) -> Any:
    raw, headers = sign_zalo_event(event, secret)
    return await client.post("/webhooks/zalo", data=raw, headers=headers)


# --- signature --------------------------------------------------------------------------------------


def test_signature_is_sha256_of_app_id_raw_body_timestamp_secret() -> None:
    raw = b'{"event_name": "user_send_text", "timestamp": "1700000000000"}'
    import hashlib

    expected = hashlib.sha256(f"{APP_ID}{raw.decode()}1700000000000{OA_SECRET}".encode()).hexdigest()
    assert zalo_signature(APP_ID, raw, "1700000000000", OA_SECRET) == expected


@pytest.mark.parametrize(("secret", "name"), [(OA_SECRET, "ZALO_OA_SECRET_KEY"), (APP_SECRET, "ZALO_APP_SECRET")])
async def test_either_configured_secret_is_accepted_and_logged(
    zl: Any, fake_zalo: FakeZalo, secret: str, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.channels.zalo")
    response = await post(zl, zalo_event("user_send_text", "u1", text="xin chào", msg_id="m1"), secret)
    assert response.status == 200
    assert await response.json() == {"ok": True}
    assert any(name in r.getMessage() for r in caplog.records)
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("u1")) == 1)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param("wrong-secret", id="wrong-secret"),
        pytest.param("no-header", id="no-header"),
        pytest.param("reserialised", id="reserialised-body"),
        pytest.param("other-timestamp", id="other-timestamp"),
        pytest.param("hmac", id="hmac-instead-of-sha256"),
    ],
)
async def test_bad_signatures_are_401_and_nothing_is_stored(zl: Any, tamper: str) -> None:
    event = zalo_event("user_send_text", "u1", text="xin chào", msg_id="m1")
    raw, headers = sign_zalo_event(event, OA_SECRET)
    if tamper == "wrong-secret":
        raw, headers = sign_zalo_event(event, "not-the-secret")
    elif tamper == "no-header":
        headers = {"Content-Type": "application/json"}
    elif tamper == "reserialised":
        raw = json.dumps(event, separators=(",", ":")).encode()  # same JSON, other bytes
    elif tamper == "other-timestamp":
        raw = raw.replace(event["timestamp"].encode(), b"1")
    else:
        import hashlib
        import hmac

        mac = hmac.new(OA_SECRET.encode(), APP_ID.encode() + raw + event["timestamp"].encode(), hashlib.sha256)
        headers = {"X-ZEvent-Signature": f"mac={mac.hexdigest()}", "Content-Type": "application/json"}
    response = await zl.post("/webhooks/zalo", data=raw, headers=headers)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "unauthorized"
    assert await count(zl.app, InboxUpdate) == 0


def test_signature_check_without_secrets_accepts_nothing(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(zalo_app_id=APP_ID)
    raw = b"{}"
    assert verify_signature(settings, raw, "1", "mac=" + zalo_signature(APP_ID, raw, "1", "")) is None


def signed_raw(body: bytes, timestamp: str, secret: str = OA_SECRET) -> dict[str, str]:
    """Headers that sign arbitrary bytes (timestamp in X-ZEvent-Timestamp)."""
    mac = zalo_signature(APP_ID, body, timestamp, secret)
    return {"X-ZEvent-Signature": f"mac={mac}", "X-ZEvent-Timestamp": timestamp}


def now_ms(offset_seconds: float = 0) -> str:
    return str(int((time.time() + offset_seconds) * 1000))


async def test_malformed_json_is_400_never_500_once_signed(zl: Any) -> None:
    for body in (b"{oops", b"", b"[]", b"[" * 3000 + b"]" * 3000):
        response = await zl.post("/webhooks/zalo", data=body, headers=signed_raw(body, now_ms()))
        assert response.status == 400
        assert (await response.json())["error"]["code"] in ("invalid_json", "invalid_event")


async def test_unsigned_bodies_are_refused_before_parsing(zl: Any) -> None:
    """3 KB of nested brackets without a valid signature: 401, never parsed (it was a 500 RecursionError)."""
    for body in (b"{oops", b"[" * 1500 + b"]" * 1500, b'{"timestamp": "1", ' * 200):
        response = await zl.post("/webhooks/zalo", data=body, headers={"X-ZEvent-Signature": "mac=00"})
        assert response.status == 401


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        pytest.param(-400 * 86400, 400, id="400-days-old"),
        pytest.param(-86400 - 60, 400, id="just-over-a-day-old"),
        pytest.param(30 * 86400, 400, id="30-days-ahead"),
        pytest.param(-3600, 200, id="an-hour-old"),
        pytest.param(60, 200, id="a-minute-ahead"),
    ],
)
async def test_signed_events_must_be_recent(zl: Any, offset: float, status: int) -> None:
    event = zalo_event("user_send_text", "u-age", text="xin chào", msg_id=f"m-age-{offset}")
    event["timestamp"] = now_ms(offset)
    response = await post(zl, event)
    assert response.status == status
    if status == 400:
        assert (await response.json())["error"]["code"] == "stale_event"


async def test_max_age_is_a_setting(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_zalo: FakeZalo
) -> None:
    settings = make_settings(**fake_zalo.settings(), **FAST, zalo_webhook_max_age_seconds=60)
    client = await aiohttp_client(create_app(settings))
    event = zalo_event("user_send_text", "u-age", text="xin chào", msg_id="m-age")
    event["timestamp"] = now_ms(-120)
    assert (await post(client, event)).status == 400


async def test_timestamp_from_the_header_or_the_body_and_logged(zl: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.channels.zalo")
    # Signed over the header's timestamp (the body has none).
    body = json.dumps(
        {
            "app_id": APP_ID,
            "event_name": "user_send_text",
            "sender": {"id": "u-h"},
            "message": {"text": "chào", "msg_id": "m-h"},
        }
    ).encode()
    response = await zl.post("/webhooks/zalo", data=body, headers=signed_raw(body, now_ms()))
    assert response.status == 200
    assert any("timestamp from the header" in r.getMessage() for r in caplog.records)
    # Signed over the body's timestamp, no header.
    response = await post(zl, zalo_event("user_send_text", "u-b", text="chào", msg_id="m-b"))
    assert response.status == 200
    assert any("timestamp from the body" in r.getMessage() for r in caplog.records)


async def test_zalo_not_configured_is_404(client: Any) -> None:
    raw, headers = sign_zalo_event(zalo_event("user_send_text", "u1", text="x"))
    assert (await client.post("/webhooks/zalo", data=raw, headers=headers)).status == 404


# --- echoes and duplicates ----------------------------------------------------------------------------


async def test_echo_events_of_our_own_messages_are_skipped(zl: Any) -> None:
    for name in ("oa_send_text", "oa_send_image", "oa_send_list"):
        response = await post(zl, zalo_event(name, "u1", text="Xin chào Ông/Bà!", msg_id=f"e-{name}"))
        assert response.status == 200
        assert await response.json() == {"ok": True, "ignored": "echo"}
    assert await count(zl.app, InboxUpdate) == 0


async def test_a_redelivered_event_is_acknowledged_and_answered_once(zl: Any, fake_zalo: FakeZalo) -> None:
    event = zalo_event("user_send_text", "u1", text="giờ làm việc", msg_id="dup-1")
    assert await (await post(zl, event)).json() == {"ok": True}
    assert await (await post(zl, event)).json() == {"ok": True, "duplicate": True}
    await post(zl, zalo_event("user_send_text", "u1", text="/help", msg_id="dup-2"))
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("u1")) >= 2)
    texts = fake_zalo.texts("u1")
    assert len(texts) == 2
    assert texts[0].startswith("Giờ làm việc") and texts[1].startswith("Cách hỏi")


async def test_events_without_msg_id_dedup_on_event_timestamp_and_sender(zl: Any) -> None:
    at = int(time.time() * 1000)
    follow = zalo_event("follow", "u2", timestamp=at)
    assert await (await post(zl, follow)).json() == {"ok": True}
    assert await (await post(zl, follow)).json() == {"ok": True, "duplicate": True}
    other_time = zalo_event("follow", "u2", timestamp=at + 876)
    assert await (await post(zl, other_time)).json() == {"ok": True}
    keys = sorted(r.update_key for r in await inbox_rows(zl.app))
    assert keys == [f"follow:{at}:u2", f"follow:{at + 876}:u2"]


async def test_events_the_bot_does_not_handle_are_acknowledged_not_stored(zl: Any) -> None:
    seen = zalo_event("user_seen_message", "u1", msg_id="s1")
    assert await (await post(zl, seen)).json() == {"ok": True, "ignored": "event"}
    assert await count(zl.app, InboxUpdate) == 0


# --- conversations ----------------------------------------------------------------------------------


async def test_a_question_is_answered_with_quick_reply_buttons(zl: Any, fake_zalo: FakeZalo) -> None:
    await post(zl, zalo_event("user_send_text", "u1", text="le phi ly lich tu phap", msg_id="q1"))
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("u1")) == 1)
    call = fake_zalo.messages("u1")[0]
    assert call.headers["access_token"] == fake_zalo.access_token
    message = call.params["message"]
    assert "200.000 đồng" in message["text"] and len(message["text"]) <= 2000
    buttons = message["attachment"]["payload"]["buttons"]
    assert 1 <= len(buttons) <= 5
    assert all(b["type"] == "oa.query.show" and b["payload"] == b["title"] for b in buttons)
    # Tapping a button sends its text back as the user's message: it is read as that button's payload.
    label = next(b["title"] for b in buttons if b["title"] == "Thời hạn")
    await post(zl, zalo_event("user_send_text", "u1", text=label, msg_id="q2"))
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("u1")) == 2)
    assert "Thời hạn giải quyết" in fake_zalo.texts("u1")[1]


async def test_buttons_beyond_five_are_behind_xem_them_never_dropped(zl: Any, fake_zalo: FakeZalo) -> None:
    """An FAQ answer carries 8 aspect buttons; Zalo shows 5 (the fake refuses more): 4 + "Xem thêm"."""
    question = IncomingMessage(channel="zalo", chat_id="u9", user_id="u9", text="le phi ly lich tu phap")
    [answer] = await handle_faq(question, zl.app[keys.CONTEXT]) or []
    given = [b.label for row in answer.buttons for b in row]
    assert len(given) > 5
    await post(zl, zalo_event("user_send_text", "u9", text="le phi ly lich tu phap", msg_id="x1"))
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("u9")) == 1)
    first = [b["title"] for b in fake_zalo.messages("u9")[0].params["message"]["attachment"]["payload"]["buttons"]]
    assert len(first) == 5 and first[-1] == "Xem thêm"
    await post(zl, zalo_event("user_send_text", "u9", text="Xem thêm", msg_id="x2"))
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("u9")) == 2)
    second = fake_zalo.messages("u9")[1].params["message"]
    assert second["text"] == "Các lựa chọn khác:"
    rest = [b["title"] for b in second["attachment"]["payload"]["buttons"]]
    assert rest and not set(rest) & set(first[:-1])
    assert first[:-1] + rest == given  # every button the handler gave, in its order
    # A shown button still works.
    await post(zl, zalo_event("user_send_text", "u9", text=rest[0], msg_id="x3"))
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("u9")) == 3)
    assert not [c for c in fake_zalo.calls if c.error is not None]


async def test_follow_gets_the_welcome_and_keeps_the_ref_parameter(zl: Any, fake_zalo: FakeZalo) -> None:
    msg = await zl.app[ZALO].to_message(zalo_event("follow", "u3", extra={"ref": "sub_TOKEN42"}))
    assert msg is not None and (msg.kind, msg.start_param, msg.chat_id) == ("follow", "sub_TOKEN42", "u3")
    plain = await zl.app[ZALO].to_message(zalo_event("follow", "u3"))
    assert plain is not None and plain.start_param is None
    await post(zl, zalo_event("follow", "u3"))
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("u3")) == 1)
    assert fake_zalo.texts("u3")[0].startswith("Xin chào Ông/Bà!")


async def test_shared_phone_is_stored_on_the_contact_and_never_logged(
    zl: Any, fake_zalo: FakeZalo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    info = {"info": {"name": "Nguyễn Thị Lan", "phone": "84912345678", "user_dob": "30/10/1999"}}
    await post(zl, zalo_event("user_submit_info", "u4", extra=info))
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("u4")) == 1)
    stored = await contact(zl.app, "zalo", "u4")
    assert stored is not None and stored.phone == "0912345678"
    ours = ("bot", "handlers", "storage", "knowledge")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.split(".")[0] in ours)
    assert "912345678" not in logged and "Nguyễn Thị Lan" not in logged


async def test_images_files_and_locations_get_a_polite_answer(zl: Any, fake_zalo: FakeZalo) -> None:
    image = {"message": {"msg_id": "i1", "attachments": [{"type": "image", "payload": {"url": "https://x/y.jpg"}}]}}
    location = {"message": {"msg_id": "l1", "attachments": [{"type": "location", "payload": {"coordinates": {}}}]}}
    await post(zl, zalo_event("user_send_image", "u5", extra=image))
    await post(zl, zalo_event("user_send_file", "u5", msg_id="f1"))
    await post(zl, zalo_event("user_send_location", "u5", extra=location))
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("u5")) == 3)
    image_reply, file_reply, place_reply = fake_zalo.texts("u5")
    assert "chỉ đọc được tin nhắn chữ" in image_reply and "chỉ đọc được tin nhắn chữ" in file_reply
    assert "vị trí" in place_reply


async def test_unfollow_marks_the_contact_and_says_nothing(zl: Any, fake_zalo: FakeZalo) -> None:
    await post(zl, zalo_event("user_send_text", "u6", text="/help", msg_id="h1"))
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("u6")) == 1)
    await post(zl, zalo_event("unfollow", "u6"))

    async def blocked() -> bool:
        stored = await contact(zl.app, "zalo", "u6")
        return stored is not None and stored.blocked

    await wait_until(blocked)
    assert len(fake_zalo.messages("u6")) == 1


async def test_request_user_info_then_a_shared_phone_asks_before_linking(zl: Any, fake_zalo: FakeZalo) -> None:
    from storage.dossiers import NewDossier

    async with zl.app[keys.SESSIONMAKER].begin() as session:
        dossier = await zl.app[keys.DOSSIERS].create(
            session,
            NewDossier(
                procedure_id="cap-phieu-ly-lich-tu-phap",
                applicant_name="Trần Văn Bình",
                applicant_phone="0912345678",
                channel="direct",
            ),
            actor="test",
        )
    await post(zl, zalo_event("user_send_text", "u-info", text="nhận thông báo", msg_id="ri1"))
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("u-info")) == 1)
    payload = fake_zalo.messages("u-info")[0].params["message"]["attachment"]["payload"]
    assert payload["template_type"] == "request_user_info" and "Chia sẻ" in payload["elements"][0]["subtitle"]
    shared = zalo_event("user_submit_info", "u-info", extra={"info": {"name": "Trần Văn Bình", "phone": "84912345678"}})
    await post(zl, shared)
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("u-info")) == 2)
    ask = fake_zalo.messages("u-info")[1].params["message"]
    assert dossier.code in ask["text"] and "091****678" in ask["text"]
    await post(zl, zalo_event("user_send_text", "u-info", text="Đồng ý", msg_id="ri2"))
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("u-info")) == 3)
    assert f"liên kết cuộc trò chuyện này với hồ sơ {dossier.code}" in fake_zalo.texts("u-info")[2]
