"""The figures centres publish every month, computed with SQL aggregates (never by loading dossiers).

A period is a range of local days [start, end] in the centre's time zone; it becomes the UTC bounds
[local midnight of start, local midnight of the day after end). The definitions of every figure are in
`docs/reports.md`; the short version:

- new: received in the period; carried_over: received before and still open at its start;
- resolved: result ready or rejected in the period, classed early / on_time / late by comparing the
  local date of resolution with the local date of the *original* appointment (postponements do not count);
- in_progress: still open at the end of the period (or now, when the period has not ended), overdue among
  them when their original appointment day has passed;
- returned_by_post: returned with the postal return method in the period;
- satisfaction: ratings created in the period, by level.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, and_, case, cast, func, literal_column, not_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import KeyedColumnElement

from storage.errors import InvalidInput
from storage.models import Department, Dossier, DossierEvent, DossierStatus, Procedure, Rating

MAX_PERIOD_DAYS = 5 * 366
MIN_YEAR, MAX_YEAR = 2000, 2100
RATING_LEVELS = ("very_satisfied", "satisfied", "not_satisfied")
TOP_PROCEDURES = 10
MAX_TREND_MONTHS = 60


# --- periods ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Local days [start, end], both included."""

    start: date
    end: date

    @classmethod
    def create(cls, start: date, end: date) -> Period:
        """A checked period: start <= end, at most five years, years 2000–2100."""
        for value, name in ((start, "from"), (end, "to")):
            if not MIN_YEAR <= value.year <= MAX_YEAR:
                raise InvalidInput(f"{name}: {value.isoformat()} is outside {MIN_YEAR}–{MAX_YEAR}", code="invalid_date")
        if start > end:
            raise InvalidInput(f"from ({start.isoformat()}) is after to ({end.isoformat()})", code="invalid_period")
        if (end - start).days + 1 > MAX_PERIOD_DAYS:
            raise InvalidInput(f"the period is longer than {MAX_PERIOD_DAYS} days (5 years)", code="invalid_period")
        return cls(start, end)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """UTC [start, end) of the period's local days."""
        return local_midnight(self.start, tz), local_midnight(self.end + timedelta(days=1), tz)

    def label_vi(self) -> str:
        return f"từ ngày {self.start:%d/%m/%Y} đến ngày {self.end:%d/%m/%Y}"


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC moment at which a local day begins."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def month_period(day: date) -> Period:
    """The calendar month containing `day`."""
    first = day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return Period(first, last)


# --- figures ---------------------------------------------------------------------------------------


@dataclass
class Counts:
    """The report's counts for one department or for the whole centre."""

    carried_over: int = 0
    new: int = 0
    direct: int = 0
    online: int = 0
    postal: int = 0
    resolved: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    in_progress: int = 0
    overdue: int = 0
    returned_by_post: int = 0
    very_satisfied: int = 0
    satisfied: int = 0
    not_satisfied: int = 0

    @property
    def received(self) -> int:
        return self.carried_over + self.new

    @property
    def ratings(self) -> int:
        return self.very_satisfied + self.satisfied + self.not_satisfied

    @property
    def on_time_rate(self) -> float | None:
        """(early + on time) / resolved × 100, 2 decimals; None when nothing was resolved."""
        return percent(self.early + self.on_time, self.resolved)

    @property
    def satisfaction_rate(self) -> float | None:
        """(very satisfied + satisfied) / ratings × 100, 2 decimals; None without ratings."""
        return percent(self.very_satisfied + self.satisfied, self.ratings)

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, Any]:
        """The nested counts of the API (`received`, `resolved`, `in_progress`, ...)."""
        return {
            "received": {
                "total": self.received,
                "carried_over": self.carried_over,
                "new": self.new,
                "by_channel": {"direct": self.direct, "online": self.online, "postal": self.postal},
            },
            "resolved": {"total": self.resolved, "early": self.early, "on_time": self.on_time, "late": self.late},
            "in_progress": {"total": self.in_progress, "overdue": self.overdue},
            "returned_by_post": self.returned_by_post,
            "satisfaction": {
                "very_satisfied": self.very_satisfied,
                "satisfied": self.satisfied,
                "not_satisfied": self.not_satisfied,
            },
        }


def percent(part: int, whole: int) -> float | None:
    """part / whole × 100 rounded half-up to 2 decimals; None when whole is 0."""
    if whole <= 0:
        return None
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return float(value)


@dataclass
class DepartmentFigures:
    id: str
    name: str
    counts: Counts

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            **self.counts.as_dict(),
            "on_time_rate": self.counts.on_time_rate,
            "satisfaction_rate": self.counts.satisfaction_rate,
        }


@dataclass
class ProcedureFigures:
    id: str
    title: str
    received: int

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "received": self.received}


@dataclass
class Summary:
    """The report of a period, for the centre or one department."""

    period: Period
    department_id: str | None
    totals: Counts
    departments: list[DepartmentFigures] = field(default_factory=list)
    top_procedures: list[ProcedureFigures] = field(default_factory=list)
    # The moment "in progress" and "overdue" were taken at: the end of the period, or now.
    as_of: datetime | None = None

    @property
    def department_name(self) -> str | None:
        if self.department_id is None:
            return None
        for row in self.departments:
            if row.id == self.department_id:
                return row.name
        return None

    def as_dict(self) -> dict[str, Any]:
        """The JSON document of `GET /api/v1/reports/summary`."""
        return {
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            **self.totals.as_dict(),
            "departments": [d.as_dict() for d in self.departments],
            "top_procedures": [p.as_dict() for p in self.top_procedures],
        }


@dataclass
class MonthFigures:
    month: str  # YYYY-MM, local
    received: int = 0
    resolved: int = 0
    late: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month, "received": self.received, "resolved": self.resolved, "late": self.late}


# --- SQL building blocks ---------------------------------------------------------------------------


class _Dialect:
    """Local-time expressions for the database at hand.

    With a zone whose UTC offset does not change (Asia/Ho_Chi_Minh: +07:00 all year, since 1975), UTC
    times are shifted by that offset, read from the zone: cheap on both databases. A zone with daylight
    saving time uses PostgreSQL's zone rules (exact, slower); SQLite cannot, and refuses.
    """

    def __init__(self, name: str, tz: ZoneInfo, span: tuple[date, date]) -> None:
        self.name = name
        self.tz = tz
        self.offset_minutes = _fixed_offset_minutes(tz, span, required=name != "postgresql")

    def _local(self, column: Any) -> ColumnElement[Any]:
        """PostgreSQL: the local wall-clock time (timestamp without time zone)."""
        if self.offset_minutes is None:
            return func.timezone(self.tz.key, column)
        sign = "-" if self.offset_minutes < 0 else "+"
        hours, minutes = divmod(abs(self.offset_minutes), 60)
        # An interval zone is ISO-signed ('+07:00' is UTC+7); the text comes from an int, never from input.
        return func.timezone(literal_column(f"INTERVAL '{sign}{hours:02d}:{minutes:02d}'"), column)

    def local_date(self, column: Any) -> ColumnElement[Any]:
        if self.name == "postgresql":
            return cast(self._local(column), Date)
        return func.date(column, f"{self.offset_minutes:+d} minutes")

    def local_month(self, column: Any) -> ColumnElement[Any]:
        """The local month: a timestamp of its first day (PostgreSQL) or "YYYY-MM" text (SQLite)."""
        if self.name == "postgresql":
            return func.date_trunc("month", self._local(column))
        return func.strftime("%Y-%m", column, f"{self.offset_minutes:+d} minutes")


def _month_key(value: Any) -> str:
    return value.strftime("%Y-%m") if isinstance(value, date | datetime) else str(value)


def _fixed_offset_minutes(tz: ZoneInfo, span: tuple[date, date], *, required: bool = True) -> int | None:
    """The zone's UTC offset in minutes when it is the same throughout the years around the span.

    Otherwise None, or InvalidInput when `required` (SQLite has no time-zone rules to fall back on).
    """
    offsets = set()
    for year in range(span[0].year - 1, span[1].year + 2):
        for month in (1, 4, 7, 10):
            moment = datetime(year, month, 1, 12, tzinfo=tz)
            offset = moment.utcoffset()
            offsets.add(int(offset.total_seconds() // 60) if offset is not None else 0)
    if len(offsets) == 1:
        return offsets.pop()
    if required:
        raise InvalidInput(
            f"the time zone {tz.key} changes its UTC offset; reports on SQLite need a fixed offset (use PostgreSQL)",
            code="unsupported_timezone",
        )
    return None


def _dialect(session: AsyncSession, tz: ZoneInfo, period: Period) -> _Dialect:
    return _Dialect(session.get_bind().dialect.name, tz, (period.start, period.end))


def _withdrawals_since(moment: datetime) -> Any:
    """When dossiers were withdrawn (their event to `withdrawn`), for withdrawals at or after `moment`.

    A partial index on withdrawal events keeps this small; a withdrawn dossier that is not in it was
    withdrawn earlier (or, imported as withdrawn, has no such event) and is closed for the whole period.
    """
    return (
        select(DossierEvent.dossier_id.label("dossier_id"), func.min(DossierEvent.at).label("at"))
        .where(DossierEvent.to_status == DossierStatus.WITHDRAWN.value, DossierEvent.at >= moment)
        .group_by(DossierEvent.dossier_id)
        .subquery("withdrawals")
    )


def _open_at(moment: datetime, withdrawn_at: Any) -> ColumnElement[bool]:
    """Received before `moment`, and neither resolved nor withdrawn by then."""
    withdrawn_before = and_(
        Dossier.status == DossierStatus.WITHDRAWN.value,
        func.coalesce(withdrawn_at, Dossier.received_at) < moment,
    )
    return and_(
        Dossier.received_at < moment,
        or_(Dossier.resolved_at.is_(None), Dossier.resolved_at >= moment),
        not_(withdrawn_before),
    )


@asynccontextmanager
async def _report_planning(session: AsyncSession, dialect: _Dialect) -> AsyncIterator[None]:
    """PostgreSQL: no JIT for one report query (compiling these wide aggregates costs more than running them)."""
    if dialect.name != "postgresql":
        yield
        return
    await session.execute(text("SET LOCAL jit = off"))
    try:
        yield
    finally:
        await session.execute(text("SET LOCAL jit TO DEFAULT"))


def _count_if(condition: ColumnElement[bool], name: str) -> KeyedColumnElement[Any]:
    """COUNT(*) FILTER (WHERE condition): PostgreSQL, and SQLite since 3.30."""
    return func.count().filter(condition).label(name)


def _as_of(period: Period, tz: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """The moment open dossiers are counted at, and the overdue cutoff (local midnight of that day)."""
    _start, end = period.bounds(tz)
    as_of = min(end, now)
    return as_of, local_midnight(as_of.astimezone(tz).date(), tz)


# --- the summary -----------------------------------------------------------------------------------


async def compute_summary(
    session: AsyncSession,
    period: Period,
    *,
    tz: ZoneInfo,
    now: datetime,
    department_id: str | None = None,
    top: int = TOP_PROCEDURES,
) -> Summary:
    """The report of `period` (for one department when `department_id` is given)."""
    await check_department(session, department_id)
    dialect = _dialect(session, tz, period)
    start, end = period.bounds(tz)
    as_of, overdue_cutoff = _as_of(period, tz, now)
    by_department: dict[str, Counts] = {}

    resolved_in = and_(Dossier.resolved_at >= start, Dossier.resolved_at < end)
    received_in = and_(Dossier.received_at >= start, Dossier.received_at < end)
    resolved_day = dialect.local_date(Dossier.resolved_at)
    due_day = dialect.local_date(Dossier.original_due_at)
    returned_by_post = and_(Dossier.returned_at >= start, Dossier.returned_at < end, Dossier.return_method == "postal")
    withdrawals = _withdrawals_since(min(start, as_of))
    open_end = _open_at(as_of, withdrawals.c.at)
    columns = [
        Dossier.department_id,
        Dossier.procedure_id,
        _count_if(_open_at(start, withdrawals.c.at), "carried_over"),
        _count_if(received_in, "new"),
        _count_if(and_(received_in, Dossier.channel == "direct"), "direct"),
        _count_if(and_(received_in, Dossier.channel == "online"), "online"),
        _count_if(and_(received_in, Dossier.channel == "postal"), "postal"),
        _count_if(resolved_in, "resolved"),
        _count_if(and_(resolved_in, resolved_day < due_day), "early"),
        _count_if(and_(resolved_in, resolved_day > due_day), "late"),
        _count_if(open_end, "in_progress"),
        _count_if(and_(open_end, Dossier.original_due_at < overdue_cutoff), "overdue"),
        _count_if(returned_by_post, "returned_by_post"),
    ]
    # Only rows that can count, each arm of the OR served by an index: received in the period; received
    # before and resolved since its start (or never); returned by post in the period (a dossier resolved
    # before the period counts for nothing else). Old closed dossiers stay out.
    arms = [received_in, and_(Dossier.resolved_at.is_(None), Dossier.received_at < start), returned_by_post]
    floor = await _carried_over_floor(session, start)
    if floor is not None:
        arms.append(and_(Dossier.resolved_at >= start, Dossier.received_at >= floor, Dossier.received_at < start))
    relevant = and_(Dossier.received_at < end, or_(*arms))
    query = (
        select(*columns)
        .select_from(Dossier)
        .outerjoin(withdrawals, withdrawals.c.dossier_id == Dossier.id)
        .where(relevant)
        # By procedure too: the same pass gives the top procedures (a few hundred groups at most).
        .group_by(Dossier.department_id, Dossier.procedure_id)
    )
    if department_id is not None:
        query = query.where(Dossier.department_id == department_id)
    new_by_procedure: dict[str, int] = {}
    async with _report_planning(session, dialect):
        rows = (await session.execute(query)).mappings().all()
    for row in rows:
        counts = by_department.setdefault(row["department_id"], Counts())
        for name in row:
            if name not in ("department_id", "procedure_id"):
                setattr(counts, name, getattr(counts, name) + int(row[name] or 0))
        # Two local dates are in exactly one order: the third count costs nothing.
        counts.on_time += int(row["resolved"] or 0) - int(row["early"] or 0) - int(row["late"] or 0)
        if row["new"]:
            new_by_procedure[row["procedure_id"]] = new_by_procedure.get(row["procedure_id"], 0) + int(row["new"])

    ratings = (
        select(Rating.department_id, Rating.level, func.count())
        .where(Rating.created_at >= start, Rating.created_at < end)
        .group_by(Rating.department_id, Rating.level)
    )
    if department_id is not None:
        ratings = ratings.where(Rating.department_id == department_id)
    for dept, level, count in (await session.execute(ratings)).all():
        if level in RATING_LEVELS:
            counts = by_department.setdefault(dept, Counts())
            setattr(counts, level, getattr(counts, level) + int(count))

    if department_id is not None:
        by_department.setdefault(department_id, Counts())
    names = await _department_names(session, by_department)
    departments = [
        DepartmentFigures(id=dept, name=names.get(dept, dept), counts=counts)
        for dept, counts in by_department.items()
        if not counts.is_empty() or dept == department_id
    ]
    departments.sort(key=lambda d: (-d.counts.received, d.name))
    totals = Counts()
    for figures in departments:
        totals.add(figures.counts)
    return Summary(
        period=period,
        department_id=department_id,
        totals=totals,
        departments=departments,
        top_procedures=await _procedure_figures(session, new_by_procedure, top),
        as_of=as_of,
    )


async def check_department(session: AsyncSession, department_id: str | None) -> None:
    """InvalidInput unless the department exists (None means every department)."""
    if department_id is not None and await session.get(Department, department_id) is None:
        raise InvalidInput(f"Unknown department {department_id!r}", code="unknown_department")


async def _department_names(session: AsyncSession, ids: Iterable[str]) -> dict[str, str]:
    wanted = list(ids)
    if not wanted:
        return {}
    result = await session.execute(select(Department.id, Department.name).where(Department.id.in_(wanted)))
    return {dept: name for dept, name in result.all()}


async def _carried_over_floor(session: AsyncSession, start: datetime) -> datetime | None:
    """The earliest receipt among dossiers received before `start` and resolved since; None if there are none.

    Read from the (resolved_at, received_at) index alone. Given to the main query as a lower bound, it lets
    PostgreSQL see how few dossiers are carried over: on its own it multiplies the selectivities of
    "received before the start" and "resolved after it" as if they were independent, expects a fifth of
    the table, and reads all of it.
    """
    # OFFSET 0 keeps PostgreSQL from turning min() into "the oldest receipt first, until one matches",
    # which, misled the same way, reads every dossier received before the start.
    carried = (
        select(Dossier.received_at)
        .where(Dossier.resolved_at >= start, Dossier.received_at < start)
        .offset(0)
        .subquery("carried")
    )
    result = await session.execute(select(func.min(carried.c.received_at)))
    value: datetime | None = result.scalar_one_or_none()
    return value


async def _procedure_figures(session: AsyncSession, received: dict[str, int], limit: int) -> list[ProcedureFigures]:
    """The `limit` procedures with the most dossiers received (ties: by id), with their titles."""
    ranked = sorted(received.items(), key=lambda item: (-item[1], item[0]))[: max(limit, 0)]
    if not ranked:
        return []
    result = await session.execute(
        select(Procedure.id, Procedure.title).where(Procedure.id.in_([pid for pid, _n in ranked]))
    )
    titles = {pid: title for pid, title in result.all()}
    return [ProcedureFigures(id=pid, title=titles.get(pid, pid), received=n) for pid, n in ranked]


# --- the monthly trend -----------------------------------------------------------------------------


def trend_months(period: Period, *, minimum: int = 12) -> Period:
    """The months a trend chart shows: those of the period, and at least `minimum` ending with its last."""
    last = month_period(period.end)
    first_month = period.start.replace(day=1)
    back = last.start
    for _ in range(minimum - 1):
        back = (back - timedelta(days=1)).replace(day=1)
    first = min(first_month, back)
    months = (last.start.year - first.year) * 12 + last.start.month - first.month + 1
    while months > MAX_TREND_MONTHS:
        first = (first + timedelta(days=32)).replace(day=1)
        months -= 1
    return Period(max(first, date(MIN_YEAR, 1, 1)), last.end)


async def monthly_trend(
    session: AsyncSession, period: Period, *, tz: ZoneInfo, department_id: str | None = None
) -> list[MonthFigures]:
    """Received, resolved and late dossiers per local month of the period (every month listed)."""
    await check_department(session, department_id)
    dialect = _dialect(session, tz, period)
    start, end = period.bounds(tz)
    months: dict[str, MonthFigures] = {}
    day = period.start.replace(day=1)
    while day <= period.end:
        key = f"{day:%Y-%m}"
        months[key] = MonthFigures(key)
        day = (day + timedelta(days=32)).replace(day=1)

    received_month = dialect.local_month(Dossier.received_at).label("month")
    received = (
        select(received_month, func.count())
        .where(Dossier.received_at >= start, Dossier.received_at < end)
        .group_by(received_month)
    )
    resolved_month = dialect.local_month(Dossier.resolved_at).label("month")
    late = dialect.local_date(Dossier.resolved_at) > dialect.local_date(Dossier.original_due_at)
    resolved = (
        select(resolved_month, func.count(), func.coalesce(func.sum(case((late, 1), else_=0)), 0))
        .where(Dossier.resolved_at >= start, Dossier.resolved_at < end)
        .group_by(resolved_month)
    )
    if department_id is not None:
        received = received.where(Dossier.department_id == department_id)
        resolved = resolved.where(Dossier.department_id == department_id)
    async with _report_planning(session, dialect):
        received_rows = (await session.execute(received)).all()
        resolved_rows = (await session.execute(resolved)).all()
    for month, count in received_rows:
        key = _month_key(month)
        months.setdefault(key, MonthFigures(key)).received = int(count)
    for month, count, late_count in resolved_rows:
        key = _month_key(month)
        figures = months.setdefault(key, MonthFigures(key))
        figures.resolved = int(count)
        figures.late = int(late_count)
    return [months[key] for key in sorted(months)]


# --- the overdue list ------------------------------------------------------------------------------


@dataclass
class OverdueDossier:
    code: str
    procedure_id: str
    procedure_title: str
    department_id: str
    department_name: str
    received_at: datetime
    original_due_at: datetime
    due_at: datetime
    status: str
    days_overdue: int  # calendar days since the original appointment day


async def overdue_dossiers(
    session: AsyncSession, *, tz: ZoneInfo, now: datetime, department_id: str | None = None, limit: int = 50
) -> tuple[list[OverdueDossier], int]:
    """Open dossiers whose original appointment day has passed (oldest first), and how many there are."""
    await check_department(session, department_id)
    today = now.astimezone(tz).date()
    cutoff = local_midnight(today, tz)
    conditions: list[ColumnElement[bool]] = [
        Dossier.resolved_at.is_(None),
        Dossier.status != DossierStatus.WITHDRAWN.value,
        Dossier.original_due_at < cutoff,
    ]
    if department_id is not None:
        conditions.append(Dossier.department_id == department_id)
    total = (await session.execute(select(func.count()).select_from(Dossier).where(*conditions))).scalar_one()
    result = await session.execute(
        select(Dossier, Procedure.title, Department.name)
        .join(Procedure, Procedure.id == Dossier.procedure_id)
        .join(Department, Department.id == Dossier.department_id)
        .where(*conditions)
        .order_by(Dossier.original_due_at, Dossier.id)
        .limit(limit)
    )
    items = [
        OverdueDossier(
            code=dossier.code,
            procedure_id=dossier.procedure_id,
            procedure_title=title,
            department_id=dossier.department_id,
            department_name=dept_name,
            received_at=dossier.received_at,
            original_due_at=dossier.original_due_at,
            due_at=dossier.due_at,
            status=dossier.status,
            days_overdue=(today - dossier.original_due_at.astimezone(tz).date()).days,
        )
        for dossier, title, dept_name in result.unique().all()
    ]
    return items, int(total)


__all__ = [
    "Counts",
    "DepartmentFigures",
    "MonthFigures",
    "OverdueDossier",
    "Period",
    "ProcedureFigures",
    "Summary",
    "check_department",
    "compute_summary",
    "local_midnight",
    "month_period",
    "monthly_trend",
    "overdue_dossiers",
    "percent",
    "trend_months",
]
