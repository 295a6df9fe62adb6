"""Hostile input at both webhooks (with a valid secret or signature) and at the handlers.

Whatever arrives: no 500; an update the webhook accepts is handled (never left failing or retrying), the
inbox workers keep running, and the citizen still gets an answer; each example within the deadline.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st
from sqlalchemy import select

from bot import keys
from bot.app import create_app
from bot.inbox import INBOX_WORKERS, PIPELINE
from bot.settings import Settings
from handlers.base import IncomingMessage
from storage.models import InboxUpdate
from tests.channels.support import FAST, TG_HEADERS
from tests.fakes import FakeTelegram, FakeZalo, sign_zalo_event, telegram_message_update, zalo_event
from tests.fakes.base import wait_until
from tests.fakes.fixtures import fake_telegram, fake_zalo
from tests.fakes.zalo import APP_ID, OA_SECRET
from tests.security.profile import PROPERTY_SETTINGS
from tests.security.test_api_properties import JSON, TEXT

__all__ = ["fake_telegram", "fake_zalo"]

IDS = st.integers(min_value=-(2**63), max_value=2**63) | st.integers(min_value=1, max_value=10**6)
USER = st.fixed_dictionaries(
    {"id": IDS, "is_bot": st.booleans(), "first_name": TEXT},
    optional={"language_code": st.sampled_from(["vi", "en", "", "xx"]) | TEXT, "username": TEXT},
)
CHAT = st.fixed_dictionaries(
    {"id": IDS, "type": st.sampled_from(["private", "group", "supergroup", "channel"]) | TEXT},
    optional={"title": TEXT, "first_name": TEXT},
)
MESSAGE = st.fixed_dictionaries(
    {"message_id": IDS, "date": st.integers(min_value=0, max_value=2**33), "chat": CHAT},
    optional={
        "from": USER,
        "text": TEXT,
        "caption": TEXT,
        "contact": st.fixed_dictionaries({"phone_number": TEXT, "first_name": TEXT}, optional={"user_id": IDS}),
        "location": st.fixed_dictionaries({"latitude": st.floats(-90, 90), "longitude": st.floats(-180, 180)}),
        "photo": st.lists(
            st.fixed_dictionaries(
                {"file_id": TEXT, "file_unique_id": TEXT, "width": st.integers(0, 9), "height": st.integers(0, 9)}
            ),
            max_size=2,
        ),
        "entities": st.lists(
            st.fixed_dictionaries({"type": st.sampled_from(["bot_command", "url"]), "offset": IDS, "length": IDS}),
            max_size=2,
        ),
        "reply_to_message": st.fixed_dictionaries(
            {"message_id": IDS, "date": st.integers(0, 2**31), "chat": CHAT}, optional={"text": TEXT}
        ),
    },
)
CALLBACK = st.fixed_dictionaries(
    {"id": TEXT, "from": USER, "chat_instance": TEXT},
    optional={"data": TEXT | st.sampled_from(["h:" + "0" * 24, "menu:lookup", "rate:1"]), "message": MESSAGE},
)
TELEGRAM_UPDATE = st.fixed_dictionaries(
    {"update_id": IDS},
    optional={
        "message": MESSAGE,
        "edited_message": MESSAGE,
        "callback_query": CALLBACK,
        "my_chat_member": JSON,
        "channel_post": MESSAGE,
    },
)
ZALO_EVENTS = ["user_send_text", "follow", "unfollow", "user_submit_info", "user_send_location", "user_send_image"]
ZALO_EVENT = st.fixed_dictionaries(
    {
        "event_name": st.sampled_from(ZALO_EVENTS) | TEXT,
        "timestamp": st.integers(0, 2**45).map(str) | TEXT,
    },
    optional={
        "app_id": TEXT,
        "sender": st.fixed_dictionaries({"id": TEXT | IDS.map(str)}) | JSON,
        "follower": st.fixed_dictionaries({"id": TEXT}, optional={"ref": TEXT}) | JSON,
        "recipient": JSON,
        "message": st.fixed_dictionaries({}, optional={"text": TEXT, "msg_id": TEXT | IDS, "attachments": JSON}) | JSON,
        "info": st.fixed_dictionaries({}, optional={"phone": TEXT, "name": TEXT}) | JSON,
        "ref": TEXT,
        "user_id_by_app": TEXT,
    },
)


@pytest.fixture
async def bots(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    fake_telegram: FakeTelegram,
    fake_zalo: FakeZalo,
    redis_url: str | None,
) -> Any:
    """One app with both channels on the fakes, workers running."""
    settings = make_settings(**fake_telegram.settings(), **fake_zalo.settings(), **FAST, redis_url=redis_url)
    return await aiohttp_client(create_app(settings))


async def check_response(resp: Any, note: bool = False) -> dict[str, Any]:
    assert resp.status < 500, await resp.text()
    body: dict[str, Any] = await resp.json()
    if note:  # hypothesis statistics (--hypothesis-show-statistics): how deep the examples got
        event(f"{resp.status} {body.get('error', {}).get('code') or body.get('ignored') or 'stored'}")
    if resp.status >= 400:
        assert set(body["error"]) >= {"code", "message"}
    return body


async def handled(client: Any, channel: str) -> None:
    """Every stored update of `channel` is finished and none failed; the workers are still running."""
    sessionmaker = client.app[keys.SESSIONMAKER]

    async def statuses() -> list[str]:
        async with sessionmaker() as session:
            rows = await session.execute(select(InboxUpdate.status).where(InboxUpdate.channel == channel))
            return list(rows.scalars())

    async def finished() -> bool:
        return "pending" not in await statuses()

    try:
        await wait_until(finished, timeout=30)
    except AssertionError:
        async with sessionmaker() as session:
            stuck = await session.execute(
                select(InboxUpdate.id, InboxUpdate.attempts, InboxUpdate.error, InboxUpdate.payload).where(
                    InboxUpdate.status == "pending"
                )
            )
            raise AssertionError(f"updates left pending: {[tuple(row) for row in stuck]}"[:3000]) from None
    assert "failed" not in await statuses()
    assert all(not task.done() for task in client.app[INBOX_WORKERS]._tasks)


@PROPERTY_SETTINGS
@given(body=st.one_of(JSON, TELEGRAM_UPDATE))
async def test_telegram_webhook_any_json(bots: Any, body: Any) -> None:
    note(f"body={body!r}")
    resp = await bots.post("/webhooks/telegram", data=json.dumps(body), headers=TG_HEADERS)
    await check_response(resp, note=True)
    await handled(bots, "telegram")


# Containers nested far deeper than a real update (`[[[…]]]`, 3 KB was a RecursionError and a 500 once).
NESTED = st.integers(min_value=33, max_value=3000).flatmap(
    lambda depth: st.sampled_from(["[" * depth + "]" * depth, '{"update_id":' * depth + "1" + "}" * depth])
)


@PROPERTY_SETTINGS
@given(raw=st.binary(max_size=3000) | NESTED.map(str.encode))
async def test_telegram_webhook_any_bytes(bots: Any, raw: bytes) -> None:
    resp = await bots.post("/webhooks/telegram", data=raw, headers=TG_HEADERS)
    await check_response(resp, note=True)
    await handled(bots, "telegram")


@PROPERTY_SETTINGS
@given(event=st.one_of(st.dictionaries(TEXT, JSON, max_size=6), ZALO_EVENT))
async def test_zalo_webhook_any_signed_event(bots: Any, event: dict[str, Any]) -> None:
    event.setdefault("timestamp", str(int(time.time() * 1000)))
    note(f"event={event!r}")
    raw, headers = sign_zalo_event(event)
    resp = await bots.post("/webhooks/zalo", data=raw, headers=headers)
    await check_response(resp, note=True)
    await handled(bots, "zalo")


def signed(raw: bytes, timestamp: str) -> dict[str, str]:
    """The signature header Zalo would send for these bytes (OA secret key)."""
    mac = hashlib.sha256(APP_ID.encode() + raw + timestamp.encode() + OA_SECRET.encode()).hexdigest()
    return {"X-ZEvent-Signature": f"mac={mac}"}


@PROPERTY_SETTINGS
@given(raw=st.binary(max_size=3000) | NESTED.map(str.encode), timestamp=st.sampled_from(["", "0", "1700000000000"]))
async def test_zalo_webhook_any_bytes(bots: Any, raw: bytes, timestamp: str) -> None:
    resp = await bots.post("/webhooks/zalo", data=raw, headers=signed(raw, timestamp))
    await check_response(resp, note=True)
    await handled(bots, "zalo")


@PROPERTY_SETTINGS
@given(text=TEXT | st.text(min_size=3000, max_size=20000), channel=st.sampled_from(["telegram", "zalo", "console"]))
async def test_handlers_answer_any_text(bots: Any, text: str, channel: Any) -> None:
    """Huge text, control characters, mixed scripts, emoji, SQL/HTML: the pipeline answers, briefly."""
    pipeline = bots.app[PIPELINE]
    msg = IncomingMessage(channel=channel, chat_id="777", user_id="777", text=text)
    replies = await pipeline.respond(msg)
    assert replies, "every text gets an answer (an FAQ answer, a clarification or the fallback)"
    for reply in replies:
        assert len(reply.text) < 20000
        assert text not in reply.text or len(text) < 100  # a huge message is never echoed back whole


async def test_the_bot_still_answers_after_garbage(bots: Any, fake_telegram: FakeTelegram) -> None:
    """Garbage updates mixed with real ones: the real ones are answered, once each."""
    garbage: list[bytes] = [b"\x00" * 100, b"[]", b'{"update_id": -1}', json.dumps({"update_id": 2**70}).encode()]
    for n, raw in enumerate(garbage):
        await check_response(await bots.post("/webhooks/telegram", data=raw, headers=TG_HEADERS))
        update = telegram_message_update(1000 + n, 424242 + n, "lệ phí đổi bằng lái xe")
        resp = await bots.post("/webhooks/telegram", json=update, headers=TG_HEADERS)
        assert resp.status == 200
    await fake_telegram.wait_for(lambda: all(fake_telegram.sent(424242 + n) for n in range(len(garbage))))
    await handled(bots, "telegram")
    assert [len(fake_telegram.sent(424242 + n)) for n in range(len(garbage))] == [1] * len(garbage)


async def test_zalo_replayed_events_are_handled_once(bots: Any, fake_zalo: FakeZalo) -> None:
    """The same signed event delivered again (a platform retry or a captured replay) is not handled twice."""
    event = zalo_event("user_send_text", "zl-1", text="giờ làm việc", msg_id="msg-replay-1")
    raw, headers = sign_zalo_event(event)
    first = await check_response(await bots.post("/webhooks/zalo", data=raw, headers=headers))
    assert first == {"ok": True}
    for _ in range(5):
        again = await check_response(await bots.post("/webhooks/zalo", data=raw, headers=headers))
        assert again == {"ok": True, "duplicate": True}
    # The same event re-serialised (other spacing) and re-signed is still the same event.
    raw2 = json.dumps(event).encode()
    resp = await bots.post("/webhooks/zalo", data=raw2, headers=signed(raw2, str(event["timestamp"])))
    assert (await check_response(resp)).get("duplicate") is True
    # A follow event (no msg_id) replayed: deduplicated on event, timestamp and follower.
    follow = zalo_event("follow", "zl-2", timestamp=int(time.time() * 1000) - 60_000)  # signed events must be recent
    raw3, headers3 = sign_zalo_event(follow)
    assert await check_response(await bots.post("/webhooks/zalo", data=raw3, headers=headers3)) == {"ok": True}
    assert (await check_response(await bots.post("/webhooks/zalo", data=raw3, headers=headers3))).get("duplicate")
    await handled(bots, "zalo")
    await fake_zalo.wait_for(lambda: len(fake_zalo.messages("zl-1")) >= 1)
    await handled(bots, "zalo")
    assert len(fake_zalo.messages("zl-1")) == 1


def _flip_last(mac: str) -> str:
    """The same MAC with its last hex digit changed (to another digit whatever it was)."""
    return mac[:-1] + ("1" if mac.endswith("0") else "0")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda raw, h: (raw.replace(b"gi", b"Gi", 1), h), id="body-changed"),
        pytest.param(lambda raw, h: (raw, {"X-ZEvent-Signature": _flip_last(h["X-ZEvent-Signature"])}), id="mac"),
        pytest.param(lambda raw, h: (raw, {"X-ZEvent-Signature": h["X-ZEvent-Signature"][:40]}), id="truncated"),
        pytest.param(lambda raw, h: (raw, {"X-ZEvent-Signature": "mac="}), id="empty"),
        pytest.param(lambda raw, h: (raw, {}), id="missing"),
        pytest.param(
            lambda raw, h: (raw, {"X-ZEvent-Signature": "mac=" + "0" * 64}),
            id="zeros",
        ),
    ],
)
async def test_zalo_wrong_signature_is_401_and_nothing_stored(bots: Any, tamper: Callable[..., Any]) -> None:
    raw, headers = sign_zalo_event(zalo_event("user_send_text", "zl-3", text="giờ làm việc"))
    raw, headers = tamper(raw, headers)
    resp = await bots.post("/webhooks/zalo", data=raw, headers=headers)
    assert resp.status == 401
    async with bots.app[keys.SESSIONMAKER]() as session:
        assert (await session.execute(select(InboxUpdate.id))).first() is None


async def test_zalo_signature_with_the_app_id_of_another_app_is_401(bots: Any) -> None:
    raw, headers = sign_zalo_event(zalo_event("user_send_text", "zl-4", text="x"), app_id="1")
    assert (await bots.post("/webhooks/zalo", data=raw, headers=headers)).status == 401


@pytest.mark.parametrize("field", ["language_code", "first_name", "text", "start"])
async def test_nul_characters_do_not_poison_the_inbox(bots: Any, fake_telegram: FakeTelegram, field: str) -> None:
    """A NUL character (PostgreSQL text refuses it) in one update must not block that chat or the others."""
    poisoned = telegram_message_update(1, 9001, "giờ làm việc")
    if field == "text":
        poisoned["message"]["text"] = "TTHCC-260302-0001\x00 tra cứu"
    elif field == "start":
        poisoned = telegram_message_update(1, 9001, "/start abc\x00def")
    else:
        poisoned["message"]["from"][field] = "vi\x00x"
    assert (await bots.post("/webhooks/telegram", json=poisoned, headers=TG_HEADERS)).status == 200
    for n in range(3):
        update = telegram_message_update(10 + n, 9100 + n, "giờ làm việc")
        assert (await bots.post("/webhooks/telegram", json=update, headers=TG_HEADERS)).status == 200
    await fake_telegram.wait_for(lambda: all(fake_telegram.sent(9100 + n) for n in range(3)), timeout=10)
    await fake_telegram.wait_for(lambda: bool(fake_telegram.sent(9001)), timeout=10)
    await handled(bots, "telegram")


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(zalo_event("follow", "zl-9", extra={"ref": "tok\x00en"}), id="follow-ref"),
        pytest.param(zalo_event("user_send_text", "zl-9", text="/start x\x00y"), id="text"),
        pytest.param(
            zalo_event("user_submit_info", "zl-9", extra={"info": {"name": "A\x00", "phone": "09\x00"}}), id="info"
        ),
    ],
)
async def test_nul_characters_in_zalo_events_do_not_poison_the_inbox(
    bots: Any, fake_zalo: FakeZalo, event: dict[str, Any]
) -> None:
    raw, headers = sign_zalo_event(event)
    assert (await bots.post("/webhooks/zalo", data=raw, headers=headers)).status == 200
    other = zalo_event("user_send_text", "zl-10", text="giờ làm việc")
    raw, headers = sign_zalo_event(other)
    assert (await bots.post("/webhooks/zalo", data=raw, headers=headers)).status == 200
    await fake_zalo.wait_for(lambda: bool(fake_zalo.messages("zl-10")), timeout=10)
    await handled(bots, "zalo")


async def test_zalo_sender_id_longer_than_a_chat_id_is_refused(bots: Any) -> None:
    """A 600-character follower id was stored, then failed its whole inbox batch on PostgreSQL at every lease."""
    raw, headers = sign_zalo_event(zalo_event("unfollow", "9" * 600))
    resp = await bots.post("/webhooks/zalo", data=raw, headers=headers)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_event"


async def test_an_update_the_database_refuses_is_given_up_alone(bots: Any, fake_zalo: FakeZalo) -> None:
    """Whatever gets into the inbox, one row the database refuses must not hold back the rows claimed with it."""
    from bot.inbox import store_update
    from storage.inbox import NewUpdate

    poison = zalo_event("user_send_text", "8" * 300, text="giờ làm việc", msg_id="poison")
    await store_update(bots.app, NewUpdate("zalo", "msg:poison", "p" * 10, poison))
    for n in range(3):
        raw, headers = sign_zalo_event(zalo_event("user_send_text", f"zl-ok-{n}", text="giờ làm việc"))
        assert (await bots.post("/webhooks/zalo", data=raw, headers=headers)).status == 200
    await fake_zalo.wait_for(lambda: all(fake_zalo.messages(f"zl-ok-{n}") for n in range(3)), timeout=15)

    async def poison_finished() -> bool:
        async with bots.app[keys.SESSIONMAKER]() as session:
            row = await session.execute(select(InboxUpdate.status).where(InboxUpdate.update_key == "msg:poison"))
            return row.scalar_one() != "pending"

    await wait_until(poison_finished, timeout=15)
