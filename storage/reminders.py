"""Which dossiers deserve a reminder to their applicant today, and which chats can receive it.

- `due_tomorrow`: still being processed, appointment tomorrow ("kết quả dự kiến ngày mai").
- `uncollected`: result ready at the counter for N working days and not collected.
- `supplement`: waiting for supplementary documents, deadline before the end of the next working day(s).

Each query is bounded by a window of recent days, so a reminder that was missed for a while is still
sent once, and a dossier left untouched for months is not reminded again once its outbox row is pruned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.calendar import WorkingCalendar
from storage.models import ChatContact, Department, Dossier, DossierLink, DossierStatus, Procedure, ReturnMethod

ReminderKind = Literal["due_tomorrow", "uncollected", "supplement"]
# A reminder that became due up to this many days ago is still sent (catch-up after downtime).
CATCH_UP_DAYS = 7


@dataclass(frozen=True)
class ReminderTarget:
    kind: ReminderKind
    dossier_id: int
    code: str
    procedure: str
    department: str
    applicant_name: str
    applicant_phone: str | None
    status: str
    due_at: datetime
    resolved_at: datetime | None
    supplement_deadline: datetime | None


def _start(calendar: WorkingCalendar, day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=calendar.tz)


def uncollected_threshold(calendar: WorkingCalendar, today: date, working_days: int) -> date:
    """The latest day whose result has waited at least `working_days` working days by `today`."""
    day = today
    while calendar.working_days_between(day, today) < working_days:
        day -= timedelta(days=1)
    return day


async def _targets(session: AsyncSession, kind: ReminderKind, *conditions: object) -> list[ReminderTarget]:
    query = (
        select(Dossier, Procedure.title, Department.name)
        .join(Procedure, Procedure.id == Dossier.procedure_id)
        .join(Department, Department.id == Dossier.department_id)
        .where(*conditions)  # type: ignore[arg-type]
        .order_by(Dossier.id)
    )
    rows = (await session.execute(query)).all()
    return [
        ReminderTarget(
            kind=kind,
            dossier_id=d.id,
            code=d.code,
            procedure=title,
            department=department,
            applicant_name=d.applicant_name,
            applicant_phone=d.applicant_phone,
            status=d.status,
            due_at=d.due_at,
            resolved_at=d.resolved_at,
            supplement_deadline=d.supplement_deadline,
        )
        for d, title, department in rows
    ]


async def due_tomorrow(session: AsyncSession, calendar: WorkingCalendar, today: date) -> list[ReminderTarget]:
    tomorrow = today + timedelta(days=1)
    return await _targets(
        session,
        "due_tomorrow",
        Dossier.status.in_((DossierStatus.RECEIVED.value, DossierStatus.IN_PROGRESS.value)),
        Dossier.due_at >= _start(calendar, tomorrow),
        Dossier.due_at < _start(calendar, tomorrow + timedelta(days=1)),
    )


async def uncollected(
    session: AsyncSession, calendar: WorkingCalendar, today: date, working_days: int
) -> list[ReminderTarget]:
    threshold = uncollected_threshold(calendar, today, working_days)
    return await _targets(
        session,
        "uncollected",
        Dossier.status == DossierStatus.RESULT_READY.value,
        Dossier.return_method == ReturnMethod.COUNTER.value,
        Dossier.resolved_at < _start(calendar, threshold + timedelta(days=1)),
        Dossier.resolved_at >= _start(calendar, threshold - timedelta(days=CATCH_UP_DAYS)),
    )


async def supplement_due(
    session: AsyncSession, calendar: WorkingCalendar, now: datetime, working_days_before: int
) -> list[ReminderTarget]:
    today = calendar.local(now).date()
    last_day = calendar.add_working_days(today, working_days_before)
    return await _targets(
        session,
        "supplement",
        Dossier.status == DossierStatus.NEEDS_SUPPLEMENT.value,
        Dossier.supplement_deadline > now,
        Dossier.supplement_deadline < _start(calendar, last_day + timedelta(days=1)),
    )


async def reachable_contacts(session: AsyncSession, dossier_ids: Sequence[int]) -> dict[int, list[ChatContact]]:
    """Linked, unblocked chats of each dossier."""
    if not dossier_ids:
        return {}
    result = await session.execute(
        select(DossierLink.dossier_id, ChatContact)
        .join(ChatContact, ChatContact.id == DossierLink.contact_id)
        .where(DossierLink.dossier_id.in_(list(dossier_ids)), ChatContact.blocked.is_(False))
        .order_by(DossierLink.dossier_id, ChatContact.id)
    )
    grouped: dict[int, list[ChatContact]] = {}
    for dossier_id, contact in result:
        grouped.setdefault(dossier_id, []).append(contact)
    return grouped
