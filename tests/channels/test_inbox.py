"""The inbox: stored before acknowledged, handled once, in order per chat, across restarts and dead workers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from bot import keys
from bot.app import create_app
from bot.inbox import INBOX_ADAPTERS, WRITE_GATE, InboxWorkers
from bot.pipeline import Pipeline
from bot.runtime import open_app
from bot.settings import Settings
from handlers import HANDLERS
from handlers.base import Context, IncomingMessage, Reply
from storage.inbox import NewUpdate, claim_updates, finish_update, store_updates
from storage.models import utcnow
from storage.outbox import OutgoingMessage, enqueue
from tests.channels.support import FAST, TG_HEADERS, inbox_rows, outbox_rows
from tests.fakes import FakeTelegram, telegram_message_update
from tests.fakes.base import wait_until


def settings_for(make_settings: Callable[..., Settings], fake: FakeTelegram, **overrides: Any) -> Settings:
    return make_settings(**fake.settings(), **FAST, **overrides)


async def test_restart_with_rows_in_the_inbox_and_the_outbox_loses_nothing_and_sends_nothing_twice(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_telegram: FakeTelegram, redis_url: str | None
) -> None:
    # Before: a replica acknowledges updates but stops before handling them (workers off), and the
    # outbox holds messages, one of them claimed by a worker that died (a lease that will run out).
    before = settings_for(make_settings, fake_telegram, workers_enabled=False, redis_url=redis_url)
    first = await aiohttp_client(create_app(before))
    chats = [1001, 1002, 1003]
    for n in range(9):
        response = await first.post(
            "/webhooks/telegram", json=telegram_message_update(500 + n, chats[n % 3], "/help"), headers=TG_HEADERS
        )
        assert response.status == 200
    async with first.app[keys.SESSIONMAKER].begin() as session:
        await enqueue(
            session,
            [OutgoingMessage(f"notice:{n}", "telegram", "2001", {"text": f"thông báo {n}"}) for n in range(3)],
        )
    async with first.app[keys.SESSIONMAKER].begin() as session:
        from storage.outbox import claim_due

        claimed = await claim_due(session, limit=1, lease=timedelta(seconds=1))
        assert [m.idempotency_key for m in claimed] == ["notice:0"]
    await first.close()
    assert fake_telegram.sent() == []

    # After: a fresh process on the same database handles and sends everything, once.
    after = settings_for(make_settings, fake_telegram, redis_url=redis_url, outbox_lease_seconds=1)
    second = await aiohttp_client(create_app(after))
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent()) >= 12)
    rows = await inbox_rows(second.app)

    async def settled() -> bool:
        return all(r.status == "sent" for r in await outbox_rows(second.app))

    await wait_until(settled)
    assert [r.status for r in await inbox_rows(second.app)] == ["done"] * 9
    assert len(rows) == 9
    for chat in chats:
        assert len(fake_telegram.sent(chat)) == 3
    assert fake_telegram.texts(2001) == ["thông báo 0", "thông báo 1", "thông báo 2"]
    assert len(fake_telegram.sent()) == 12


async def test_a_row_claimed_by_a_dead_worker_is_handled_after_its_lease(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_telegram: FakeTelegram
) -> None:
    settings = settings_for(make_settings, fake_telegram, inbox_lease_seconds=1)
    client = await aiohttp_client(create_app(settings))
    # The worker that claimed this row died: store and claim it by hand, then never finish.
    async with client.app[keys.SESSIONMAKER].begin() as session:
        await store_updates(session, [NewUpdate("telegram", "900", "42", telegram_message_update(900, 42, "/start"))])
        [claimed] = await claim_updates(session, limit=5, lease=timedelta(seconds=1))
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(42)) == 1)
    [row] = await inbox_rows(client.app)
    assert row.status == "done" and row.attempts == 2
    assert row.processed_at is not None and row.processed_at >= claimed.lease_until  # not before the lease ran out
    # The dead worker, were it to come back, cannot finish the row a second time.
    async with client.app[keys.SESSIONMAKER].begin() as session:
        assert await finish_update(session, claimed) is False


async def test_only_the_oldest_open_row_of_a_chat_is_claimable(app_sessionmaker: Any) -> None:
    sessionmaker = app_sessionmaker
    async with sessionmaker.begin() as session:
        new = await store_updates(
            session,
            [
                NewUpdate("telegram", "1", "A", {"n": 1}),
                NewUpdate("telegram", "2", "A", {"n": 2}),
                NewUpdate("telegram", "3", "B", {"n": 3}),
                NewUpdate("telegram", "1", "A", {"n": 1}),  # a duplicate in the same batch
                NewUpdate("zalo", "1", "A", {"n": 4}),  # same key, other channel: not a duplicate
            ],
        )
        assert new == {("telegram", "1"), ("telegram", "2"), ("telegram", "3"), ("zalo", "1")}
    async with sessionmaker.begin() as session:
        first = await claim_updates(session, limit=10, lease=timedelta(seconds=30))
    assert sorted(c.payload["n"] for c in first) == [1, 3, 4]
    async with sessionmaker.begin() as session:
        assert await claim_updates(session, limit=10, lease=timedelta(seconds=30)) == []  # A:2 waits for A:1
        for claimed in first:
            assert await finish_update(session, claimed)
    async with sessionmaker.begin() as session:
        second = await claim_updates(session, limit=10, lease=timedelta(seconds=30))
    assert [c.payload["n"] for c in second] == [2]
    # A lease that ran out makes the row claimable again, and the first claim can no longer finish it.
    later = utcnow() + timedelta(seconds=31)
    async with sessionmaker.begin() as session:
        [again] = await claim_updates(session, limit=10, lease=timedelta(seconds=30), now=later)
        assert again.id == second[0].id and again.attempts == 2
        assert await finish_update(session, second[0]) is False
        assert await finish_update(session, again) is True


@pytest.fixture
async def app_sessionmaker(make_settings: Callable[..., Settings]) -> Any:
    async with open_app(make_settings()) as app:
        yield app[keys.SESSIONMAKER]


async def test_a_failing_update_is_retried_then_failed_with_an_apology(
    make_settings: Callable[..., Settings], fake_telegram: FakeTelegram
) -> None:
    calls: list[str] = []

    async def handle_broken(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
        calls.append(msg.text)
        raise RuntimeError("the dossier store is having a bad day")

    settings = settings_for(make_settings, fake_telegram)
    async with open_app(settings) as app:
        workers = _workers(app, Pipeline(app[keys.CONTEXT], [handle_broken, *HANDLERS]), max_attempts=3)
        async with app[keys.SESSIONMAKER].begin() as session:
            await store_updates(session, [NewUpdate("telegram", "1", "42", telegram_message_update(1, 42, "hỏi"))])

        async def failed() -> bool:
            await workers.run_once()
            return [r.status for r in await inbox_rows(app)] == ["failed"]

        await wait_until(failed)
        [row] = await inbox_rows(app)
        assert row.attempts == 3 and "bad day" in (row.error or "")
        assert calls == ["hỏi"] * 3
        [apology] = await outbox_rows(app)
        assert apology.kind == "error" and apology.idempotency_key == f"reply:{row.id}:0"
        assert "sự cố" in apology.payload["text"] and "1022" in apology.payload["text"]


async def test_a_reply_for_another_chat_goes_there(
    make_settings: Callable[..., Settings], fake_telegram: FakeTelegram
) -> None:
    async def handle_relay(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
        return [Reply(text="Đã chuyển cho cán bộ."), Reply(text=f"Công dân hỏi: {msg.text}", to=("telegram", "-100"))]

    async with open_app(settings_for(make_settings, fake_telegram)) as app:
        workers = _workers(app, Pipeline(app[keys.CONTEXT], [handle_relay]))
        async with app[keys.SESSIONMAKER].begin() as session:
            await store_updates(
                session, [NewUpdate("telegram", "1", "42", telegram_message_update(1, 42, "gặp cán bộ"))]
            )
        assert await workers.run_once() == 1
        own, relayed = await outbox_rows(app)
        assert (own.recipient, own.contact_id is not None) == ("42", True)
        assert (relayed.recipient, relayed.contact_id) == ("-100", None)
        assert relayed.payload["text"] == "Công dân hỏi: gặp cán bộ"


def _workers(app: web.Application, pipeline: Pipeline, **overrides: Any) -> InboxWorkers:
    values: dict[str, Any] = {
        "sessionmaker": app[keys.SESSIONMAKER],
        "pipeline": pipeline,
        "adapters": app[INBOX_ADAPTERS],
        "backoff_seconds": 0.01,
        "backoff_max_seconds": 0.02,
        "write_gate": app[WRITE_GATE],
    }
    values.update(overrides)
    return InboxWorkers(**values)


async def test_a_burst_of_concurrent_webhooks_is_stored_and_answered(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_telegram: FakeTelegram
) -> None:
    client = await aiohttp_client(create_app(settings_for(make_settings, fake_telegram)))
    updates = [telegram_message_update(2000 + n, 3000 + n % 25, "/help") for n in range(100)]
    responses = await asyncio.gather(*(client.post("/webhooks/telegram", json=u, headers=TG_HEADERS) for u in updates))
    assert [r.status for r in responses] == [200] * 100
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent()) == 100, timeout=30)
    assert len(await inbox_rows(client.app)) == 100


async def test_the_write_gate_serves_webhooks_before_workers() -> None:
    from bot.inbox import WriteGate

    gate = WriteGate()
    order: list[str] = []
    await gate.acquire()  # a worker transaction in progress

    async def worker(name: str) -> None:
        async with gate:
            order.append(name)

    async def webhook(name: str) -> None:
        async with gate.urgent():
            order.append(name)

    waiting = [asyncio.create_task(worker("w1")), asyncio.create_task(worker("w2"))]
    await asyncio.sleep(0)
    waiting += [asyncio.create_task(webhook("h1")), asyncio.create_task(webhook("h2"))]
    cancelled = asyncio.create_task(worker("gone"))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    gate.release()
    await asyncio.gather(*waiting)
    assert order == ["h1", "h2", "w1", "w2"]
    open_gate = WriteGate(serialise=False)
    async with open_gate, open_gate:  # PostgreSQL: no serialisation at all
        pass


async def test_updates_wait_out_a_redis_outage_without_an_apology_and_are_answered_once(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_telegram: FakeTelegram, redis_process: Any
) -> None:
    # Found by benchmarks/resilience.py: while Redis was down every handling failed and counted an attempt,
    # so a long enough outage ended in apologies instead of answers. An outage costs no attempt now.
    settings = settings_for(make_settings, fake_telegram, redis_url=redis_process.url, inbox_max_attempts=2)
    client = await aiohttp_client(create_app(settings))
    response = await client.post(
        "/webhooks/telegram", json=telegram_message_update(700, 7001, "/help"), headers=TG_HEADERS
    )
    assert response.status == 200
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(7001)) == 1)

    redis_process.stop()
    for n, chat in enumerate((7002, 7003, 7004)):
        response = await client.post(
            "/webhooks/telegram", json=telegram_message_update(701 + n, chat, "/help"), headers=TG_HEADERS
        )
        assert response.status == 200  # stored in the database: Redis is not needed to accept an update

    async def tried_several_times() -> bool:  # more handling attempts than inbox_max_attempts allows
        rows = [r for r in await inbox_rows(client.app) if r.chat_key == "7002"]
        return bool(rows) and rows[0].error is not None and "Connection" in rows[0].error

    await wait_until(tried_several_times, timeout=10)
    await asyncio.sleep(3)  # ~3 more rounds of 1–1.5 s while Redis stays down

    async def no_attempt_counted() -> bool:
        # A claim adds one attempt and the "unavailable" release takes it back: a single look can fall between
        # the two under load. Had the outage been counted, attempts would only grow and this would never hold.
        rows = {r.chat_key: r for r in await inbox_rows(client.app)}
        return [(rows[c].status, rows[c].attempts) for c in ("7002", "7003", "7004")] == [("pending", 0)] * 3

    await wait_until(no_attempt_counted, timeout=5)
    assert len(fake_telegram.sent()) == 1

    redis_process.start()
    await fake_telegram.wait_for(lambda: all(len(fake_telegram.sent(c)) >= 1 for c in (7002, 7003, 7004)))
    await asyncio.sleep(0.5)
    for chat in (7001, 7002, 7003, 7004):
        assert len(fake_telegram.sent(chat)) == 1
        assert "sự cố" not in fake_telegram.texts(chat)[0]  # an answer, not the apology
    rows = {r.chat_key: r for r in await inbox_rows(client.app)}
    assert all(rows[c].status == "done" for c in ("7002", "7003", "7004"))
