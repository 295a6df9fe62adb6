"""Aspect detection from cue words, with and without diacritics."""

from __future__ import annotations

import pytest

from knowledge import ASPECTS
from knowledge.aspects import choose_aspect, find_cues
from knowledge.normalize import normalize


def aspect_of(question: str) -> str:
    normalized = normalize(question)
    return choose_aspect(find_cues(normalized.accented, normalized.folded))


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("lệ phí làm hộ chiếu bao nhiêu", "fee"),
        ("le phi lam ho chieu bao nhieu", "fee"),
        ("làm lý lịch tư pháp hết bao nhiêu tiền", "fee"),
        ("lam lai cccd ton bn", "fee"),
        ("dang ky ket hon co mat phi khong", "fee"),
        ("đăng ký kết hôn cần những giấy tờ gì", "documents"),
        ("lam giay khai sinh can gi", "documents"),
        ("đi làm căn cước cần mang theo gì", "documents"),
        ("làm hộ chiếu mất bao lâu", "processing_time"),
        ("doi bang lai mat may ngay", "processing_time"),
        ("thời gian cấp lý lịch tư pháp", "processing_time"),
        ("cấp lại giấy phép lái xe như thế nào", "steps"),
        ("gplx bi mat thi cap lai ntn", "steps"),
        ("quy trình xin giấy phép xây dựng", "steps"),
        ("đăng ký khai sinh ở đâu", "where"),
        ("cccd lam o dau", "where"),
        ("nộp hồ sơ hộ chiếu tại đâu", "where"),
        ("điều kiện kết hôn là gì", "conditions"),
        ("dieu kien dang ky ket hon", "conditions"),
        ("bao nhiêu tuổi thì được kết hôn", "conditions"),
        ("căn cứ pháp lý cấp hộ chiếu", "legal_basis"),
        ("cấp hộ chiếu theo luật nào", "legal_basis"),
        ("nghi dinh nao quy dinh ve ho chieu", "legal_basis"),
        ("mẫu đơn xin giấy phép xây dựng", "forms"),
        ("to khai ly lich tu phap", "forms"),
        ("tải form đăng ký kết hôn", "forms"),
        ("thủ tục đăng ký kết hôn", "overview"),
        ("lý lịch tư pháp", "overview"),
    ],
)
def test_aspect_from_cue_words(question: str, aspect: str) -> None:
    assert aspect_of(question) == aspect


def test_every_aspect_is_reachable() -> None:
    assert set(ASPECTS) == {
        "fee",
        "documents",
        "processing_time",
        "steps",
        "where",
        "conditions",
        "legal_basis",
        "forms",
        "overview",
    }


def test_where_cue_needs_diacritics_when_it_is_ambiguous() -> None:
    # "đầu" (first) is not "đâu" (where): "lần đầu" must not read as a where question
    assert aspect_of("cấp giấy chứng nhận lần đầu") == "overview"
    assert aspect_of("cap giay chung nhan lan dau") == "overview"
    assert aspect_of("nộp hồ sơ đâu vậy") == "where"


def test_strongest_cue_wins_over_a_weak_one() -> None:
    # "mất bao nhiêu" leans to the fee, but "bao nhiêu ngày" is clearly about time
    assert aspect_of("làm hộ chiếu mất bao nhiêu ngày") == "processing_time"
    # "bị mất" (lost) is not a time cue
    assert aspect_of("bằng lái bị mất thì làm sao") == "steps"


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        # yes/no questions ask whether one must or may: conditions, when nothing stronger is asked
        ("năm nay 25 tuổi có phải đổi căn cước không", "conditions"),
        ("làm căn cước cho bé 5 tuổi được không", "conditions"),
        ("xây nhà 3 tầng có cần xin phép xây dựng không", "conditions"),
        ("doi sang the can cuoc co bat buoc ko", "conditions"),
        ("lệ phí cấp lại bằng lái có đóng online được không", "fee"),
        ("có cần mang giấy tờ gì không", "documents"),
        # "cần <something> gì" asks what to bring
        ("xin gpxd nha o can ban ve gi", "documents"),
        # asking where a form is asks for the form
        ("tờ khai đăng ký kết hôn tải ở đâu", "forms"),
        ("mẫu CT01 đăng ký thường trú tải ở đâu", "forms"),
        ("mau giay de nghi dang ky doanh nghiep", "forms"),
        # what it is, how two differ: the overview
        ("tách hộ là gì", "overview"),
        ("ly lich tu phap so 1 va so 2 khac nhau ntn", "overview"),
    ],
)
def test_yes_no_form_and_overview_cues(question: str, aspect: str) -> None:
    assert aspect_of(question) == aspect


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("mở công ty cổ phần cần tối thiểu mấy người", "conditions"),
        ("tam ngung kd phai bao truoc bao nhieu ngay", "conditions"),
        ("ky quy lu hanh noi dia bao nhieu tien", "conditions"),
        ("tạm ngừng kinh doanh mất bao nhiêu ngày", "processing_time"),
    ],
)
def test_named_requirements_are_conditions(question: str, aspect: str) -> None:
    # a minimum, a notice period or a deposit is a requirement, even when asked "how much / how long"
    assert aspect_of(question) == aspect
