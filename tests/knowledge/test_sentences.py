"""Reading a message: its sentences, which of them ask, and whether it is English."""

from __future__ import annotations

import pytest

from knowledge.aspects import is_asking
from knowledge.normalize import asks_for_english, from_english, is_english, normalize, split_sentences


def test_sentences_split_after_question_marks_and_full_stops_not_inside_numbers() -> None:
    text = "Em mua xe cũ giá 1.000.000 đồng ở TP.HCM. Không có hồ sơ gốc.Thủ tục thế nào?em cảm ơn"
    assert split_sentences(text) == [
        "Em mua xe cũ giá 1.000.000 đồng ở TP.HCM.",
        "Không có hồ sơ gốc.Thủ tục thế nào?",
        "em cảm ơn",
    ]
    assert split_sentences("dòng một\ndòng hai") == ["dòng một", "dòng hai"]


@pytest.mark.parametrize(
    ("sentence", "asks"),
    [
        ("Làm hộ chiếu mất bao lâu", True),
        ("lam ho chieu o dau", True),
        ("Tôi có được cấp lại không ạ", True),
        ("Hồ sơ gồm những gì?", True),
        ("Tôi đã chuẩn bị đủ giấy tờ, hồ sơ từ tuần trước.", False),
        ("Em tôi không có bất cứ loại giấy tờ nào cả.", False),
        ("Tôi không có thời gian đến trực tiếp.", False),
    ],
)
def test_which_sentences_ask(sentence: str, asks: bool) -> None:
    normalized = normalize(sentence)
    assert is_asking(sentence, normalized.accented, normalized.folded) is asks


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("How much is the passport fee?", True),
        ("how do I register a birth", True),
        ("Do you speak English", True),
        ("lam ho chieu o dau", False),  # Vietnamese without diacritics
        ("passport online", False),  # loanwords citizens type in Vietnamese
        ("gplx bi mat thi cap lai nhu the nao", False),
        ("xyz TTHCC-261123-9900 abc", False),  # a code in chatter
        ("lệ phí hộ chiếu", False),
    ],
)
def test_english_is_told_from_vietnamese_typed_without_diacritics(text: str, english: bool) -> None:
    assert is_english(text) is english


def test_an_english_question_reads_as_the_vietnamese_words_the_matcher_knows() -> None:
    assert from_english("How much is the passport fee?") == "bao nhiêu tiền hộ chiếu lệ phí"
    assert from_english("where do I get a birth certificate") == "ở đâu khai sinh"
    assert from_english("hello there") == ""


@pytest.mark.parametrize(
    ("text", "asks"),
    [("English please", True), ("Can you speak English?", True), ("tiếng Anh", True), ("English visa fee", False)],
)
def test_a_request_for_english(text: str, asks: bool) -> None:
    assert asks_for_english(text) is asks
