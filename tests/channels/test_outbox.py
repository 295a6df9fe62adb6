"""The outbox worker against the fake Bot API: back-off, 429, blocked users, rate limits, order, once only.

The worker is driven round by round (`run_once`) so each step's effect on the rows can be checked; the
app's own background workers are off.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from bot import keys
from bot.app import create_app
from bot.channels.base import SENDERS
from bot.inbox import WRITE_GATE
from bot.outbox import PACING_HEADROOM, OutboxWorker, RateLimiter, Slot, backoff_delay, senders_of
from bot.settings import Settings
from handlers.base import Button, Reply
from storage.apikeys import create_api_key
from storage.models import utcnow
from storage.outbox import OutgoingMessage, enqueue
from storage.state import RedisStateStore
from tests.channels.support import FAST, contact, outbox_rows
from tests.fakes import FakeTelegram
from tests.fakes.base import wait_until


@pytest.fixture
async def http(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_telegram: FakeTelegram, redis_url: str | None
) -> Any:
    """The app on a test server (wired to the fake Bot API), background workers off."""
    settings = make_settings(**fake_telegram.settings(), **FAST, redis_url=redis_url, workers_enabled=False)
    return await aiohttp_client(create_app(settings))


@pytest.fixture
def app(http: Any) -> web.Application:
    application: web.Application = http.app
    return application


def worker(app: web.Application, **overrides: Any) -> OutboxWorker:
    values: dict[str, Any] = {
        "sessionmaker": app[keys.SESSIONMAKER],
        "state": app[keys.STATE],
        "senders": senders_of(app),
        "metrics": app[keys.METRICS],
        "max_attempts": 4,
        "backoff_seconds": 0.01,
        "backoff_max_seconds": 0.02,
        "write_gate": app[WRITE_GATE],
        "rng": random.Random(7),
    }
    values.update(overrides)
    return OutboxWorker(**values)


async def put(app: web.Application, *messages: tuple[str, str]) -> None:
    """Enqueue (chat, text) messages on Telegram, keys `t:<chat>:<text>`."""
    async with app[keys.SESSIONMAKER].begin() as session:
        await enqueue(
            session,
            [
                OutgoingMessage(f"t:{chat}:{text}", "telegram", chat, Reply(text=text).to_payload())
                for chat, text in messages
            ],
        )


def metric(app: web.Application, name: str, **labels: str) -> float:
    value = app[keys.REGISTRY].get_sample_value(name, labels)
    return value or 0.0


async def drain(w: OutboxWorker, condition: Callable[[], Any], rounds: int = 400) -> None:
    """Run rounds until `condition()` holds (rows deferred into the future come due meanwhile)."""

    async def step() -> bool:
        await w.run_once()
        result = condition()
        return bool(await result if asyncio.iscoroutine(result) else result)

    await wait_until(step, timeout=20)


# --- verdicts ---------------------------------------------------------------------------------------


async def test_sent_messages_record_the_platform_message_id(app: web.Application, fake_telegram: FakeTelegram) -> None:
    await put(app, ("42", "một"), ("43", "hai"))
    assert await worker(app).run_once() == 2
    rows = {r.recipient: r for r in await outbox_rows(app)}
    sent = {str(c.params["chat_id"]): c for c in fake_telegram.sent()}
    assert set(sent) == {"42", "43"}
    for chat in ("42", "43"):
        assert rows[chat].status == "sent" and rows[chat].attempts == 1 and rows[chat].sent_at is not None
        assert (rows[chat].platform_message_id or "").isdigit()
    assert metric(app, "motcua_outbox_sent_total", channel="telegram") == 2


async def test_429_waits_retry_after_for_that_chat_only(app: web.Application, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail(429, chat_id=42, retry_after=2, times=1)
    await put(app, ("42", "một"), ("42", "hai"), ("43", "ba"))
    before = utcnow()
    w = worker(app)
    await w.run_once()
    rows = {(r.recipient, r.payload["text"]): r for r in await outbox_rows(app)}
    assert rows[("43", "ba")].status == "sent"  # the other chat is not held up
    throttled = rows[("42", "một")]
    assert throttled.status == "pending" and throttled.attempts == 0  # a 429 is not the message's fault
    assert throttled.next_attempt_at >= before + timedelta(seconds=2)
    assert rows[("42", "hai")].status == "pending"  # and the chat's next message waits behind it
    # Once due again, the chat's messages go out, in order.
    async with app[keys.SESSIONMAKER].begin() as session:
        row = await session.get(type(throttled), throttled.id)
        assert row is not None
        row.next_attempt_at = utcnow()
    await drain(w, lambda: len(fake_telegram.sent(42)) == 2)
    assert fake_telegram.texts(42) == ["một", "hai"]


async def test_a_user_who_blocked_the_bot_makes_the_message_undeliverable(
    app: web.Application, fake_telegram: FakeTelegram
) -> None:
    async with app[keys.SESSIONMAKER].begin() as session:
        from storage.contacts import upsert_contact

        await upsert_contact(session, "telegram", "42", "42")
    fake_telegram.fail(403, chat_id=42, times=None)
    await put(app, ("42", "một"))
    await worker(app).run_once()
    [row] = await outbox_rows(app)
    assert row.status == "undeliverable" and "blocked" in (row.last_error or "")
    stored = await contact(app, "telegram", "42")
    assert stored is not None and stored.blocked and "blocked" in (stored.blocked_reason or "")
    assert metric(app, "motcua_outbox_failed_total", channel="telegram", reason="blocked") == 1


async def test_server_errors_back_off_then_fail_and_are_reported(
    http: Any, app: web.Application, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail(500, chat_id=42, times=None)
    await put(app, ("42", "một"))
    w = worker(app, max_attempts=3)
    await w.run_once()
    [row] = await outbox_rows(app)
    assert (row.status, row.attempts) == ("pending", 1)

    async def failed() -> bool:
        return (await outbox_rows(app))[0].status == "failed"

    await drain(w, failed)
    [row] = await outbox_rows(app)
    assert row.attempts == 3 and "gave up after 3 attempts" in (row.last_error or "")
    assert len([c for c in fake_telegram.calls if c.path == "sendMessage"]) == 3
    metrics_text = await (await http.get("/metrics")).text()
    assert 'motcua_outbox_failed_total{channel="telegram",reason="max_attempts"} 1.0' in metrics_text
    assert 'motcua_outbox_messages{status="failed"} 1.0' in metrics_text
    # ... and visible through the API.
    async with app[keys.SESSIONMAKER].begin() as session:
        _key, secret = await create_api_key(session, name="ops", role="admin")
    listing = await http.get("/api/v1/outbox?status=failed", headers={"Authorization": f"Bearer {secret}"})
    assert listing.status == 200
    [item] = (await listing.json())["items"]
    assert (item["status"], item["channel"], item["attempts"]) == ("failed", "telegram", 3)
    assert "recipient" not in item  # chat ids stay out of the API listing
    bad = await http.get("/api/v1/outbox?status=nonsense", headers={"Authorization": f"Bearer {secret}"})
    assert bad.status == 400
    async with app[keys.SESSIONMAKER].begin() as session:
        _key, officer = await create_api_key(session, name="o", role="officer", department_id=_any_department(app))
    refused = await http.get("/api/v1/outbox", headers={"Authorization": f"Bearer {officer}"})
    assert refused.status == 403


def _any_department(app: web.Application) -> str:
    department: str = app[keys.KB].departments[0].id
    return department


async def test_bad_requests_fail_at_once(app: web.Application, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail(400, chat_id=42, description="Bad Request: message text is empty")
    await put(app, ("42", "một"))
    await worker(app).run_once()
    [row] = await outbox_rows(app)
    assert row.status == "failed" and row.attempts == 1 and "text is empty" in (row.last_error or "")


async def test_a_channel_without_sender_retries_then_fails(app: web.Application) -> None:
    async with app[keys.SESSIONMAKER].begin() as session:
        await enqueue(session, [OutgoingMessage("z:1", "nowhere", "u1", {"text": "x"})])
    w = worker(app, max_attempts=2, orphan_grace_seconds=0)

    async def failed() -> bool:
        return (await outbox_rows(app))[0].status == "failed"

    await drain(w, failed)
    [row] = await outbox_rows(app)
    assert "no sender for channel 'nowhere'" in (row.last_error or "")


async def test_a_replica_without_the_channels_sender_leaves_its_messages_to_one_that_has_it(
    app: web.Application, fake_telegram: FakeTelegram
) -> None:
    await put(app, ("42", "một"))
    telegram = app[SENDERS]["telegram"]
    lacking = worker(app, senders=lambda: {"console": telegram})  # a replica without Telegram configured
    assert await lacking.run_once() == 0
    [row] = await outbox_rows(app)
    assert row.status == "pending" and row.attempts == 0
    assert await worker(app).run_once() == 1
    assert fake_telegram.texts(42) == ["một"]


# --- order, rate limits, once only ----------------------------------------------------------------


async def test_one_chats_messages_go_out_in_order_one_at_a_time(
    app: web.Application, fake_telegram: FakeTelegram
) -> None:
    texts = [f"phần {n}" for n in range(6)]
    await put(app, *[("42", t) for t in texts])
    w = worker(app)
    assert await w.run_once() == 1  # only the chat's oldest open message is claimable
    await drain(w, lambda: len(fake_telegram.sent(42)) == 6)
    assert fake_telegram.texts(42) == texts


async def test_per_chat_rate_limit_spaces_a_chats_messages(app: web.Application, fake_telegram: FakeTelegram) -> None:
    sender = app[SENDERS]["telegram"]
    sender.per_recipient_per_second = 1.0
    await put(app, ("42", "một"), ("42", "hai"))
    w = worker(app)
    await w.run_once()
    await w.run_once()
    rows = await outbox_rows(app)
    assert [r.status for r in rows] == ["sent", "pending"]
    assert rows[1].attempts == 0 and rows[1].next_attempt_at > utcnow()  # deferred by the limit, not failed


async def test_overall_rate_limit_defers_the_excess(app: web.Application, fake_telegram: FakeTelegram) -> None:
    sender = app[SENDERS]["telegram"]
    sender.rate_per_second = 3.0
    await put(app, *[(str(100 + n), "x") for n in range(8)])
    await worker(app).run_once()
    rows = await outbox_rows(app)
    sent = [r for r in rows if r.status == "sent"]
    assert 1 <= len(sent) <= 3 * 2  # at most one window's worth (two if the round straddles a second)
    assert all(r.attempts == 0 for r in rows if r.status == "pending")


async def test_rate_limits_are_shared_through_the_state_store(app: web.Application) -> None:
    state = app[keys.STATE]
    # Two limiters (two replicas) pacing one channel at 2 per second, booked up to a second ahead.
    a, b = RateLimiter(state, clock=lambda: 1000.0), RateLimiter(state, clock=lambda: 1000.1)
    interval = 1 / (2 * PACING_HEADROOM)  # a little over ½ s
    assert await a.wait_for("telegram", "1", overall=2, per_recipient=None) == Slot(send_in=0.0)
    second = await b.wait_for("telegram", "2", overall=2, per_recipient=None)
    assert second.retry_in is None and second.send_in == pytest.approx(interval - 0.1, abs=1e-5)  # after a's
    third = await a.wait_for("telegram", "3", overall=2, per_recipient=None)
    assert third.channel_full and third.retry_in is not None and 0 < third.retry_in <= 1  # booked up for both
    later = RateLimiter(state, clock=lambda: 1000.9)
    third = await later.wait_for("telegram", "3", overall=2, per_recipient=None)
    assert third.retry_in is None and not third.channel_full
    assert third.send_in == pytest.approx(2 * interval - 0.9, abs=1e-5)  # Redis keeps microseconds
    assert await a.wait_for("telegram", "9", overall=None, per_recipient=1) == Slot()
    spaced = await b.wait_for("telegram", "9", overall=None, per_recipient=1)
    assert spaced == Slot(retry_in=1.0) and not spaced.channel_full  # that chat only


async def test_the_overall_rate_holds_in_every_sliding_second(
    app: web.Application, fake_telegram: FakeTelegram
) -> None:
    app[SENDERS]["telegram"].rate_per_second = 5.0
    await put(app, *[(str(300 + n), "x") for n in range(15)])
    w = worker(app)
    w.start()
    try:
        await wait_until(lambda: len(fake_telegram.sent()) == 15, timeout=15)
    finally:
        await w.stop()
    times = sorted(call.at for call in fake_telegram.sent())
    # A fixed one-second window lets up to 10 through around its edge; paced, no second holds more than 5
    # (one more allowed for the request that lands exactly on the boundary).
    assert max(sum(t <= x < t + 1.0 for x in times) for t in times) <= 6


async def test_a_full_window_on_one_channel_holds_up_no_other(app: web.Application) -> None:
    import io

    from bot.channels.console import ConsoleChannel

    app[SENDERS]["telegram"].rate_per_second = 2.0
    app[SENDERS]["console"] = ConsoleChannel(io.StringIO())
    await put(app, *[(str(100 + n), "x") for n in range(30)])  # a backlog, older than the console message
    async with app[keys.SESSIONMAKER].begin() as session:
        await enqueue(session, [OutgoingMessage("c:1", "console", "terminal", Reply(text="kết quả").to_payload())])
    before = utcnow()
    w = worker(app, batch_size=10)
    await w.run_once()  # ten of the backlog: one window's worth sent, the rest put off, the channel full
    await w.run_once()  # so the next round passes the backlog by
    rows = await outbox_rows(app)
    assert [r.status for r in rows if r.channel == "console"] == ["sent"]
    telegram = [r for r in rows if r.channel == "telegram"]
    assert 1 <= sum(r.status == "sent" for r in telegram) <= 2 * 2  # two windows if the rounds straddle a second
    assert all(r.attempts == 0 for r in telegram if r.status == "pending")
    untouched = [r for r in telegram[10:] if r.status == "pending" and r.next_attempt_at <= before]
    assert len(untouched) == 20  # the rest of the backlog was not claimed just to be put off


async def test_messages_put_off_go_out_when_due_not_at_the_next_poll(
    app: web.Application, fake_telegram: FakeTelegram
) -> None:
    app[SENDERS]["telegram"].rate_per_second = 3.0
    await put(app, *[(str(200 + n), "x") for n in range(9)])
    w = worker(app, poll_interval=60.0)  # an idle worker would otherwise look again only after a minute
    w.start()
    try:
        await wait_until(lambda: len(fake_telegram.sent()) == 9, timeout=15)
    finally:
        await w.stop()
    rows = await outbox_rows(app)
    assert all(r.status == "sent" and r.attempts == 1 for r in rows)


async def test_two_workers_send_each_message_once(
    app: web.Application, fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    messages = [(str(200 + n % 10), f"m{n}") for n in range(40)]
    await put(app, *messages)
    # A second replica: its own engine and workers on the same database and state.
    from storage.db import create_engine, create_sessionmaker

    engine = create_engine(app[keys.SETTINGS].database_url)
    try:
        first = worker(app)
        second = worker(app, sessionmaker=create_sessionmaker(engine), write_gate=None)

        async def both() -> bool:
            await asyncio.gather(first.run_once(), second.run_once())
            return len(fake_telegram.sent()) >= len(messages)

        await wait_until(both, timeout=30)
    finally:
        await engine.dispose()
    texts = [c.params["text"] for c in fake_telegram.sent()]
    assert sorted(texts) == sorted(t for _, t in messages)  # each once
    for chat in {c for c, _ in messages}:
        assert fake_telegram.texts(chat) == [t for c, t in messages if c == chat]  # and in order per chat


async def test_enqueueing_a_key_twice_stores_it_once(app: web.Application) -> None:
    await put(app, ("42", "một"))
    await put(app, ("42", "một"))
    assert len(await outbox_rows(app)) == 1


async def test_buttons_and_documents_reach_telegram(app: web.Application, fake_telegram: FakeTelegram) -> None:
    from handlers.base import Attachment

    reply = Reply(
        text="Phiếu biên nhận",
        buttons=((Button("Xem", "kb:gio-lam-viec:overview"),),),
        document=Attachment("bien-nhan.pdf", "application/pdf", b"%PDF-1.4 test"),
    )
    long_text = Reply(text="câu. " * 1000)
    async with app[keys.SESSIONMAKER].begin() as session:
        await enqueue(
            session,
            [
                OutgoingMessage("doc", "telegram", "42", reply.to_payload(), kind="receipt"),
                OutgoingMessage("long", "telegram", "43", long_text.to_payload()),
            ],
        )
    await worker(app).run_once()
    [doc] = fake_telegram.sent(42)
    assert doc.path == "sendDocument" and doc.files["document"] == b"%PDF-1.4 test"
    assert doc.params["caption"] == "Phiếu biên nhận"
    assert doc.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "kb:gio-lam-viec:overview"
    parts = fake_telegram.texts(43)
    assert len(parts) == 2 and all(len(p) <= 4096 for p in parts)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(1)
    for attempt in range(1, 12):
        delay = backoff_delay(attempt, 2.0, 900.0, rng)
        full = min(900.0, 2.0 * 2 ** (attempt - 1))
        assert full / 2 <= delay <= full
    assert len({round(backoff_delay(3, 2.0, 900.0, rng), 6) for _ in range(20)}) > 1  # jittered


async def test_console_messages_are_printed(app: web.Application) -> None:
    import io

    from bot.channels.console import ConsoleChannel

    stream = io.StringIO()
    app[SENDERS]["console"] = ConsoleChannel(stream)
    async with app[keys.SESSIONMAKER].begin() as session:
        reply = Reply.with_buttons("Hồ sơ đã có kết quả", [Button("Đánh giá", "rate:1")])
        await enqueue(session, [OutgoingMessage("c:1", "console", "terminal", reply.to_payload())])
    await worker(app).run_once()
    assert "Hồ sơ đã có kết quả" in stream.getvalue() and "[1] Đánh giá" in stream.getvalue()
    [row] = await outbox_rows(app)
    assert row.status == "sent" and row.platform_message_id == "console-1"


async def test_a_full_batch_goes_out_without_exhausting_the_state_stores_connections(
    app: web.Application, fake_telegram: FakeTelegram
) -> None:
    # redis-py refuses commands beyond its pool of 100 connections: a 150-message batch must not need 150.
    sender = app[SENDERS]["telegram"]
    sender.rate_per_second, sender.per_recipient_per_second = None, 1.0
    await put(app, *[(str(5000 + n), "x") for n in range(150)])
    assert await worker(app, batch_size=150).run_once() == 150
    rows = await outbox_rows(app)
    assert {r.status for r in rows} == {"sent"}
    assert len(fake_telegram.sent()) == 150


@pytest.mark.parametrize(
    ("status", "description", "outcome"),
    [
        (400, "Bad Request: chat not found", "blocked"),
        (403, "Forbidden: user is deactivated", "blocked"),
        (400, "Bad Request: can't parse entities", "failed"),
        (401, "Unauthorized", "retry"),
        (502, "Bad Gateway", "retry"),
    ],
)
async def test_bot_api_refusals_map_to_outcomes(
    app: web.Application, fake_telegram: FakeTelegram, status: int, description: str, outcome: str
) -> None:
    fake_telegram.fail(status, chat_id=42, description=description)
    result = await app[SENDERS]["telegram"].send("42", Reply(text="một").to_payload())
    assert result.status == outcome
    assert "TELEGRAM_BOT_TOKEN" in (result.error or "") if status == 401 else description in (result.error or "")


# --- found by benchmarks/resilience.py: verdicts stored as they come, sends that cannot outlive a lease ---


async def test_a_hanging_send_does_not_hold_up_the_other_verdicts(
    app: web.Application, fake_telegram: FakeTelegram
) -> None:
    # One chat's send hangs until the worker's timeout; the others' verdicts are stored meanwhile, so a
    # replica killed during the hang would not send them again.
    fake_telegram.fail(500, chat_id="9001", delay=3.0)
    await put(app, ("9001", "chậm"), *((str(9100 + n), f"tin {n}") for n in range(5)))
    round_ = asyncio.create_task(worker(app, lease_seconds=4.0).run_once())  # send timeout 2 s

    async def others_recorded() -> bool:
        rows = [r for r in await outbox_rows(app) if r.recipient != "9001"]
        return all(r.status == "sent" for r in rows)

    await wait_until(others_recorded, timeout=1.5)
    assert not round_.done()  # still waiting on the hanging send
    assert await round_ == 6
    [slow] = [r for r in await outbox_rows(app) if r.recipient == "9001"]
    assert (slow.status, slow.attempts, slow.last_error) == ("pending", 1, "timed out")


async def test_a_send_that_could_outlive_its_lease_is_handed_back_unsent(
    app: web.Application, fake_telegram: FakeTelegram
) -> None:
    # One send at a time; the first hangs to the send timeout (1 s of a 2 s lease), so the second would
    # start with too little lease left: it is given back untried rather than risk a second copy.
    fake_telegram.fail(500, chat_id="9201", delay=1.5)
    await put(app, ("9201", "chậm"), ("9202", "sau"))
    assert await worker(app, lease_seconds=2.0, max_in_flight=1).run_once() == 2
    rows = {r.recipient: r for r in await outbox_rows(app)}
    assert (rows["9202"].status, rows["9202"].attempts, rows["9202"].locked_until) == ("pending", 0, None)
    assert fake_telegram.sent("9202") == []
    assert await worker(app).run_once() >= 1
    assert fake_telegram.texts("9202") == ["sau"]


async def test_unreachable_rate_limits_defer_messages_without_losing_or_repeating_them(
    app: web.Application, fake_telegram: FakeTelegram, unused_tcp_port: int
) -> None:
    # Redis is down: the shared rate limits cannot be read, so nothing is sent (no flooding the platform),
    # nothing raises, no attempt is counted; once Redis is back each message goes out once.
    await put(app, ("9301", "một"), ("9302", "hai"))
    down = RedisStateStore.from_url(f"redis://127.0.0.1:{unused_tcp_port}/0")
    try:
        assert await worker(app, state=down).run_once() == 2
    finally:
        await down.close()
    rows = await outbox_rows(app)
    assert [(r.status, r.attempts) for r in rows] == [("pending", 0), ("pending", 0)]
    assert all(r.next_attempt_at > utcnow() for r in rows)
    assert fake_telegram.sent() == []
    for row in rows:  # skip the wait
        row.next_attempt_at = utcnow()
    async with app[keys.SESSIONMAKER].begin() as session:
        for row in rows:
            await session.merge(row)
    assert await worker(app).run_once() == 2
    assert fake_telegram.texts("9301") == ["một"] and fake_telegram.texts("9302") == ["hai"]
