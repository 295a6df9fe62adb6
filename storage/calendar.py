"""Working-day calendar: Monday–Friday minus Vietnamese public holidays, plus the centre's overrides.

The `holidays` package knows Tết by the lunar calendar and the government's swapped days (a Saturday
worked to make a bridge holiday); the centre adds its own days off and make-up working days in a YAML file:

    days_off: [2026-12-31]
    working_days: [2026-02-28]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import yaml

from knowledge.render import describe_hours_vi

_DAY_NAMES = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_HOURS_RE = re.compile(r"^(?P<days>[A-Za-z]{3}(?:-[A-Za-z]{3})?)\s+(?P<spans>[\d:,\s-]+)$")


class CalendarError(ValueError):
    """The working-hours string or the overrides file cannot be understood."""


@dataclass(frozen=True)
class WorkingHours:
    """Opening days and time spans, e.g. `Mon-Fri 07:30-11:30,13:30-17:00`."""

    weekdays: frozenset[int]
    spans: tuple[tuple[time, time], ...]
    # Further reception hours after ";" ("Sat 07:30-11:30"): shown to citizens, but those days do not
    # count as working days for appointment dates.
    extra: tuple[tuple[frozenset[int], tuple[tuple[time, time], ...]], ...] = ()

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        first, *more = text.split(";")
        main = cls._parse_group(first)
        extra = tuple((hours.weekdays, hours.spans) for hours in map(cls._parse_group, more) if more)
        return cls(weekdays=main.weekdays, spans=main.spans, extra=extra)

    @classmethod
    def _parse_group(cls, text: str) -> WorkingHours:
        match = _HOURS_RE.match(text.strip())
        if not match:
            raise CalendarError(f"WORKING_HOURS must look like 'Mon-Fri 07:30-11:30,13:30-17:00', got {text!r}")
        days = match["days"].lower().split("-")
        try:
            first, last = _DAY_NAMES[days[0]], _DAY_NAMES[days[-1]]
        except KeyError as exc:
            raise CalendarError(f"unknown day name in WORKING_HOURS: {exc.args[0]!r}") from None
        weekdays = (
            frozenset(range(first, last + 1))
            if first <= last
            else frozenset(list(range(first, 7)) + list(range(0, last + 1)))
        )
        spans: list[tuple[time, time]] = []
        for part in match["spans"].split(","):
            try:
                start_s, end_s = (p.strip() for p in part.split("-"))
                start, end = time.fromisoformat(start_s), time.fromisoformat(end_s)
            except ValueError:
                raise CalendarError(f"bad time span in WORKING_HOURS: {part.strip()!r}") from None
            if end <= start:
                raise CalendarError(f"time span ends before it starts: {part.strip()!r}")
            spans.append((start, end))
        return cls(weekdays=weekdays, spans=tuple(sorted(spans)))

    @property
    def opens(self) -> time:
        return self.spans[0][0]

    @property
    def closes(self) -> time:
        return self.spans[-1][1]

    def describe_vi(self) -> str:
        """`Thứ Hai – Thứ Sáu: sáng 7 giờ 30 – 11 giờ 30, chiều 13 giờ 30 – 17 giờ; Thứ Bảy: sáng …`."""
        return describe_hours_vi(((self.weekdays, self.spans), *self.extra))


@dataclass
class WorkingCalendar:
    """Answers "is this a working day" and "what is the appointment date" in the centre's time zone."""

    tz: ZoneInfo
    hours: WorkingHours
    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    _holidays: holidays.HolidayBase = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._holidays = holidays.country_holidays("VN")

    @classmethod
    def create(cls, timezone: str, working_hours: str, overrides_file: Path | None = None) -> WorkingCalendar:
        days_off: set[date] = set()
        working: set[date] = set()
        if overrides_file is not None:
            days_off, working = load_overrides(overrides_file)
        return cls(
            tz=ZoneInfo(timezone),
            hours=WorkingHours.parse(working_hours),
            days_off=frozenset(days_off),
            working_days=frozenset(working),
        )

    def is_holiday(self, day: date) -> bool:
        return day in self._holidays

    def holiday_name(self, day: date) -> str | None:
        name = self._holidays.get(day)
        return str(name) if name else None

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        if day in self.days_off:
            return False
        if day in self._holidays:
            return False
        if day.weekday() in self.hours.weekdays:
            return True
        # A weekend day the government made a working day in exchange for a bridge holiday.
        return day in self._holidays.weekend_workdays

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: date, days: int) -> date:
        """`start` plus `days` working days (`start` itself is day 0)."""
        if days < 0:
            raise ValueError("days must not be negative")
        current = start
        for _ in range(days):
            current = self.next_working_day(current)
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def start_day(self, received_at: datetime) -> date:
        """The day processing starts: the receipt day, or the next working day when received outside hours."""
        local = self.local(received_at)
        day = local.date()
        if self.is_working_day(day) and local.time() < self.hours.closes:
            return day
        return self.next_working_day(day)

    def due_at(self, received_at: datetime, days: int) -> datetime:
        """Appointment time: closing time of the day `days` working days after the start day."""
        due_day = self.add_working_days(self.start_day(received_at), days)
        return datetime.combine(due_day, self.hours.closes, tzinfo=self.tz)

    def end_of_day(self, day: date) -> datetime:
        return datetime.combine(day, self.hours.closes, tzinfo=self.tz)


def load_overrides(path: Path) -> tuple[set[date], set[date]]:
    """Read the centre's extra days off and make-up working days."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CalendarError(f"{path}: cannot read calendar overrides: {exc}") from exc
    if not isinstance(data, dict):
        raise CalendarError(f"{path}: expected a mapping with days_off and working_days")
    unknown = set(data) - {"days_off", "working_days"}
    if unknown:
        raise CalendarError(f"{path}: unknown keys {sorted(unknown)}; expected days_off, working_days")
    return _dates(path, data, "days_off"), _dates(path, data, "working_days")


def _dates(path: Path, data: dict[str, object], key: str) -> set[date]:
    values = data.get(key) or []
    if not isinstance(values, list):
        raise CalendarError(f"{path}: {key} must be a list of dates")
    result: set[date] = set()
    for value in values:
        if isinstance(value, date) and not isinstance(value, datetime):
            result.add(value)
            continue
        try:
            result.add(date.fromisoformat(str(value)))
        except ValueError:
            raise CalendarError(f"{path}: {key}: {value!r} is not a date (YYYY-MM-DD)") from None
    return result


@dataclass(frozen=True)
class QuietHours:
    """No proactive message to a citizen in this local window (e.g. 21:00–07:00); empty = never quiet."""

    start: time | None
    end: time | None

    @classmethod
    def parse(cls, text: str | None) -> QuietHours:
        if not text or not text.strip():
            return cls(None, None)
        try:
            start_s, end_s = (p.strip() for p in text.split("-"))
            return cls(time.fromisoformat(start_s), time.fromisoformat(end_s))
        except ValueError:
            raise CalendarError(f"QUIET_HOURS must look like '21:00-07:00', got {text!r}") from None

    def is_quiet(self, local: datetime) -> bool:
        if self.start is None or self.end is None:
            return False
        now = local.time()
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def next_allowed(self, moment: datetime, tz: ZoneInfo) -> datetime:
        """`moment` itself when allowed, else the end of the quiet window (as an aware datetime)."""
        local = moment.astimezone(tz)
        if not self.is_quiet(local) or self.end is None:
            return moment
        end_day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        return datetime.combine(end_day, self.end, tzinfo=tz)


# The dates the service answers for: the holiday calendar's years (the `holidays` package knows Vietnam's from
# 1901 to about 2100). Every computation on them — UTC/local conversion, a month's end, working days ahead —
# stays far inside `datetime`'s range (years 1–9999), where 0001-01-01 or 9999-12-31 overflow.
EARLIEST_DATE = date(1901, 1, 1)
LATEST_DATE = date(2099, 12, 31)


def in_supported_range(day: date) -> bool:
    """True for a date between EARLIEST_DATE and LATEST_DATE (both included)."""
    return EARLIEST_DATE <= day <= LATEST_DATE
