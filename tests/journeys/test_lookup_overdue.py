"""Looking up a dossier past its appointment: it says it is late, apologises, gives the new date if any."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from handlers.messages import WEEKDAYS
from tests.journeys.conftest import TZ, Journey, texts


def vi_date(moment: object) -> str:
    local = moment.astimezone(TZ)  # type: ignore[attr-defined]
    return f"{WEEKDAYS['vi'][local.weekday()]}, {local:%d/%m/%Y}"


async def test_an_overdue_dossier_says_it_is_late_and_apologises(journey: Journey) -> None:
    """It said "Ông/Bà chưa cần làm gì thêm" beside an appointment date already past."""
    dossier = await journey.new_dossier()
    await journey.change(dossier, status="in_progress")
    journey.clock.now = dossier.due_at.astimezone(TZ).replace(hour=23)  # the appointment day is over
    journey.clock.advance(days=2)
    text = texts(await journey.say(dossier.code))
    assert "chưa cần làm gì thêm" not in text
    assert f"đã quá ngày hẹn trả kết quả ({vi_date(dossier.due_at)})" in text
    assert "thành thật xin lỗi Ông/Bà" in text
    assert unicodedata.is_normalized("NFC", text)


async def test_a_postponed_dossier_gives_the_new_date(journey: Journey) -> None:
    dossier = await journey.new_dossier()
    original = dossier.due_at
    journey.clock.now = original.astimezone(TZ).replace(hour=23)
    journey.clock.advance(days=1)
    new_due = original + timedelta(days=10)
    await journey.change(dossier, new_due_at=new_due, extra={"reason": "Chờ xác minh"})
    text = texts(await journey.say(dossier.code))
    assert f"trễ so với ngày hẹn ban đầu ({vi_date(original)})" in text
    assert f"ngày hẹn trả kết quả mới là {vi_date(new_due)}" in text
    assert "xin lỗi" in text and "chưa cần làm gì thêm" not in text


async def test_a_dossier_within_its_appointment_needs_nothing(journey: Journey) -> None:
    dossier = await journey.new_dossier()
    text = texts(await journey.say(dossier.code))
    assert "chưa cần làm gì thêm" in text and "xin lỗi" not in text
