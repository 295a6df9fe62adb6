"""Every aspect of every procedure (every file in the directory, whoever wrote it) and every general entry,
rendered as a citizen reads it on several days: no editorial note, placeholder, "{...}", English hours string
or "chưa kiểm chứng" / "mục chưa chắc chắn" ever reaches them."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import pytest

from knowledge import CentreInfo, load_knowledge_base
from knowledge.aspects import ASPECTS
from knowledge.loader import KnowledgeBase
from knowledge.render import render_fallback, render_general, render_greeting, render_need_procedure, render_procedure

DAYS = (date(2026, 12, 4), date(2027, 3, 1), date(2027, 12, 31))
FORBIDDEN = (
    "chưa kiểm chứng",
    "chưa chắc chắn",
    "chưa được kiểm chứng",
    "chưa đối chiếu",
    "chưa được đối chiếu",
    "bản đọc thứ cấp",
    "nguồn thứ cấp",
    "xem lưu ý",
    "(sec.)",
    "cấu hình",
    "CENTRE_",
    "WORKING_HOURS",
    "TODO",
    "Lưu ý (",
)
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
# "Mon-Fri", "Sat 07:30", "07:30-11:30" ("Thu nhận" is Vietnamese, not Thursday)
ENGLISH_HOURS = re.compile(rf"\b{_DAY}\s*-\s*{_DAY}\b|\b{_DAY}\s+\d|\d{{1,2}}:\d{{2}}\s*[-–]\s*\d{{1,2}}:\d{{2}}")
CENTRES = (
    CentreInfo(
        name="Trung tâm Phục vụ hành chính công tỉnh Thử Nghiệm",
        address="Số 1 Trần Phú",
        hotline="0237 3 123 456",
        working_hours="Mon-Fri 07:30-11:30,13:30-17:00; Sat 07:30-11:30",
    ),
    CentreInfo(address="", hotline=""),  # nothing configured: the sentences are left out
)


@pytest.fixture(scope="module")
def bundled() -> KnowledgeBase:
    return load_knowledge_base()


def assert_fit_for_citizens(text: str, where: str, notes: list[str] = ()) -> None:  # type: ignore[assignment]
    assert text.strip(), where
    assert unicodedata.is_normalized("NFC", text), where
    assert "{" not in text and "}" not in text, f"{where}: placeholder in {text!r}"
    lowered = text.lower()
    for word in FORBIDDEN:
        assert word.lower() not in lowered, f"{where}: {word!r} in {text!r}"
    assert not ENGLISH_HOURS.search(text), f"{where}: English hours in {text!r}"
    for note in notes:
        assert note[:60] not in text, f"{where}: the editorial note {note[:60]!r} reached the citizen"
    assert not re.search(r"Địa chỉ:\s*$|(?<!hiện )\btại\s*[.,]|:\s*\.", text, re.MULTILINE), (
        f"{where}: empty value in {text!r}"
    )


def test_every_aspect_of_every_procedure_is_fit_for_citizens(bundled: KnowledgeBase) -> None:
    assert len(bundled.procedures) >= 72
    for procedure in bundled.procedures:
        department = bundled.department_name(procedure.department)
        for day in DAYS:
            for aspect in ASPECTS:
                text = render_procedure(procedure, aspect, department, today=day)
                assert_fit_for_citizens(text, f"{procedure.id}/{aspect}/{day}", procedure.review)
                assert re.search(r"Thông tin cập nhật ngày \d{2}/\d{2}/\d{4}\.$", text), procedure.id
            for index, item in enumerate(procedure.faq):
                text = render_procedure(procedure, "overview", department, item.a, today=day)
                assert_fit_for_citizens(text, f"{procedure.id}/faq.{index}/{day}", procedure.review)


def test_every_general_entry_and_fixed_reply_is_fit_for_citizens(bundled: KnowledgeBase) -> None:
    for centre in CENTRES:
        for entry in bundled.general:
            assert_fit_for_citizens(render_general(entry, centre), f"general/{entry.id}")
            for index, item in enumerate(entry.faq):
                text = render_general(entry, centre, item.a)
                assert_fit_for_citizens(text, f"general/{entry.id}/faq.{index}")
        assert_fit_for_citizens(render_fallback(centre), "fallback")
        assert_fit_for_citizens(render_greeting(centre), "greeting")
        for aspect in ASPECTS:
            assert_fit_for_citizens(render_need_procedure(centre, aspect), f"need_procedure/{aspect}")


def test_an_unset_address_or_hotline_leaves_the_sentence_out(bundled: KnowledgeBase) -> None:
    bare = CENTRES[1]
    address = render_general(bundled.general_entry("dia-chi-trung-tam"), bare)  # type: ignore[arg-type]
    assert "Địa chỉ" not in address
    assert "Thứ Hai – Thứ Sáu: sáng 7 giờ 30 – 11 giờ 30, chiều 13 giờ 30 – 17 giờ" in address
    hotline = render_general(bundled.general_entry("duong-day-nong"), bare)  # type: ignore[arg-type]
    assert "1022" in hotline  # the province's line is still given, as the province's
    assert "Trung tâm: " not in hotline
    full = render_general(bundled.general_entry("duong-day-nong"), CENTRES[0])  # type: ignore[arg-type]
    assert "0237 3 123 456" in full and "1022" in full
    hours = render_general(bundled.general_entry("gio-lam-viec"), CENTRES[0])  # type: ignore[arg-type]
    assert "Thứ Bảy: sáng 7 giờ 30 – 11 giờ 30" in hours
