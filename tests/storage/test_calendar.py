"""The working-day calendar around Tết 2026, 30/4–1/5, swapped days and the centre's overrides."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from storage.calendar import CalendarError, QuietHours, WorkingCalendar, WorkingHours

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HOURS = "Mon-Fri 07:30-11:30,13:30-17:00"


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar.create("Asia/Ho_Chi_Minh", HOURS)


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def test_tet_2026_is_not_working(cal: WorkingCalendar) -> None:
    # Tết Bính Ngọ: Mon 16/2 – Fri 20/2/2026 are public holidays (with the weekends, 14–22/2 off).
    for day in range(16, 21):
        assert not cal.is_working_day(date(2026, 2, day)), day
    assert cal.is_working_day(date(2026, 2, 13))
    assert cal.is_working_day(date(2026, 2, 23))


def test_due_date_jumps_over_tet(cal: WorkingCalendar) -> None:
    # Received Thu 12/2 morning, 3 working days: Fri 13/2, Mon 23/2, Tue 24/2.
    due = cal.due_at(at(2026, 2, 12), 3)
    assert due == datetime(2026, 2, 24, 17, 0, tzinfo=TZ)


def test_due_date_over_30_4_and_1_5(cal: WorkingCalendar) -> None:
    # 2026: 30/4 Thu and 1/5 Fri are holidays. Received Wed 29/4, 2 days → Mon 4/5, Tue 5/5.
    assert cal.due_at(at(2026, 4, 29), 2) == datetime(2026, 5, 5, 17, 0, tzinfo=TZ)
    # Hùng Kings' day falls on Sunday 26/4/2026 and is observed on Monday 27/4.
    assert not cal.is_working_day(date(2026, 4, 27))


def test_received_after_hours_counts_from_next_working_day(cal: WorkingCalendar) -> None:
    # Friday 17:30 → processing starts Monday; 1 working day → Tuesday.
    assert cal.start_day(at(2026, 3, 6, 17, 30)) == date(2026, 3, 9)
    assert cal.due_at(at(2026, 3, 6, 17, 30), 1) == datetime(2026, 3, 10, 17, 0, tzinfo=TZ)
    # Same Friday at 16:59 starts that day; 1 working day → Monday.
    assert cal.due_at(at(2026, 3, 6, 16, 59), 1) == datetime(2026, 3, 9, 17, 0, tzinfo=TZ)
    # Received on Saturday counts from Monday.
    assert cal.start_day(at(2026, 3, 7, 9)) == date(2026, 3, 9)


def test_zero_days_is_same_day(cal: WorkingCalendar) -> None:
    assert cal.due_at(at(2026, 3, 9, 9), 0) == datetime(2026, 3, 9, 17, 0, tzinfo=TZ)


def test_swapped_saturday_is_a_working_day(cal: WorkingCalendar) -> None:
    # The government swapped Saturday 22/8/2026 to make Monday 31/8 a day off before National Day.
    assert cal.is_working_day(date(2026, 8, 22))
    assert not cal.is_working_day(date(2026, 8, 31))


def test_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text("days_off: [2026-03-10]\nworking_days: [2026-03-14]\n", encoding="utf-8")
    cal = WorkingCalendar.create("Asia/Ho_Chi_Minh", HOURS, path)
    assert not cal.is_working_day(date(2026, 3, 10))
    assert cal.is_working_day(date(2026, 3, 14))  # a Saturday made a working day
    # Mon 9/3 + 3: (Tue 10 off) Wed 11, Thu 12, Fri 13.
    assert cal.due_at(at(2026, 3, 9), 3) == datetime(2026, 3, 13, 17, 0, tzinfo=TZ)
    # Thu 12/3 + 2: Fri 13, Sat 14 (make-up working day).
    assert cal.due_at(at(2026, 3, 12), 2) == datetime(2026, 3, 14, 17, 0, tzinfo=TZ)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("days_off: [not-a-date]\n", "not a date"),
        ("holidays: []\n", "unknown keys"),
        ("- 2026-01-01\n", "expected a mapping"),
    ],
)
def test_bad_overrides_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CalendarError, match=message):
        WorkingCalendar.create("Asia/Ho_Chi_Minh", HOURS, path)


def test_working_hours_parse_and_describe() -> None:
    hours = WorkingHours.parse(HOURS)
    assert hours.weekdays == frozenset(range(5))
    assert hours.describe_vi() == "Thứ Hai – Thứ Sáu: sáng 7 giờ 30 – 11 giờ 30, chiều 13 giờ 30 – 17 giờ"
    # a Saturday-morning reception is shown, but Saturday stays outside the working days
    saturday = WorkingHours.parse(HOURS + "; Sat 07:30-11:30")
    assert saturday.weekdays == frozenset(range(5))
    assert saturday.describe_vi().endswith("; Thứ Bảy: sáng 7 giờ 30 – 11 giờ 30")
    with pytest.raises(CalendarError):
        WorkingHours.parse("weekdays 8-5")
    with pytest.raises(CalendarError):
        WorkingHours.parse("Mon-Fri 17:00-07:00")


def test_working_days_between(cal: WorkingCalendar) -> None:
    assert cal.working_days_between(date(2026, 2, 12), date(2026, 2, 24)) == 3
    assert cal.working_days_between(date(2026, 2, 24), date(2026, 2, 12)) == -3


def test_quiet_hours() -> None:
    quiet = QuietHours.parse("21:00-07:00")
    assert quiet.is_quiet(at(2026, 3, 9, 22))
    assert quiet.is_quiet(at(2026, 3, 9, 6, 59))
    assert not quiet.is_quiet(at(2026, 3, 9, 7))
    assert quiet.next_allowed(at(2026, 3, 9, 22), TZ) == at(2026, 3, 10, 7)
    assert quiet.next_allowed(at(2026, 3, 9, 12), TZ) == at(2026, 3, 9, 12)
    assert not QuietHours.parse("").is_quiet(at(2026, 3, 9, 23))
