"""Officer alerts over a week with a weekend and a public holiday (Tue 24/11/2026, Ngày Văn hóa Việt Nam)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from aiohttp import web

from bot import keys
from storage.alerts import alert_window, compute_alerts
from storage.recipients import NewRecipient, add_recipient
from tests.scheduler.conftest import StartApp
from tests.scheduler.support import (
    Catalogue,
    FakeClock,
    add_dossier,
    closing,
    outbox,
    pick_catalogue,
    runner_of,
    set_status,
)


@dataclass
class Week:
    catalogue: Catalogue
    codes: dict[str, str]
    ids: dict[str, int]


async def seed_week(app: web.Application) -> Week:
    """Dossiers of the first department due around the holiday week, one of the second, and the recipients."""
    cat = await pick_catalogue(app)
    plan = {
        "H": ("2026-11-19", "needs_supplement"),
        "A": ("2026-11-20", "in_progress"),
        "B": ("2026-11-23", "received"),
        "C": ("2026-11-25", "awaiting_payment"),
        "D": ("2026-11-26", "in_progress"),
        "E": ("2026-11-27", "in_progress"),
        "F": ("2026-11-30", "in_progress"),
        "G": ("2026-11-23", "returned"),  # done: never in an alert
        "I": ("2026-11-25", "suspended"),  # paused by decision: not alerted
    }
    codes: dict[str, str] = {}
    ids: dict[str, int] = {}
    for label, (day, status) in plan.items():
        dossier = await add_dossier(app, cat.first_procedure, closing(day), status)
        codes[label], ids[label] = dossier.code, dossier.id
    other = await add_dossier(app, cat.second_procedure, closing("2026-11-23"), "in_progress")
    codes["X"], ids["X"] = other.code, other.id
    async with app[keys.SESSIONMAKER].begin() as session:
        await add_recipient(session, NewRecipient(cat.first, "Trần Thị Lãnh Đạo", "sms", phone="0912 345 678"))
        await add_recipient(session, NewRecipient(cat.first, "Phó Giám đốc", "telegram", telegram_chat_id="424242"))
        await add_recipient(session, NewRecipient(cat.second, "Chánh Văn phòng", "zalo", zalo_user_id="8150000001"))
        await add_recipient(session, NewRecipient(cat.quiet, "Không có hồ sơ", "sms", phone="0987654321"))
    return Week(cat, codes, ids)


def expected_text(name: str, day: str, today: int, soon: int, overdue: int, urgent: list[str]) -> str:
    text = (
        f"[TTHCC] {name} {day}: {today} HS đến hạn hôm nay, {soon} HS trong 2 ngày làm việc tới, {overdue} HS quá hạn."
    )
    return text + (f" Cần xử lý gấp: {', '.join(urgent)}." if urgent else "")


async def test_a_week_of_alerts_with_a_weekend_and_a_holiday(start_app: StartApp, clock: FakeClock) -> None:
    app = await start_app()
    week = await seed_week(app)
    c = week.codes
    name = week.catalogue.first_name
    runner = runner_of(app)
    # (local day, counts and urgent codes of the first department) — None: no alert that day.
    days: list[tuple[str, tuple[int, int, int, list[str]] | None]] = [
        ("2026-11-20", (1, 2, 1, [c["H"], c["A"], c["B"], c["C"]])),  # soon: Mon 23, Wed 25 (Tue is a holiday)
        ("2026-11-21", None),  # Saturday
        ("2026-11-22", None),  # Sunday
        ("2026-11-23", (1, 2, 2, [c["H"], c["A"], c["B"], c["C"], c["D"]])),
        ("2026-11-24", None),  # Ngày Văn hóa Việt Nam
        ("2026-11-25", (1, 2, 2, [c["H"], c["B"], c["C"], c["D"], c["E"]])),  # A was resolved on Monday
        ("2026-11-26", (1, 2, 3, [c["H"], c["B"], c["C"], c["D"], c["E"]])),  # soon: Fri 27, Mon 30
        ("2026-11-27", (1, 1, 4, [c["H"], c["B"], c["C"], c["D"], c["E"]])),
        ("2026-11-30", (1, 0, 5, [c["H"], c["B"], c["C"], c["D"], c["E"]])),  # F is sixth by urgency
    ]
    seen = 0
    for day, expected in days:
        clock.set(f"{day}T07:30:00.2")
        result = await runner.fire("officer-alerts")
        assert result.status == "ok", result.detail
        rows = await outbox(app, "officer_alert")
        new, seen = rows[seen:], len(rows)
        if expected is None:
            assert new == [], day
            assert "not a working day" in result.detail
            continue
        today, soon, overdue, urgent = expected
        dd_mm = f"{day[8:10]}/{day[5:7]}"
        first_text = expected_text(name, dd_mm, today, soon, overdue, urgent)
        by_channel = {(row.channel, row.recipient): row for row in new}
        assert set(by_channel) == {("sms", "84912345678"), ("telegram", "424242"), ("zalo", "8150000001")}, day
        assert by_channel["sms", "84912345678"].payload == {"text": first_text}
        assert by_channel["telegram", "424242"].payload == {"text": first_text}
        second = by_channel["zalo", "8150000001"].payload["text"]
        assert c["X"] in second
        assert all(row.idempotency_key.endswith(tuple(f":{day}:{n}" for n in range(1, 5))) for row in new)
        if day == "2026-11-23":
            # The first department resolves A during the day; it leaves the next alerts.
            await set_status(app, week.ids["A"], "result_ready", resolved_at=clock())
    # The department without anything due got nothing all week.
    assert all(week.catalogue.quiet not in row.idempotency_key for row in await outbox(app, "officer_alert"))


async def test_an_alert_is_sent_once_a_day_however_often_the_job_runs(start_app: StartApp, clock: FakeClock) -> None:
    app = await start_app()
    await seed_week(app)
    runner = runner_of(app)
    clock.set("2026-11-23T07:30:01")
    assert (await runner.fire("officer-alerts")).status == "ok"
    clock.set("2026-11-23T07:45")
    again = await runner.fire("officer-alerts")
    assert again.status == "skipped"
    forced = await runner.run("officer-alerts", force=True)
    assert forced.status == "ok"
    assert forced.report is not None and forced.report.queued == 0
    assert len(await outbox(app, "officer_alert")) == 3


async def test_send_empty_alerts_tell_a_department_it_has_nothing_due(start_app: StartApp, clock: FakeClock) -> None:
    app = await start_app(officer_alert_send_empty=True)
    week = await seed_week(app)
    clock.set("2026-11-23T07:30:01")
    result = await runner_of(app).fire("officer-alerts")
    assert result.status == "ok"
    quiet = [row for row in await outbox(app, "officer_alert") if row.recipient == "84987654321"]
    assert len(quiet) == 1
    assert quiet[0].payload["text"].endswith("23/11: không có hồ sơ đến hạn hoặc quá hạn.")
    assert quiet[0].idempotency_key.startswith(f"alert:{week.catalogue.quiet}:2026-11-23:")


async def test_a_removed_or_unreachable_recipient_gets_nothing(start_app: StartApp, clock: FakeClock) -> None:
    from storage.recipients import deactivate_recipient, list_recipients

    app = await start_app()
    week = await seed_week(app)
    async with app[keys.SESSIONMAKER].begin() as session:
        telegram = next(r for r in await list_recipients(session) if r.channel == "telegram")
        await deactivate_recipient(session, telegram.id)
    clock.set("2026-11-23T07:30:01")
    await runner_of(app).fire("officer-alerts")
    channels = sorted(row.channel for row in await outbox(app, "officer_alert"))
    assert channels == ["sms", "zalo"]
    assert week.codes["B"] in (await outbox(app, "officer_alert"))[0].payload["text"]


@pytest.mark.parametrize(
    ("day", "today", "soon", "overdue"),
    [("2026-11-20", 1, 2, 1), ("2026-11-23", 1, 2, 2), ("2026-11-30", 1, 0, 6)],
)
async def test_the_alert_query_counts_per_department(
    start_app: StartApp, day: str, today: int, soon: int, overdue: int
) -> None:
    from datetime import date

    app = await start_app()
    week = await seed_week(app)
    window = alert_window(app[keys.CALENDAR], date.fromisoformat(day), 2)
    async with app[keys.SESSIONMAKER]() as session:
        alerts = await compute_alerts(session, window)
        only_first = await compute_alerts(session, window, [week.catalogue.first])
    first = alerts[week.catalogue.first]
    assert (first.due_today, first.due_soon, first.overdue) == (today, soon, overdue)
    assert first.department_name == week.catalogue.first_name
    assert len(first.urgent_codes) == 5 or first.total < 5
    assert list(only_first) == [week.catalogue.first]
    assert week.catalogue.quiet not in alerts
