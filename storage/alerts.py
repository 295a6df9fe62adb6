"""The officers' daily due-date alert, computed in SQL per department.

For a local day T and N working days ahead: dossiers due on T ("due today"), due after T up to the end of
the N-th working day after T ("due soon"), and due before T ("overdue"), among dossiers the department is
still working on; plus the most urgent codes (earliest appointment first). Both queries reach only the
open dossiers through `ix_dossiers_status_due` (status, due_at), so the cost follows the open workload, not
the millions of returned dossiers (`benchmarks/alerts.py`: tens of milliseconds at 1,000,000 dossiers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.calendar import WorkingCalendar
from storage.models import Department, Dossier, DossierStatus

# Dossiers the department still has to act on. Suspended ones (tạm dừng) are paused by decision and
# would only be noise; result_ready and later are done for the department.
ALERT_STATUSES: tuple[str, ...] = (
    DossierStatus.RECEIVED.value,
    DossierStatus.IN_PROGRESS.value,
    DossierStatus.NEEDS_SUPPLEMENT.value,
    DossierStatus.AWAITING_PAYMENT.value,
)
URGENT_CODES = 5


@dataclass(frozen=True)
class AlertWindow:
    """The UTC boundaries of one day's alert."""

    day: date
    days_ahead: int
    last_day: date  # the N-th working day after `day`
    today_start: datetime
    tomorrow_start: datetime
    window_end: datetime


def alert_window(calendar: WorkingCalendar, day: date, days_ahead: int) -> AlertWindow:
    last_day = calendar.add_working_days(day, days_ahead)

    def start(d: date) -> datetime:
        return datetime.combine(d, time(0), tzinfo=calendar.tz)

    return AlertWindow(
        day=day,
        days_ahead=days_ahead,
        last_day=last_day,
        today_start=start(day),
        tomorrow_start=start(day + timedelta(days=1)),
        window_end=start(last_day + timedelta(days=1)),
    )


@dataclass
class DepartmentAlert:
    department_id: str
    department_name: str
    due_today: int = 0
    due_soon: int = 0
    overdue: int = 0
    urgent_codes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.due_today + self.due_soon + self.overdue


async def compute_alerts(
    session: AsyncSession, window: AlertWindow, department_ids: Sequence[str] | None = None
) -> dict[str, DepartmentAlert]:
    """Counts and urgent codes per department that has anything due; departments with nothing are absent."""
    conditions = [Dossier.status.in_(ALERT_STATUSES), Dossier.due_at < window.window_end]
    if department_ids is not None:
        conditions.append(Dossier.department_id.in_(list(department_ids)))

    def between(lo: datetime | None, hi: datetime) -> ColumnElement[int]:
        cond = Dossier.due_at < hi if lo is None else and_(Dossier.due_at >= lo, Dossier.due_at < hi)
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    counts = (
        select(
            Dossier.department_id,
            between(window.today_start, window.tomorrow_start).label("due_today"),
            between(window.tomorrow_start, window.window_end).label("due_soon"),
            between(None, window.today_start).label("overdue"),
        )
        .where(*conditions)
        .group_by(Dossier.department_id)
    )
    alerts: dict[str, DepartmentAlert] = {}
    for department_id, due_today, due_soon, overdue in await session.execute(counts):
        alerts[department_id] = DepartmentAlert(
            department_id=department_id,
            department_name=department_id,
            due_today=int(due_today),
            due_soon=int(due_soon),
            overdue=int(overdue),
        )
    if not alerts:
        return alerts
    ranked = (
        select(
            Dossier.department_id,
            Dossier.code,
            func.row_number()
            .over(partition_by=Dossier.department_id, order_by=(Dossier.due_at, Dossier.id))
            .label("rank"),
        )
        .where(*conditions)
        .subquery()
    )
    urgent = (
        select(ranked.c.department_id, ranked.c.code)
        .where(ranked.c.rank <= URGENT_CODES)
        .order_by(ranked.c.department_id, ranked.c.rank)
    )
    for department_id, code in await session.execute(urgent):
        alerts[department_id].urgent_codes.append(code)
    names = await session.execute(select(Department.id, Department.name).where(Department.id.in_(list(alerts))))
    for department_id, name in names:
        alerts[department_id].department_name = name
    return alerts
