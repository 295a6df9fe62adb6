"""Helpers of the scheduler tests: a fake clock, a started app, dossiers and recipients to alert about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select, update

from bot import keys
from bot.scheduler import SCHEDULER, JobRunner
from storage.dossiers import NewDossier
from storage.models import Department, Dossier, OutboxMessage, Procedure

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class FakeClock:
    """The app's clock, moved by the test (local times in Asia/Ho_Chi_Minh)."""

    def __init__(self, local: str) -> None:
        self.now = datetime.now(UTC)
        self.set(local)

    def set(self, local: str) -> None:
        self.now = datetime.fromisoformat(local).replace(tzinfo=TZ).astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def __call__(self) -> datetime:
        return self.now


def local(moment: str) -> datetime:
    return datetime.fromisoformat(moment).replace(tzinfo=TZ)


def closing(day: str) -> datetime:
    """The appointment time of a day: closing time of the counters."""
    return datetime.combine(date.fromisoformat(day), time(17, 0), tzinfo=TZ)


def runner_of(app: web.Application) -> JobRunner:
    return app[SCHEDULER].job_runner()


@dataclass(frozen=True)
class Catalogue:
    """Two departments with procedures (dossiers are created there) and one without dossiers."""

    first: str
    first_name: str
    first_procedure: str
    second: str
    second_procedure: str
    quiet: str


async def pick_catalogue(app: web.Application) -> Catalogue:
    async with app[keys.SESSIONMAKER]() as session:
        procedures = (
            await session.execute(
                select(Procedure.department_id, Procedure.id).where(Procedure.active.is_(True)).order_by(Procedure.id)
            )
        ).all()
        departments = {row[0]: row[1] for row in await session.execute(select(Department.id, Department.name))}
    by_department: dict[str, str] = {}
    for department_id, procedure_id in procedures:
        by_department.setdefault(department_id, procedure_id)
    with_procedures = sorted(by_department)
    first = "so-tu-phap" if "so-tu-phap" in by_department else with_procedures[0]
    second = next(d for d in with_procedures if d != first)
    quiet = next(d for d in sorted(departments) if d not in (first, second))
    return Catalogue(first, departments[first], by_department[first], second, by_department[second], quiet)


async def add_dossier(
    app: web.Application,
    procedure_id: str,
    due_at: datetime,
    status: str = "in_progress",
    *,
    received_at: datetime | None = None,
    phone: str | None = "0912345678",
    return_method: str = "counter",
    resolved_at: datetime | None = None,
    **columns: Any,
) -> Dossier:
    """A dossier with a given appointment and status (created through the service, without notifications)."""
    new = NewDossier(
        procedure_id=procedure_id,
        applicant_name="Nguyễn Văn An",
        applicant_phone=phone,
        channel="direct",
        return_method=return_method,
        received_at=received_at or local("2026-11-02T09:00"),
        due_at=due_at,
        status=status,
        resolved_at=resolved_at,
    )
    async with app[keys.SESSIONMAKER].begin() as session:
        dossier = await app[keys.DOSSIERS].create(session, new, actor="test", notify=False)
        if columns:
            await session.execute(update(Dossier).where(Dossier.id == dossier.id).values(**columns))
    return dossier


async def set_status(app: web.Application, dossier_id: int, status: str, **columns: Any) -> None:
    async with app[keys.SESSIONMAKER].begin() as session:
        await session.execute(update(Dossier).where(Dossier.id == dossier_id).values(status=status, **columns))


async def outbox(app: web.Application, kind: str | None = None) -> list[OutboxMessage]:
    async with app[keys.SESSIONMAKER]() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list((await session.execute(query)).scalars())
