"""Dossier codes: the pattern, and lookups that accept what people type."""

from __future__ import annotations

from datetime import date

import pytest

from storage.codes import CodePatternError, candidate_keys, code_key, format_code, validate_pattern
from storage.phones import mask_phone, normalise_phone, to_international


def test_default_pattern() -> None:
    assert format_code("{centre}-{yymmdd}-{seq:04d}", centre="TTHCC", day=date(2026, 11, 22), seq=7) == (
        "TTHCC-261122-0007"
    )


def test_pattern_validation() -> None:
    validate_pattern("{centre}/{yyyy}/{seq:06d}")
    with pytest.raises(CodePatternError):
        validate_pattern("{centre}-{yymmdd}")
    with pytest.raises(CodePatternError):
        validate_pattern("{centre}-{weekday}-{seq}")


@pytest.mark.parametrize(
    "typed",
    ["TTHCC-261122-0007", "tthcc 261122 0007", "tthcc261122-0007", " TTHCC.261122.0007 ", "TTHCC–261122–0007"],
)
def test_code_key_accepts_any_spacing(typed: str) -> None:
    assert code_key(typed) == "TTHCC2611220007"


@pytest.mark.parametrize(
    "message",
    [
        "tra cứu HS TTHCC-261122-0007",
        "cho em hỏi hồ sơ tthcc 261122 0007 ạ",
        "Mã hồ sơ: TTHCC-261122-0007.",
    ],
)
def test_codes_found_in_sentences(message: str) -> None:
    assert "TTHCC2611220007" in candidate_keys(message)


def test_national_style_codes_found() -> None:
    assert "0000020H122301010001" in candidate_keys("ma ho so cua em la 000.00.20.H12-230101-0001")


def test_no_code_in_plain_question() -> None:
    assert candidate_keys("làm lý lịch tư pháp cần giấy tờ gì") == []


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("0912 345 678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("912345678", "0912345678"),
        ("0243 123 4567", "02431234567"),
        ("12345", None),
        ("0112345678", None),
    ],
)
def test_phone_normalisation(typed: str, expected: str | None) -> None:
    assert normalise_phone(typed) == expected


def test_phone_international_and_mask() -> None:
    assert to_international("0912345678") == "84912345678"
    assert mask_phone("0912345678") == "091****678"
