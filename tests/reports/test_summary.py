"""The report's figures against the hand-computed expectations of `tests/reports/data.py`, on every backend."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, text

from storage.db import SessionMaker, create_engine, create_sessionmaker
from storage.errors import InvalidInput
from storage.migrate import upgrade
from storage.reports import (
    Period,
    _fixed_offset_minutes,
    compute_summary,
    monthly_trend,
    overdue_dossiers,
    percent,
    trend_months,
)
from tests.reports.data import (
    DEPT_A,
    DEPT_B,
    NOW,
    PROC_B1,
    SEPT_A,
    SEPT_B,
    SEPT_TOP,
    SEPT_TOTAL,
    TZ,
    load_rows,
    strip_rates,
)

SEPTEMBER = Period(date(2025, 9, 1), date(2025, 9, 30))


@pytest.fixture
async def statements(database_url: str) -> AsyncIterator[tuple[SessionMaker, list[str]]]:
    """A migrated database holding the data set, and the SQL statements run on it afterwards."""
    engine = create_engine(database_url)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        await load_rows(session)
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sessionmaker, seen
    finally:
        await engine.dispose()


@pytest.fixture
def sessionmaker(statements: tuple[SessionMaker, list[str]]) -> SessionMaker:
    return statements[0]


async def test_september_matches_the_hand_count(sessionmaker: SessionMaker) -> None:
    async with sessionmaker() as session:
        summary = await compute_summary(session, SEPTEMBER, tz=TZ, now=NOW)
    doc = summary.as_dict()
    assert doc == {
        "from": "2025-09-01",
        "to": "2025-09-30",
        **SEPT_TOTAL,
        "departments": [
            {"id": DEPT_A, "name": "Sở Tài chính", **SEPT_A},
            {"id": DEPT_B, "name": "Sở Tư pháp", **SEPT_B},
        ],
        "top_procedures": SEPT_TOP,
    }
    assert summary.totals.on_time_rate == 55.56  # 5 / 9
    assert summary.totals.satisfaction_rate == 75.0  # 3 / 4


async def test_one_department(sessionmaker: SessionMaker) -> None:
    async with sessionmaker() as session:
        summary = await compute_summary(session, SEPTEMBER, tz=TZ, now=NOW, department_id=DEPT_B)
    doc = summary.as_dict()
    assert {k: doc[k] for k in SEPT_TOTAL} == strip_rates(SEPT_B)
    assert [d["id"] for d in doc["departments"]] == [DEPT_B]
    assert doc["top_procedures"] == [{"id": PROC_B1, "title": "Thủ tục thử B1", "received": 3}]
    assert summary.department_name == "Sở Tư pháp"


async def test_a_period_not_yet_ended_counts_open_dossiers_now(sessionmaker: SessionMaker) -> None:
    """October, seen on 2 October 10:00: A18 is due today, so it is not overdue yet."""
    async with sessionmaker() as session:
        summary = await compute_summary(session, Period(date(2025, 10, 1), date(2025, 10, 31)), tz=TZ, now=NOW)
    doc = summary.as_dict()
    assert doc["received"] == {
        "total": 8,
        "carried_over": 7,  # A6 A7 A8 A13 A18, B3 B4
        "new": 1,  # A12, received at the very first instant of October
        "by_channel": {"direct": 1, "online": 0, "postal": 0},
    }
    assert doc["resolved"] == {"total": 0, "early": 0, "on_time": 0, "late": 0}
    assert doc["in_progress"] == {"total": 8, "overdue": 3}  # overdue: A6, A8, B3
    assert doc["returned_by_post"] == 0
    # A17's rating, made at 00:00 on 1 October, belongs to October.
    assert doc["satisfaction"] == {"very_satisfied": 1, "satisfied": 0, "not_satisfied": 0}
    rates = {d["id"]: (d["on_time_rate"], d["satisfaction_rate"]) for d in doc["departments"]}
    assert rates == {DEPT_A: (None, 100.0), DEPT_B: (None, None)}


async def test_a_period_with_nothing(sessionmaker: SessionMaker) -> None:
    async with sessionmaker() as session:
        summary = await compute_summary(session, Period(date(2024, 1, 1), date(2024, 1, 31)), tz=TZ, now=NOW)
    doc = summary.as_dict()
    assert doc["received"]["total"] == 0
    assert doc["departments"] == []
    assert doc["top_procedures"] == []
    assert summary.totals.on_time_rate is None
    assert summary.totals.satisfaction_rate is None


async def test_a_whole_quarter_adds_up(sessionmaker: SessionMaker) -> None:
    """July–September: everything received in the quarter is new; B3 (July) is the only one before."""
    async with sessionmaker() as session:
        summary = await compute_summary(session, Period(date(2025, 7, 1), date(2025, 9, 30)), tz=TZ, now=NOW)
    doc = summary.as_dict()
    # New: B3 (July), 7 in August (A5 A6 A9 A10 A11 A15 A17), 13 in September.
    assert doc["received"] == {
        "total": 21,
        "carried_over": 0,
        "new": 21,
        "by_channel": {"direct": 15, "online": 4, "postal": 2},
    }
    # Resolved: September's 9 and August's A9 (late), A11 (early), A17 (on time).
    assert doc["resolved"] == {"total": 12, "early": 3, "on_time": 4, "late": 5}
    assert doc["in_progress"] == {"total": 7, "overdue": 3}
    assert doc["returned_by_post"] == 3
    assert doc["satisfaction"] == {"very_satisfied": 1, "satisfied": 3, "not_satisfied": 1}


async def test_the_session_time_zone_does_not_matter(database_url: str, sessionmaker: SessionMaker) -> None:
    async with sessionmaker() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("SET TIME ZONE 'America/New_York'"))
        summary = await compute_summary(session, SEPTEMBER, tz=TZ, now=NOW)
    assert summary.as_dict()["resolved"] == SEPT_TOTAL["resolved"]


async def test_unknown_department_is_refused(sessionmaker: SessionMaker) -> None:
    async with sessionmaker() as session:
        with pytest.raises(InvalidInput) as caught:
            await compute_summary(session, SEPTEMBER, tz=TZ, now=NOW, department_id="so-khong-co")
    assert caught.value.code == "unknown_department"


async def test_figures_are_aggregated_in_sql(statements: tuple[SessionMaker, list[str]]) -> None:
    """No statement reads dossier rows one by one: a min() for the carried-over floor, then one grouped count."""
    sessionmaker, seen = statements
    async with sessionmaker() as session:
        await compute_summary(session, SEPTEMBER, tz=TZ, now=NOW)
    on_dossiers = [s for s in seen if re.search(r"\bdossiers\b", s)]
    assert len(on_dossiers) == 2  # the carried-over floor, then one pass for departments and procedures
    floor, counts = on_dossiers
    assert floor.startswith("SELECT min(")
    assert "GROUP BY dossiers.department_id, dossiers.procedure_id" in counts


async def test_monthly_trend(sessionmaker: SessionMaker) -> None:
    months = trend_months(SEPTEMBER, minimum=12)
    assert (months.start, months.end) == (date(2024, 10, 1), date(2025, 9, 30))
    async with sessionmaker() as session:
        trend = await monthly_trend(session, months, tz=TZ)
    assert len(trend) == 12
    by_month = {m.month: (m.received, m.resolved, m.late) for m in trend}
    assert by_month["2025-07"] == (1, 0, 0)  # B3
    assert by_month["2025-08"] == (7, 3, 1)  # A9 late, A11 early, A17 on time
    assert by_month["2025-09"] == (13, 9, 4)
    assert by_month["2024-10"] == (0, 0, 0)
    async with sessionmaker() as session:
        only_b = await monthly_trend(session, SEPTEMBER, tz=TZ, department_id=DEPT_B)
    assert [(m.month, m.received, m.resolved, m.late) for m in only_b] == [("2025-09", 3, 2, 1)]


async def test_overdue_list(sessionmaker: SessionMaker) -> None:
    async with sessionmaker() as session:
        items, total = await overdue_dossiers(session, tz=TZ, now=NOW)
    assert total == 3
    assert [(i.code, i.days_overdue) for i in items] == [("RPT-B3", 72), ("RPT-A6", 28), ("RPT-A8", 2)]
    assert items[0].department_name == "Sở Tư pháp"
    async with sessionmaker() as session:
        items, total = await overdue_dossiers(session, tz=TZ, now=NOW, department_id=DEPT_A, limit=1)
    assert (total, [i.code for i in items]) == (2, ["RPT-A6"])


def test_percentages_round_half_up_to_two_decimals() -> None:
    assert percent(422, 423) == 99.76
    assert percent(1, 3) == 33.33
    assert percent(2, 3) == 66.67
    assert percent(1, 800) == 0.13  # 0.125 rounds up
    assert percent(5, 5) == 100.0
    assert percent(0, 4) == 0.0
    assert percent(3, 0) is None


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (date(2025, 9, 30), date(2025, 9, 1), "invalid_period"),
        (date(2019, 1, 1), date(2025, 1, 1), "invalid_period"),
        (date(1999, 12, 31), date(2000, 1, 31), "invalid_date"),
        (date(2100, 1, 1), date(2101, 1, 1), "invalid_date"),
    ],
)
def test_bad_periods_are_refused(start: date, end: date, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Period.create(start, end)
    assert caught.value.code == code


def test_period_bounds_are_local_midnights_in_utc() -> None:
    start, end = SEPTEMBER.bounds(TZ)
    assert start.isoformat() == "2025-08-31T17:00:00+00:00"
    assert end.isoformat() == "2025-09-30T17:00:00+00:00"
    assert Period.create(date(2020, 1, 1), date(2024, 12, 31)).end == date(2024, 12, 31)


def test_the_offset_is_read_from_the_zone() -> None:
    span = (date(2025, 1, 1), date(2025, 12, 31))
    assert _fixed_offset_minutes(TZ, span) == 420
    assert _fixed_offset_minutes(ZoneInfo("Asia/Kolkata"), span) == 330
    assert _fixed_offset_minutes(ZoneInfo("America/St_Johns"), span, required=False) is None
    with pytest.raises(InvalidInput):
        _fixed_offset_minutes(ZoneInfo("Europe/Berlin"), span)


async def test_a_zone_with_daylight_saving_time(sessionmaker: SessionMaker) -> None:
    """Local dates decide: seen from Berlin (UTC+2 in September) A3 was resolved on its due day.

    A3: due 12/09 17:00 +07 (10:00 UTC), resolved 13/09 00:00 +07 (12/09 17:00 UTC): late in Vietnam,
    on time in Berlin. A10 (resolved 31/08 17:00 UTC) falls before Berlin's September; A12 (30/09 17:00 UTC)
    inside it. SQLite, without zone rules, refuses such a zone.
    """
    berlin = ZoneInfo("Europe/Berlin")
    async with sessionmaker() as session:
        if session.get_bind().dialect.name != "postgresql":
            with pytest.raises(InvalidInput) as caught:
                await compute_summary(session, SEPTEMBER, tz=berlin, now=NOW)
            assert caught.value.code == "unsupported_timezone"
            return
        summary = await compute_summary(session, SEPTEMBER, tz=berlin, now=NOW)
    doc = summary.as_dict()
    assert doc["received"]["new"] == 14  # September's 13 and A12
    # Early A1 A16; on time A2 A3 A5 B1; late A4 B2.
    assert doc["resolved"] == {"total": 8, "early": 2, "on_time": 4, "late": 2}
