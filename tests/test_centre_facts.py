"""The centre's own facts as citizens read them: Vietnamese hours, the centre's hotline apart from the province's
1022 line, and no placeholder when CENTRE_ADDRESS (or CENTRE_HOTLINE) is not set."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.app import centre_info
from bot.settings import Settings
from handlers.cards import DossierFacts, next_step, receipt_text, status_card, status_message
from storage.calendar import WorkingCalendar
from storage.models import Dossier, DossierStatus, ReturnMethod

RECEIVED = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
DUE = datetime(2026, 12, 11, 10, 0, tzinfo=UTC)
PLACEHOLDERS = ("cấu hình", "CENTRE_ADDRESS", "{", "}", "Mon-Fri", "07:30-11:30")


def dossier(status: str = DossierStatus.RESULT_READY) -> Dossier:
    return Dossier(
        code="TTHCC-261204-0001",
        procedure_id="dang-ky-khai-sinh",
        department_id="ubnd-xa",
        applicant_name="Nguyễn Văn An",
        applicant_phone="0912345678",
        status=status,
        channel="direct",
        return_method=ReturnMethod.COUNTER,
        received_at=RECEIVED,
        due_at=DUE,
        original_due_at=DUE,
        fees=0,
        documents=["Tờ khai đăng ký khai sinh"],
    )


def texts(settings: Settings, status: str = DossierStatus.RESULT_READY) -> list[str]:
    calendar = WorkingCalendar.create(settings.timezone, settings.working_hours)
    facts = DossierFacts(dossier(status), "Đăng ký khai sinh", "UBND xã")
    return [
        next_step(facts, "vi", settings, calendar, owner=True),
        receipt_text(facts, "vi", settings, calendar),
        status_message(facts, "vi", settings, calendar),
        status_card(facts, "vi", settings, calendar, owner=True),
    ]


def test_defaults_are_unset_and_warned_about(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    assert settings.centre_address == "" and settings.centre_hotline == ""
    assert settings.provincial_hotline == "1022"
    warnings = settings.startup_warnings()
    assert any(w.startswith("CENTRE_ADDRESS is not set") for w in warnings)
    assert any(w.startswith("CENTRE_HOTLINE is not set") for w in warnings)
    assert make_settings(centre_address="Số 1 Trần Phú", centre_hotline="0237 3 123 456").startup_warnings() == []


def test_the_app_warns_at_start_up(make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture) -> None:
    from bot.app import create_app

    with caplog.at_level("WARNING", logger="bot.app"):
        create_app(make_settings())
    assert "CENTRE_ADDRESS is not set" in caplog.text


def test_no_placeholder_without_an_address(make_settings: Callable[..., Settings]) -> None:
    for status in (DossierStatus.RESULT_READY, DossierStatus.RECEIVED, DossierStatus.NEEDS_SUPPLEMENT):
        for text in texts(make_settings(), status):
            for placeholder in PLACEHOLDERS:
                assert placeholder not in text, (status, text)
    step, receipt, message, _card = texts(make_settings())
    assert "Bộ phận Một cửa nơi Ông/Bà đã nộp hồ sơ" in step
    assert "Tại Bộ phận Một cửa nơi Ông/Bà đã nộp hồ sơ" in receipt
    assert "Thứ Hai – Thứ Sáu: sáng 7 giờ 30 – 11 giờ 30, chiều 13 giờ 30 – 17 giờ" in message
    with_address = texts(make_settings(centre_address="Số 1 Trần Phú"))
    assert "Số 1 Trần Phú" in with_address[0] and "Số 1 Trần Phú" in with_address[1]


def test_the_hotline_given_is_the_centres_else_the_provinces(make_settings: Callable[..., Settings]) -> None:
    assert make_settings().contact_hotline == "1022"
    assert make_settings(centre_hotline="0237 3 123 456").contact_hotline == "0237 3 123 456"
    info = centre_info(make_settings(centre_hotline="0237 3 123 456", provincial_hotline="1900 1022"))
    assert info.hotline == "0237 3 123 456" and info.provincial_hotline == "1900 1022"
    # unset: the knowledge base's answers never call the province's line the centre's own
    bare = centre_info(make_settings())
    assert bare.hotline == "" and bare.provincial_hotline == "1022"


def test_saturday_mornings_are_shown_in_vietnamese(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(working_hours="Mon-Fri 07:30-11:30,13:30-17:00; Sat 07:30-11:30")
    assert centre_info(settings).working_hours == (
        "Thứ Hai – Thứ Sáu: sáng 7 giờ 30 – 11 giờ 30, chiều 13 giờ 30 – 17 giờ; Thứ Bảy: sáng 7 giờ 30 – 11 giờ 30"
    )
    calendar = WorkingCalendar.create(settings.timezone, settings.working_hours)
    saturday = datetime(2026, 12, 5).date()
    assert not calendar.is_working_day(saturday)  # the appointment date still counts Monday–Friday only


def test_the_status_card_explains_the_national_label(make_settings: Callable[..., Settings]) -> None:
    card = texts(make_settings(), DossierStatus.RECEIVED)[3]
    assert "Được tiếp nhận (hồ sơ đã được Bộ phận Một cửa nhận và chuyển đi giải quyết)" in card
