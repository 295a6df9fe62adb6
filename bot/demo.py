"""Demo data: about 200 realistic dossiers in every status, some late, some due today and soon.

Dates are relative to the day the demo is loaded so a new user sees real alerts and reports; loading it
again changes nothing (each demo dossier has a fixed import key).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from aiohttp import web
from sqlalchemy import select

from bot import keys
from storage.calendar import WorkingCalendar
from storage.db import SessionMaker
from storage.dossiers import DossierService, NewDossier
from storage.models import Dossier, DossierStatus, Procedure, Rating, utcnow
from storage.ratings import level_for

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Thu", "Hoài", "Gia", "Bảo"]
GIVEN = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hà",
    "Hạnh",
    "Hiếu",
    "Hoa",
    "Hùng",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Phương",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Vy",
    "Yến",
    "Khánh",
]
DEMO_SIZE = 200


@dataclass
class DemoReport:
    created: int
    existing: int


def _name(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def _phone(rng: random.Random) -> str:
    return rng.choice(["09", "03", "08", "07"]) + "".join(str(rng.randint(0, 9)) for _ in range(8))


def _at(calendar: WorkingCalendar, day: datetime, rng: random.Random) -> datetime:
    return datetime.combine(day.date(), time(rng.randint(7, 16), rng.choice([0, 15, 30, 45])), tzinfo=calendar.tz)


async def load_demo(
    sessionmaker: SessionMaker, service: DossierService, calendar: WorkingCalendar, *, now: datetime | None = None
) -> DemoReport:
    """Create the demo dossiers that do not exist yet."""
    now = now or utcnow()
    rng = random.Random(20261122)
    async with sessionmaker.begin() as session:
        procedures = list(
            (await session.execute(select(Procedure).where(Procedure.active.is_(True)).order_by(Procedure.id)))
            .unique()
            .scalars()
        )
        existing = set(
            (await session.execute(select(Dossier.import_key).where(Dossier.import_key.startswith("demo:")))).scalars()
        )
    if not procedures:
        raise RuntimeError("no procedures in the store: the knowledge base has not been synchronised")
    timed = [p for p in procedures if p.processing_days]
    created = 0
    local_now = calendar.local(now)
    async with sessionmaker.begin() as session:
        for n in range(DEMO_SIZE):
            key = f"demo:{n:04d}"
            procedure = rng.choice(timed or procedures)
            days = procedure.processing_days or 0
            new = _demo_dossier(n, rng, calendar, local_now, procedure, days)
            if key in existing:
                continue
            new.import_key = key
            await service.create(session, new, actor="demo", notify=False)
            created += 1
    return DemoReport(created=created, existing=len(existing))


def _demo_dossier(
    n: int, rng: random.Random, calendar: WorkingCalendar, now: datetime, procedure: Procedure, days: int
) -> NewDossier:
    channel = rng.choices(["direct", "online", "postal"], weights=[55, 38, 7])[0]
    new = NewDossier(
        procedure_id=procedure.id,
        applicant_name=_name(rng),
        applicant_phone=_phone(rng),
        channel=channel,
        return_method="postal" if channel == "postal" or rng.random() < 0.08 else "counter",
        received_at=None,
    )
    bucket = n % 10
    if bucket < 6:
        # History: received 10–120 days ago, resolved early / on time / late, most returned.
        received = _at(calendar, now - timedelta(days=rng.randint(10, 120)), rng)
        due = calendar.due_at(received, days)
        outcome = rng.choices(["early", "on_time", "late"], weights=[60, 35, 5])[0]
        if outcome == "early" and days > 1:
            resolved_day = calendar.add_working_days(calendar.start_day(received), rng.randint(0, days - 1))
        elif outcome == "late":
            resolved_day = calendar.add_working_days(due.date(), rng.randint(1, 4))
        else:
            resolved_day = due.date()
        resolved = _at(calendar, datetime.combine(resolved_day, time(9), tzinfo=calendar.tz), rng)
        resolved = min(resolved, now - timedelta(hours=1))
        new.received_at = received
        new.resolved_at = max(resolved, received)
        roll = rng.random()
        if roll < 0.05:
            new.status = DossierStatus.REJECTED.value
        elif roll < 0.85:
            new.status = DossierStatus.RETURNED.value
            new.returned_at = new.resolved_at + timedelta(hours=rng.randint(1, 48))
            new.returned_at = min(new.returned_at, now - timedelta(minutes=5))
        else:
            new.status = DossierStatus.RESULT_READY.value
        return new
    # Open dossiers whose appointment is today, in the next days, or already past (overdue).
    target = {6: 0, 7: 1, 8: 2, 9: -rng.randint(1, 5)}[bucket]
    due_day = (
        calendar.add_working_days(now.date(), target)
        if target >= 0
        else _working_days_back(calendar, now.date(), -target)
    )
    received_day = _working_days_back(calendar, due_day, max(days, 1))
    new.received_at = min(_at(calendar, datetime.combine(received_day, time(8), tzinfo=calendar.tz), rng), now)
    new.due_at = calendar.end_of_day(due_day)
    new.status = rng.choice(
        [
            DossierStatus.RECEIVED,
            DossierStatus.IN_PROGRESS,
            DossierStatus.IN_PROGRESS,
            DossierStatus.NEEDS_SUPPLEMENT,
            DossierStatus.AWAITING_PAYMENT,
        ]
    ).value
    return new


def _working_days_back(calendar: WorkingCalendar, day: date, count: int) -> date:
    current = day
    for _ in range(count):
        current -= timedelta(days=1)
        while not calendar.is_working_day(current):
            current -= timedelta(days=1)
    return current


async def add_demo_ratings(app: web.Application) -> None:
    """Ratings on most returned demo dossiers, so the satisfaction figures are not empty."""
    rng = random.Random(7)
    async with app[keys.SESSIONMAKER].begin() as session:
        rows = (
            await session.execute(
                select(Dossier.id, Dossier.department_id, Dossier.returned_at)
                .outerjoin(Rating, Rating.dossier_id == Dossier.id)
                .where(Dossier.import_key.startswith("demo:"), Dossier.status == "returned", Rating.id.is_(None))
                .order_by(Dossier.id)
            )
        ).all()
        for dossier_id, department_id, returned_at in rows:
            if rng.random() < 0.3:  # not every citizen answers
                continue
            score = rng.choices([3, 2, 1], weights=[70, 26, 4])[0]
            level = level_for(score, 3) or "satisfied"
            at = (returned_at or utcnow()) + timedelta(hours=rng.randint(1, 30))
            at = min(at, utcnow())
            session.add(
                Rating(
                    dossier_id=dossier_id,
                    department_id=department_id,
                    channel=rng.choice(["zalo", "telegram"]),
                    level=level,
                    score=score,
                    comment="Cán bộ hướng dẫn chưa rõ, phải đi lại nhiều lần." if score == 1 else None,
                    created_at=at,
                    updated_at=at,
                )
            )
