"""The Vietnamese report paragraph and number formatting, modelled on the reports centres publish."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from bot.report_text import report_text, vi_int, vi_number, vi_percent
from storage.reports import Counts, DepartmentFigures, Period, Summary

CENTRE = "Trung tâm Phục vụ hành chính công tỉnh"


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (7, "7"), (999, "999"), (5399, "5.399"), (40899, "40.899"), (1234567, "1.234.567"), (-1200, "-1.200")],
)
def test_thousands_are_separated_by_dots(value: int, text: str) -> None:
    assert vi_int(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(99.76, "99,76%"), (81.4, "81,4%"), (13.81, "13,81%"), (100.0, "100%"), (0.0, "0%"), (None, "—")],
)
def test_percentages_use_a_decimal_comma(value: float | None, text: str) -> None:
    assert vi_percent(value) == text


def test_large_decimal_numbers() -> None:
    assert vi_number(12345.5) == "12.345,5"


def test_the_september_2020_figures_of_a_seed_report() -> None:
    """Bình Thuận, September 2020: 5.399 received, 5.027 resolved, 5.005 on time or early, 22 late."""
    totals = Counts(new=5399, direct=5399, resolved=5027, early=4000, on_time=1005, late=22, in_progress=372)
    finance = Counts(new=422, direct=422, resolved=423, on_time=422, late=1)
    summary = Summary(
        period=Period(date(2020, 9, 1), date(2020, 9, 30)),
        department_id=None,
        totals=totals,
        departments=[DepartmentFigures("so-tai-chinh", "Sở Tài chính", finance)],
    )
    text = report_text(summary, centre_name=CENTRE)
    assert "Tổng số lượng hồ sơ tiếp nhận: 5.399 hồ sơ" in text
    assert "- Số lượng hồ sơ đã xử lý và trả kết quả: 5.027 hồ sơ." in text
    assert "- Số hồ sơ trả đúng và sớm hẹn: 5.005 hồ sơ (trước hạn: 4.000 hồ sơ; đúng hạn: 1.005 hồ sơ)" in text
    assert "đạt tỷ lệ 99,56%." in text  # 5005 / 5027
    assert "- Số hồ sơ trễ hạn: 22 hồ sơ." in text
    assert "Sở Tài chính đã tiếp nhận 422 hồ sơ" in text
    assert "trễ hẹn 1 hồ sơ; đạt tỷ lệ đúng hạn 99,76%." in text  # 422 / 423, as the seed says
    assert "chưa có lượt đánh giá trong kỳ" in text


def test_one_department_in_full() -> None:
    counts = Counts(
        carried_over=1,
        new=3,
        direct=2,
        postal=1,
        resolved=2,
        on_time=1,
        late=1,
        in_progress=2,
        overdue=1,
        satisfied=1,
    )
    summary = Summary(
        period=Period(date(2025, 9, 1), date(2025, 9, 30)),
        department_id="so-tu-phap",
        totals=counts,
        departments=[DepartmentFigures("so-tu-phap", "Sở Tư pháp", counts)],
    )
    assert report_text(summary, centre_name=CENTRE) == (
        "KẾT QUẢ TIẾP NHẬN VÀ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH\n"
        "Sở Tư pháp (tại Trung tâm Phục vụ hành chính công tỉnh), từ ngày 01/09/2025 đến ngày 30/09/2025.\n"
        "\n"
        "Tổng số lượng hồ sơ tiếp nhận: 4 hồ sơ (kỳ trước chuyển sang: 1 hồ sơ; tiếp nhận mới trong kỳ: 3 hồ sơ). "
        "Trong đó:\n"
        "- Hồ sơ tiếp nhận mới theo kênh: trực tiếp: 2 hồ sơ (tỷ lệ 66,67%); trực tuyến: 0 hồ sơ (tỷ lệ 0%); "
        "qua dịch vụ bưu chính công ích: 1 hồ sơ (tỷ lệ 33,33%).\n"
        "- Số lượng hồ sơ đã xử lý và trả kết quả: 2 hồ sơ.\n"
        "- Số hồ sơ trả đúng và sớm hẹn: 1 hồ sơ (trước hạn: 0 hồ sơ; đúng hạn: 1 hồ sơ), đạt tỷ lệ 50%.\n"
        "- Số hồ sơ trễ hạn: 1 hồ sơ.\n"
        "- Số hồ sơ đang giải quyết: 2 hồ sơ (trong đó quá hạn: 1 hồ sơ).\n"
        "- Số hồ sơ trả kết quả qua dịch vụ bưu chính công ích: 0 hồ sơ.\n"
        "\n"
        "Đánh giá mức độ hài lòng: 1 lượt đánh giá, trong đó rất hài lòng: 0, hài lòng: 1, không hài lòng: 0; "
        "tỷ lệ hài lòng đạt 100%.\n"
    )


def test_nothing_resolved_has_no_rate_and_text_is_nfc() -> None:
    summary = Summary(period=Period(date(2025, 1, 1), date(2025, 1, 31)), department_id=None, totals=Counts())
    text = report_text(summary, centre_name=CENTRE)
    assert "Số hồ sơ trả đúng và sớm hẹn: 0 hồ sơ (trước hạn: 0 hồ sơ; đúng hạn: 0 hồ sơ)." in text
    assert "đạt tỷ lệ" not in text
    assert unicodedata.is_normalized("NFC", text)
