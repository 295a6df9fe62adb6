"""A fixed data set for the report tests, with the figures computed by hand.

Period under test: September 2025 in Asia/Ho_Chi_Minh (+07:00), i.e. UTC [2025-08-31 17:00, 2025-09-30 17:00).
"Now" is 2025-10-02 10:00 local, after the period: in progress / overdue are taken at the period's end.

Department A = so-tai-chinh, B = so-tu-phap. Procedures: A1, A2 (department A) and B1.

Every dossier, and where it counts in September (c = carried over, n = new, r = resolved, p = in progress):

  A1  recv 09-03 direct, due 09-10, resolved 09-09            → n direct, r early
  A2  recv 09-04 online, due 09-11, resolved 09-11 23:59      → n online, r on time (last minute of the due day)
  A3  recv 09-05 postal, due 09-12, resolved 09-13 00:00,
      returned 09-15 by post                                  → n postal, r late (first minute after), by post
  A4  recv 09-08 direct, due 09-15 postponed to 09-22,
      resolved 09-20                                          → n direct, r late (original date counts)
  A5  recv 08-25 direct, due 09-01, resolved 09-01 09:00,
      returned 09-02 by post                                  → c, r on time, by post
  A6  recv 08-28 online, due 09-04, open                      → c, p overdue
  A7  recv 09-29 direct, due 10-06, open                      → n direct, p
  A8  recv 09-23 direct, due 09-30 17:00, open                → n direct, p overdue (its day ended with the period)
  A9  recv 08-01, due 08-08, resolved 08-20, returned 08-21   → nothing (closed before)
  A10 recv 08-29 direct, due 08-31, resolved 09-01 00:00      → c (open at the start instant), r late
  A11 recv 08-29 direct, due 09-02, resolved 08-31 23:59:59   → nothing (closed one second before)
  A12 recv 10-01 00:00 direct, due 10-08, open                → nothing (received at the end instant)
  A13 recv 09-30 23:59 online, due 10-07, open                → n online, p
  A14 recv 09-10 direct, withdrawn 09-12                      → n direct only
  A15 recv 08-10 direct, withdrawn 08-12                      → nothing
  A16 recv 09-15 online, due 09-22, rejected 09-16            → n online, r early
  A17 recv 08-20 direct, due 08-27, resolved 08-27,
      returned 09-03 by post                                  → by post only
  A18 recv 09-25 direct, due 10-02 17:00, open                → n direct, p (not overdue)
  B1  recv 09-02 postal, due 09-09, resolved 09-09 16:00,
      returned 09-10 at the counter                           → n postal, r on time
  B2  recv 09-02 direct, due 09-09, resolved 09-30 23:00      → n direct, r late
  B3  recv 07-15 direct, due 07-22, open                      → c, p overdue
  B4  recv 09-30 10:00 direct, due 10-07, open                → n direct, p

Ratings (created_at): A1 very satisfied 09-09; A3 satisfied 09-15; A5 not satisfied 09-03;
A17 very satisfied 10-01 00:00 (October); A9 satisfied 08-21 (August); B1 satisfied 09-10.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Department, Dossier, DossierEvent, Procedure, Rating

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DEPT_A = "so-tai-chinh"
DEPT_B = "so-tu-phap"
PROC_A1 = "test-report-a1"
PROC_A2 = "test-report-a2"
PROC_B1 = "test-report-b1"
NOW = datetime(2025, 10, 2, 10, 0, tzinfo=TZ)


def L(month: int, day: int, hour: int = 8, minute: int = 0, second: int = 0, year: int = 2025) -> datetime:  # noqa: N802
    """A local time in 2025."""
    return datetime(year, month, day, hour, minute, second, tzinfo=TZ)


def due(month: int, day: int) -> datetime:
    """An appointment: closing time (17:00) of the day."""
    return L(month, day, 17)


@dataclass
class Row:
    name: str
    dept: str
    proc: str
    channel: str
    received: datetime
    due: datetime
    status: str
    resolved: datetime | None = None
    returned: datetime | None = None
    return_method: str = "counter"
    postponed_to: datetime | None = None
    withdrawn: datetime | None = None
    rating: tuple[str, datetime] | None = None


ROWS = [
    Row("A1", DEPT_A, PROC_A1, "direct", L(9, 3, 9), due(9, 10), "returned", L(9, 9, 10), L(9, 9, 15),
        rating=("very_satisfied", L(9, 9, 16))),
    Row("A2", DEPT_A, PROC_A1, "online", L(9, 4), due(9, 11), "result_ready", L(9, 11, 23, 59)),
    Row("A3", DEPT_A, PROC_A1, "postal", L(9, 5), due(9, 12), "returned", L(9, 13, 0, 0), L(9, 15, 9),
        return_method="postal", rating=("satisfied", L(9, 15, 10))),
    Row("A4", DEPT_A, PROC_A2, "direct", L(9, 8), due(9, 15), "result_ready", L(9, 20, 10), postponed_to=due(9, 22)),
    Row("A5", DEPT_A, PROC_A2, "direct", L(8, 25), due(9, 1), "returned", L(9, 1, 9), L(9, 2, 8),
        return_method="postal", rating=("not_satisfied", L(9, 3, 11))),
    Row("A6", DEPT_A, PROC_A2, "online", L(8, 28), due(9, 4), "in_progress"),
    Row("A7", DEPT_A, PROC_A2, "direct", L(9, 29), due(10, 6), "received"),
    Row("A8", DEPT_A, PROC_A2, "direct", L(9, 23), due(9, 30), "needs_supplement"),
    Row("A9", DEPT_A, PROC_A1, "direct", L(8, 1), due(8, 8), "returned", L(8, 20), L(8, 21),
        rating=("satisfied", L(8, 21, 9))),
    Row("A10", DEPT_A, PROC_A1, "direct", L(8, 29), due(8, 31), "result_ready", L(9, 1, 0, 0)),
    Row("A11", DEPT_A, PROC_A1, "direct", L(8, 29), due(9, 2), "result_ready", L(8, 31, 23, 59, 59)),
    Row("A12", DEPT_A, PROC_A1, "direct", L(10, 1, 0, 0), due(10, 8), "received"),
    Row("A13", DEPT_A, PROC_A2, "online", L(9, 30, 23, 59), due(10, 7), "received"),
    Row("A14", DEPT_A, PROC_A2, "direct", L(9, 10), due(9, 17), "withdrawn", withdrawn=L(9, 12, 10)),
    Row("A15", DEPT_A, PROC_A2, "direct", L(8, 10), due(8, 17), "withdrawn", withdrawn=L(8, 12, 10)),
    Row("A16", DEPT_A, PROC_A1, "online", L(9, 15), due(9, 22), "rejected", L(9, 16, 10)),
    Row("A17", DEPT_A, PROC_A1, "direct", L(8, 20), due(8, 27), "returned", L(8, 27, 10), L(9, 3, 10),
        return_method="postal", rating=("very_satisfied", L(10, 1, 0, 0))),
    Row("A18", DEPT_A, PROC_A1, "direct", L(9, 25), due(10, 2), "in_progress"),
    Row("B1", DEPT_B, PROC_B1, "postal", L(9, 2), due(9, 9), "returned", L(9, 9, 16), L(9, 10, 9),
        rating=("satisfied", L(9, 10, 10))),
    Row("B2", DEPT_B, PROC_B1, "direct", L(9, 2, 9), due(9, 9), "result_ready", L(9, 30, 23)),
    Row("B3", DEPT_B, PROC_B1, "direct", L(7, 15), due(7, 22), "in_progress"),
    Row("B4", DEPT_B, PROC_B1, "direct", L(9, 30, 10), due(10, 7), "received"),
]  # fmt: skip

# --- the expected figures, by hand ---------------------------------------------------------------

SEPT_A: dict[str, Any] = {
    "received": {
        "total": 13,  # 3 carried over + 10 new
        "carried_over": 3,  # A5, A6, A10
        "new": 10,  # A1 A2 A3 A4 A7 A8 A13 A14 A16 A18
        "by_channel": {"direct": 6, "online": 3, "postal": 1},  # direct A1 A4 A7 A8 A14 A18; online A2 A13 A16
    },
    "resolved": {"total": 7, "early": 2, "on_time": 2, "late": 3},  # early A1 A16; on time A2 A5; late A3 A4 A10
    "in_progress": {"total": 5, "overdue": 2},  # A6 A7 A8 A13 A18; overdue A6 A8
    "returned_by_post": 3,  # A3 A5 A17
    "satisfaction": {"very_satisfied": 1, "satisfied": 1, "not_satisfied": 1},  # A1, A3, A5
    "on_time_rate": 57.14,  # 4 / 7
    "satisfaction_rate": 66.67,  # 2 / 3
}
SEPT_B: dict[str, Any] = {
    "received": {
        "total": 4,
        "carried_over": 1,  # B3
        "new": 3,  # B1 B2 B4
        "by_channel": {"direct": 2, "online": 0, "postal": 1},
    },
    "resolved": {"total": 2, "early": 0, "on_time": 1, "late": 1},  # B1 on time, B2 late
    "in_progress": {"total": 2, "overdue": 1},  # B3 (overdue), B4
    "returned_by_post": 0,
    "satisfaction": {"very_satisfied": 0, "satisfied": 1, "not_satisfied": 0},
    "on_time_rate": 50.0,
    "satisfaction_rate": 100.0,
}
SEPT_TOTAL: dict[str, Any] = {
    "received": {
        "total": 17,
        "carried_over": 4,
        "new": 13,
        "by_channel": {"direct": 8, "online": 3, "postal": 2},
    },
    "resolved": {"total": 9, "early": 2, "on_time": 3, "late": 4},
    "in_progress": {"total": 7, "overdue": 3},
    "returned_by_post": 3,
    "satisfaction": {"very_satisfied": 1, "satisfied": 2, "not_satisfied": 1},
}
SEPT_TOP = [
    {"id": PROC_A1, "title": "Thủ tục thử A1", "received": 5},  # A1 A2 A3 A16 A18 (tie with A2, id first)
    {"id": PROC_A2, "title": "Thủ tục thử A2", "received": 5},  # A4 A7 A8 A13 A14
    {"id": PROC_B1, "title": "Thủ tục thử B1", "received": 3},  # B1 B2 B4
]


def strip_rates(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if k not in ("on_time_rate", "satisfaction_rate")}


async def ensure_catalogue(session: AsyncSession) -> None:
    """The two departments (when the knowledge base did not create them) and three test procedures."""
    names = {DEPT_A: "Sở Tài chính", DEPT_B: "Sở Tư pháp"}
    existing = set((await session.execute(select(Department.id))).scalars())
    for dept, name in names.items():
        if dept not in existing:
            session.add(Department(id=dept, name=name, short_name=None, level="provincial", active=True))
    await session.flush()
    for proc, dept, title in (
        (PROC_A1, DEPT_A, "Thủ tục thử A1"),
        (PROC_A2, DEPT_A, "Thủ tục thử A2"),
        (PROC_B1, DEPT_B, "Thủ tục thử B1"),
    ):
        if await session.get(Procedure, proc) is None:
            session.add(Procedure(id=proc, code=None, title=title, department_id=dept, processing_days=5))
    await session.flush()


async def load_rows(session: AsyncSession, rows: list[Row] = ROWS) -> dict[str, int]:
    """Insert the data set; returns dossier ids by name."""
    await ensure_catalogue(session)
    ids: dict[str, int] = {}
    for row in rows:
        code = f"RPT-{row.name}"
        dossier = Dossier(
            code=code,
            code_key=code.replace("-", ""),
            procedure_id=row.proc,
            department_id=row.dept,
            applicant_name=f"Người nộp {row.name}",
            applicant_phone="0912345678",
            channel=row.channel,
            return_method=row.return_method,
            status=row.status,
            received_at=row.received,
            due_at=row.postponed_to or row.due,
            original_due_at=row.due,
            resolved_at=row.resolved,
            returned_at=row.returned,
        )
        session.add(dossier)
        await session.flush()
        ids[row.name] = dossier.id
        session.add(DossierEvent(dossier_id=dossier.id, at=row.received, to_status="received", actor="test"))
        if row.withdrawn is not None:
            session.add(
                DossierEvent(
                    dossier_id=dossier.id, at=row.withdrawn, from_status="received", to_status="withdrawn", actor="t"
                )
            )
        if row.rating is not None:
            level, created = row.rating
            score = {"very_satisfied": 3, "satisfied": 2, "not_satisfied": 1}[level]
            session.add(
                Rating(
                    dossier_id=dossier.id,
                    department_id=row.dept,
                    channel="telegram",
                    level=level,
                    score=score,
                    created_at=created,
                    updated_at=created,
                )
            )
    await session.flush()
    return ids


__all__ = ["NOW", "ROWS", "SEPT_A", "SEPT_B", "SEPT_TOP", "SEPT_TOTAL", "TZ", "load_rows"]
