"""Status transitions follow the life cycle; the national wording is used for display."""

from __future__ import annotations

import pytest

from storage.lifecycle import STATUS_LABELS_VI, TRANSITIONS, can_transition, status_label
from storage.models import DossierStatus


def test_every_status_has_a_label_and_transitions() -> None:
    for status in DossierStatus:
        assert status.value in STATUS_LABELS_VI
        assert status.value in TRANSITIONS


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("received", "in_progress"),
        ("in_progress", "needs_supplement"),
        ("needs_supplement", "in_progress"),
        ("in_progress", "awaiting_payment"),
        ("awaiting_payment", "in_progress"),
        ("in_progress", "result_ready"),
        ("result_ready", "returned"),
        ("in_progress", "rejected"),
        ("received", "withdrawn"),
        ("in_progress", "suspended"),
        ("suspended", "in_progress"),
    ],
)
def test_allowed(current: str, new: str) -> None:
    assert can_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("received", "returned"),
        ("returned", "in_progress"),
        ("rejected", "in_progress"),
        ("withdrawn", "received"),
        ("result_ready", "in_progress"),
        ("needs_supplement", "result_ready"),
        ("in_progress", "received"),
    ],
)
def test_refused(current: str, new: str) -> None:
    assert not can_transition(current, new)


def test_labels() -> None:
    assert status_label("needs_supplement") == "Yêu cầu bổ sung giấy tờ"
    assert status_label("awaiting_payment") == "Yêu cầu thực hiện nghĩa vụ tài chính"
    assert status_label("result_ready", "en") == "Result ready"


def test_the_national_status_list_and_codes() -> None:
    from storage.lifecycle import NATIONAL_STATUSES, national_status_code, status_explained
    from storage.models import DossierStatus

    assert list(NATIONAL_STATUSES) == list(range(1, 11))
    expected = {
        "received": (2, "Được tiếp nhận"),
        "rejected": (3, "Không được tiếp nhận"),
        "in_progress": (4, "Đang xử lý"),
        "needs_supplement": (5, "Yêu cầu bổ sung giấy tờ"),
        "awaiting_payment": (6, "Yêu cầu thực hiện nghĩa vụ tài chính"),
        "withdrawn": (7, "Công dân yêu cầu rút hồ sơ"),
        "suspended": (8, "Dừng xử lý"),
        "result_ready": (9, "Đã xử lý xong"),
        "returned": (10, "Đã trả kết quả"),
    }
    assert {s.value for s in DossierStatus} == set(expected)
    for status, (code, label) in expected.items():
        assert national_status_code(status) == code
        assert status_label(status) == label == NATIONAL_STATUSES[code]
        assert status_explained(status).startswith(label + " (")
    assert national_status_code("nonsense") is None
    assert status_label("received", "en") == "Received"  # the English values and labels stay
