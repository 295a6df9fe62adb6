"""Citizen reminders (each once per dossier and kind, never at night) and housekeeping."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import func, select

from bot import keys
from bot.scheduler import add_housekeeping_task
from storage.contacts import link_contact, mark_blocked, note_inbound, upsert_contact
from storage.models import Dossier, InboxUpdate, OutboxMessage, SubscriptionToken
from storage.outbox import OutgoingMessage, enqueue
from storage.reminders import uncollected_threshold
from tests.fakes import FakeZalo
from tests.scheduler.conftest import StartApp
from tests.scheduler.support import FakeClock, add_dossier, closing, local, outbox, pick_catalogue, runner_of


async def link(
    app: web.Application,
    dossier: Dossier,
    channel: str,
    chat_id: str,
    language: str = "vi",
    wrote: datetime | None = None,
) -> int:
    async with app[keys.SESSIONMAKER].begin() as session:
        contact = await upsert_contact(session, channel, chat_id, chat_id, language)
        await link_contact(session, contact, dossier, "token")
        if wrote is not None:  # the citizen's last message (Zalo's consultation window starts there)
            await note_inbound(session, contact.id, wrote, f"m-{chat_id}")
        return contact.id


async def reminders(app: web.Application) -> dict[str, OutboxMessage]:
    return {row.idempotency_key: row for row in await outbox(app, "reminder")}


async def test_each_reminder_once_on_its_day(start_app: StartApp, clock: FakeClock) -> None:
    app = await start_app()
    cat = await pick_catalogue(app)
    tomorrow = await add_dossier(app, cat.first_procedure, closing("2026-11-25"), "in_progress")
    ready_too = await add_dossier(app, cat.first_procedure, closing("2026-11-25"), "result_ready")
    uncollected = await add_dossier(
        app,
        cat.first_procedure,
        closing("2026-11-18"),
        "result_ready",
        resolved_at=local("2026-11-18T10:00"),
    )
    posted = await add_dossier(
        app,
        cat.first_procedure,
        closing("2026-11-18"),
        "result_ready",
        resolved_at=local("2026-11-18T10:00"),
        return_method="postal",
    )
    supplement = await add_dossier(
        app,
        cat.first_procedure,
        closing("2026-11-30"),
        "needs_supplement",
        supplement_deadline=local("2026-11-25T17:00"),
    )
    chat = await link(app, tomorrow, "telegram", "1001")
    for dossier in (ready_too, uncollected, posted, supplement):
        await link(app, dossier, "telegram", "1001")
    english = await link(app, uncollected, "zalo", "2002", language="en", wrote=local("2026-11-22T20:00"))
    await link(app, supplement, "zalo", "3003")
    async with app[keys.SESSIONMAKER].begin() as session:
        await mark_blocked(session, "zalo", "3003", "user blocked the OA")
    runner = runner_of(app)

    # Friday: the result has waited 2 working days, the supplement deadline is 2 working days away.
    clock.set("2026-11-20T09:00:01")
    assert (await runner.fire("citizen-reminders")).status == "ok"
    assert await reminders(app) == {}

    # Monday 06:00 (a sweep after downtime): queued now, delivered when the quiet hours end at 07:00.
    clock.set("2026-11-23T06:00")
    assert (await runner.run("citizen-reminders", force=True)).status == "ok"
    rows = await reminders(app)
    assert set(rows) == {
        f"reminder:uncollected:{uncollected.id}:{chat}",
        f"reminder:uncollected:{uncollected.id}:{english}",
        f"reminder:supplement:{supplement.id}:{chat}",
    }
    assert {row.next_attempt_at for row in rows.values()} == {local("2026-11-23T07:00")}
    vi = rows[f"reminder:uncollected:{uncollected.id}:{chat}"].payload["text"]
    assert vi.startswith(f"Kết quả hồ sơ {uncollected.code} (")
    assert "đã có từ Thứ Tư, 18/11/2026 nhưng Ông/Bà chưa đến nhận" in vi
    en = rows[f"reminder:uncollected:{uncollected.id}:{english}"].payload["text"]
    assert "has been ready since Wednesday, 18/11/2026" in en
    assert rows[f"reminder:uncollected:{uncollected.id}:{english}"].channel == "zalo"
    assert "hạn chót 17:00 Thứ Tư, 25/11/2026" in rows[f"reminder:supplement:{supplement.id}:{chat}"].payload["text"]

    # Monday 09:00, the scheduled run: nothing new.
    clock.set("2026-11-23T09:00:01")
    result = await runner.fire("citizen-reminders")
    assert result.status == "ok" and result.report is not None and result.report.queued == 0

    # Tuesday (a holiday): the appointment is tomorrow; "come and collect" waits for an open counter.
    clock.set("2026-11-24T09:00:01")
    assert (await runner.fire("citizen-reminders")).status == "ok"
    new = set(await reminders(app)) - set(rows)
    assert new == {f"reminder:due_tomorrow:{tomorrow.id}:{chat}"}
    text = (await reminders(app))[f"reminder:due_tomorrow:{tomorrow.id}:{chat}"].payload["text"]
    assert f"kết quả hồ sơ {tomorrow.code}" in text and "dự kiến có vào ngày mai, Thứ Tư, 25/11/2026" in text

    # The whole week again: still once each.
    for day in ("2026-11-25", "2026-11-26", "2026-11-27"):
        clock.set(f"{day}T09:00:01")
        await runner.fire("citizen-reminders")
    assert len(await reminders(app)) == 4


async def test_no_tomorrow_reminder_when_it_would_arrive_on_the_day(start_app: StartApp, clock: FakeClock) -> None:
    app = await start_app()
    cat = await pick_catalogue(app)
    dossier = await add_dossier(app, cat.first_procedure, closing("2026-11-26"), "received")
    await link(app, dossier, "telegram", "1001")
    clock.set("2026-11-25T21:30")  # quiet hours: it would go out on Thursday morning, the appointment day
    await runner_of(app).run("citizen-reminders", force=True)
    assert await reminders(app) == {}
    clock.set("2026-11-25T20:00")
    await runner_of(app).run("citizen-reminders", force=True)
    assert len(await reminders(app)) == 1


async def test_without_a_linked_chat_the_reminder_goes_by_zns_when_configured(
    start_app: StartApp, clock: FakeClock
) -> None:
    app = await start_app(zns_template_reminder="tpl-reminder", zalo_access_token="token")
    cat = await pick_catalogue(app)
    by_phone = await add_dossier(app, cat.first_procedure, closing("2026-11-25"), phone="0912345678")
    await add_dossier(app, cat.first_procedure, closing("2026-11-25"), phone=None)
    clock.set("2026-11-24T09:00:01")
    result = await runner_of(app).fire("citizen-reminders")
    assert result.status == "ok"
    assert "1 reminder(s) undeliverable" in result.detail
    rows = await reminders(app)
    assert [key for key, row in rows.items() if row.status != "undeliverable"] == [
        f"reminder:due_tomorrow:{by_phone.id}:zns"
    ]
    row = rows[f"reminder:due_tomorrow:{by_phone.id}:zns"]
    assert row.channel == "zns" and row.recipient == "84912345678"
    assert row.payload["zns"]["template_id"] == "tpl-reminder"
    assert row.payload["zns"]["template_data"]["dossier_code"] == by_phone.code
    assert row.payload["zns"]["template_data"]["due_date"] == "25/11/2026"


async def test_without_zns_an_unlinked_dossier_is_counted_not_queued(start_app: StartApp, clock: FakeClock) -> None:
    app = await start_app()
    cat = await pick_catalogue(app)
    await add_dossier(app, cat.first_procedure, closing("2026-11-25"))
    clock.set("2026-11-24T09:00:01")
    result = await runner_of(app).fire("citizen-reminders")
    assert "1 due tomorrow" in result.detail and "1 reminder(s) undeliverable" in result.detail
    [row] = (await reminders(app)).values()  # recorded with the reason, never sent
    assert row.status == "undeliverable" and "ZNS_TEMPLATE_REMINDER" in (row.last_error or "")


async def test_the_uncollected_threshold_counts_working_days(start_app: StartApp) -> None:
    from datetime import date

    app = await start_app()
    calendar = app[keys.CALENDAR]
    # Wed 25/11 minus 3 working days, over the Tuesday holiday: Thu 19 (20, 23, 25).
    assert uncollected_threshold(calendar, date(2026, 11, 25), 3) == date(2026, 11, 19)
    # Monday minus 1 working day: anything up to the Friday before (Sat and Sun add nothing).
    assert uncollected_threshold(calendar, date(2026, 11, 23), 1) == date(2026, 11, 22)


# --- housekeeping ------------------------------------------------------------------------------------------


async def test_housekeeping_prunes_old_rows_and_keeps_the_rest(start_app: StartApp, clock: FakeClock) -> None:
    app = await start_app(retention_days=30)
    cat = await pick_catalogue(app)
    dossier = await add_dossier(app, cat.first_procedure, closing("2026-11-25"))
    clock.set("2026-11-23T10:00")
    now = clock()
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    async with app[keys.SESSIONMAKER].begin() as session:
        session.add_all(
            [
                SubscriptionToken(token_hash="a" * 64, dossier_id=dossier.id, expires_at=now - timedelta(seconds=1)),
                SubscriptionToken(token_hash="b" * 64, dossier_id=dossier.id, expires_at=now + timedelta(days=1)),
            ]
        )
        await enqueue(
            session,
            [
                OutgoingMessage(f"k{n}", "telegram", "1", {"text": "x"}, not_before=old)
                for n in ("sent-old", "sent-recent", "failed-old", "pending-old")
            ],
        )
        statuses = {"ksent-old": ("sent", old), "ksent-recent": ("sent", recent), "kfailed-old": ("failed", None)}
        for row in (await session.execute(select(OutboxMessage))).scalars():
            if row.idempotency_key in statuses:
                row.status, row.sent_at = statuses[row.idempotency_key]
        for n, (status, processed) in enumerate([("done", old), ("failed", old), ("done", recent), ("pending", None)]):
            session.add(
                InboxUpdate(
                    channel="telegram",
                    update_key=str(n),
                    payload={},
                    status=status,
                    available_at=old,
                    received_at=old,
                    processed_at=processed,
                )
            )
    refreshed: list[datetime] = []

    async def refresh_zalo_token(at: datetime) -> str | None:
        refreshed.append(at)
        return "Zalo access token refreshed"

    add_housekeeping_task(app, refresh_zalo_token)
    result = await runner_of(app).run("housekeeping", force=True)
    assert result.status == "ok", result.detail
    assert result.detail == (
        "deleted 1 expired subscription token(s), 1 delivered outbox row(s) and 2 inbox row(s) older than 30 days"
    )
    assert result.report is not None and result.report.lines == ["Zalo access token refreshed"]
    assert refreshed == [now]
    async with app[keys.SESSIONMAKER]() as session:
        tokens = list((await session.execute(select(SubscriptionToken.token_hash))).scalars())
        keys_left = sorted((await session.execute(select(OutboxMessage.idempotency_key))).scalars())
        inbox_left = sorted((await session.execute(select(InboxUpdate.update_key))).scalars())
    assert tokens == ["b" * 64]
    assert keys_left == ["kfailed-old", "kpending-old", "ksent-recent"]
    assert inbox_left == ["2", "3"]


async def test_housekeeping_deletes_in_batches(start_app: StartApp, clock: FakeClock) -> None:
    from storage.housekeeping import prune_outbox

    app = await start_app()
    clock.set("2026-11-23T10:00")
    old = clock() - timedelta(days=40)
    async with app[keys.SESSIONMAKER].begin() as session:
        messages = [OutgoingMessage(f"m{n}", "sms", "84912345678", {"text": "x"}, not_before=old) for n in range(7)]
        await enqueue(session, messages)
        for row in (await session.execute(select(OutboxMessage))).scalars():
            row.status, row.sent_at = "sent", old
    assert await prune_outbox(app[keys.SESSIONMAKER], clock() - timedelta(days=30), batch=3) == 7
    async with app[keys.SESSIONMAKER]() as session:
        assert (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one() == 0


async def test_retention_never_drops_below_the_reminder_window(start_app: StartApp, clock: FakeClock) -> None:
    app = await start_app(retention_days=1)
    clock.set("2026-11-23T10:00")
    result = await runner_of(app).run("housekeeping", force=True)
    assert result.detail.endswith("older than 8 days")


async def test_housekeeping_refreshes_the_zalo_token_ahead_of_expiry(
    start_app: StartApp, clock: FakeClock, fake_zalo: FakeZalo
) -> None:
    from bot.channels.zalo import token_row_name
    from storage.models import PlatformToken, utcnow

    app = await start_app(**fake_zalo.settings())
    async with app[keys.SESSIONMAKER].begin() as session:
        session.add(
            PlatformToken(
                name=token_row_name(app[keys.SETTINGS]),
                access_token="ACCESS-0",
                refresh_token="REFRESH-0",
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
    clock.set("2026-11-23T10:00")
    first = await runner_of(app).run("housekeeping", force=True)
    assert first.status == "ok", first.detail
    assert first.report is not None and first.report.lines == ["Zalo access token refreshed ahead of expiry"]
    assert [call["refresh_token"] for call in fake_zalo.refresh_calls] == ["REFRESH-0"]
    async with app[keys.SESSIONMAKER]() as session:
        row = await session.get(PlatformToken, token_row_name(app[keys.SETTINGS]))
    assert row is not None and row.refresh_token == fake_zalo.refresh_token != "REFRESH-0"
    clock.set("2026-11-23T11:00")
    second = await runner_of(app).fire("housekeeping")
    assert second.status == "ok" and second.report is not None and second.report.lines == []
    assert len(fake_zalo.refresh_calls) == 1


async def test_a_refused_zalo_refresh_fails_the_run_for_a_person_to_see(
    start_app: StartApp, clock: FakeClock, fake_zalo: FakeZalo
) -> None:
    from bot.channels.zalo import token_row_name
    from storage.models import PlatformToken, utcnow

    app = await start_app(**{**fake_zalo.settings(), "zalo_refresh_token": None})
    async with app[keys.SESSIONMAKER].begin() as session:
        session.add(
            PlatformToken(
                name=token_row_name(app[keys.SETTINGS]),
                access_token="ACCESS-0",
                refresh_token=None,
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
    clock.set("2026-11-23T10:00")
    result = await runner_of(app).fire("housekeeping")
    assert result.status == "failed"
    assert "refresh_zalo_token: ZaloAuthError" in result.detail
    assert "deleted 0 expired subscription token(s)" in result.detail


async def test_webhook_dedup_rows_outlive_the_oldest_event_a_webhook_accepts(
    start_app: StartApp, clock: FakeClock
) -> None:
    """With events accepted up to 10 days old, an inbox row (the replay guard) of 5 days must not be pruned."""
    app = await start_app(retention_days=1, zalo_webhook_max_age_seconds=10 * 86400)
    clock.set("2026-11-23T10:00")
    now = clock()
    async with app[keys.SESSIONMAKER].begin() as session:
        for key, age in (("five-days", 5), ("twelve-days", 12)):
            moment = now - timedelta(days=age)
            session.add(
                InboxUpdate(
                    channel="zalo",
                    update_key=key,
                    payload={},
                    status="done",
                    available_at=moment,
                    received_at=moment,
                    processed_at=moment,
                )
            )
    result = await runner_of(app).run("housekeeping", force=True)
    assert result.status == "ok" and "older than 11 days" in result.detail
    async with app[keys.SESSIONMAKER]() as session:
        assert list((await session.execute(select(InboxUpdate.update_key))).scalars()) == ["five-days"]
