"""The dossier status life cycle: allowed transitions and the national wording for display."""

from __future__ import annotations

from storage.models import DossierStatus as S

# The national public-service portal's status list (Cổng Dịch vụ công quốc gia, codes 1–10), as one-stop
# software exchanges it. Code 1 (an online filing not yet accepted) has no status of ours: a dossier enters
# this service when it is received.
NATIONAL_STATUSES: dict[int, str] = {
    1: "Mới đăng ký",
    2: "Được tiếp nhận",
    3: "Không được tiếp nhận",
    4: "Đang xử lý",
    5: "Yêu cầu bổ sung giấy tờ",
    6: "Yêu cầu thực hiện nghĩa vụ tài chính",
    7: "Công dân yêu cầu rút hồ sơ",
    8: "Dừng xử lý",
    9: "Đã xử lý xong",
    10: "Đã trả kết quả",
}

NATIONAL_STATUS_CODES: dict[str, int] = {
    S.RECEIVED: 2,
    S.REJECTED: 3,
    S.IN_PROGRESS: 4,
    S.NEEDS_SUPPLEMENT: 5,
    S.AWAITING_PAYMENT: 6,
    S.WITHDRAWN: 7,
    S.SUSPENDED: 8,
    S.RESULT_READY: 9,
    S.RETURNED: 10,
}

# People see the national wording.
STATUS_LABELS_VI: dict[str, str] = {status: NATIONAL_STATUSES[code] for status, code in NATIONAL_STATUS_CODES.items()}

# Plain words next to the label, for messages to citizens.
STATUS_EXPLANATIONS_VI: dict[str, str] = {
    S.RECEIVED: "hồ sơ đã được Bộ phận Một cửa nhận và chuyển đi giải quyết",
    S.REJECTED: "hồ sơ không đủ điều kiện để tiếp nhận giải quyết",
    S.IN_PROGRESS: "cơ quan có thẩm quyền đang giải quyết hồ sơ",
    S.NEEDS_SUPPLEMENT: "Ông/Bà cần nộp thêm hoặc hoàn thiện giấy tờ",
    S.AWAITING_PAYMENT: "Ông/Bà cần nộp phí, lệ phí hoặc thuế để hồ sơ được tiếp tục giải quyết",
    S.WITHDRAWN: "hồ sơ đã được rút theo đề nghị của Ông/Bà",
    S.SUSPENDED: "việc giải quyết hồ sơ tạm dừng",
    S.RESULT_READY: "hồ sơ đã có kết quả, chờ trả cho Ông/Bà",
    S.RETURNED: "kết quả đã được trả cho Ông/Bà",
}

STATUS_LABELS_EN: dict[str, str] = {
    S.RECEIVED: "Received",
    S.IN_PROGRESS: "In progress",
    S.NEEDS_SUPPLEMENT: "Supplementary documents required",
    S.AWAITING_PAYMENT: "Awaiting payment of fees/taxes",
    S.RESULT_READY: "Result ready",
    S.RETURNED: "Result returned",
    S.REJECTED: "Rejected",
    S.WITHDRAWN: "Withdrawn",
    S.SUSPENDED: "Suspended",
}

TRANSITIONS: dict[str, frozenset[str]] = {
    S.RECEIVED: frozenset(
        {
            S.IN_PROGRESS,
            S.NEEDS_SUPPLEMENT,
            S.AWAITING_PAYMENT,
            S.RESULT_READY,
            S.REJECTED,
            S.WITHDRAWN,
            S.SUSPENDED,
        }
    ),
    S.IN_PROGRESS: frozenset(
        {S.NEEDS_SUPPLEMENT, S.AWAITING_PAYMENT, S.RESULT_READY, S.REJECTED, S.WITHDRAWN, S.SUSPENDED}
    ),
    S.NEEDS_SUPPLEMENT: frozenset({S.IN_PROGRESS, S.REJECTED, S.WITHDRAWN, S.SUSPENDED}),
    S.AWAITING_PAYMENT: frozenset({S.IN_PROGRESS, S.RESULT_READY, S.REJECTED, S.WITHDRAWN, S.SUSPENDED}),
    S.SUSPENDED: frozenset({S.IN_PROGRESS, S.REJECTED, S.WITHDRAWN}),
    S.RESULT_READY: frozenset({S.RETURNED}),
    S.RETURNED: frozenset(),
    S.REJECTED: frozenset(),
    S.WITHDRAWN: frozenset(),
}

# Statuses in which the centre has finished its work on the dossier (for reports: "resolved").
RESOLVED_STATUSES = frozenset({S.RESULT_READY, S.RETURNED, S.REJECTED})
# Statuses that end the life cycle: no postponement, no reminders.
FINAL_STATUSES = frozenset({S.RETURNED, S.REJECTED, S.WITHDRAWN})
OPEN_STATUSES = frozenset(s.value for s in S) - RESOLVED_STATUSES - {S.WITHDRAWN}


def can_transition(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, frozenset())


def status_label(status: str, language: str = "vi") -> str:
    labels = STATUS_LABELS_EN if language == "en" else STATUS_LABELS_VI
    return labels.get(status, status)


def national_status_code(status: str) -> int | None:
    """The status's code in the national portal's list (1–10), or None for a value we do not know."""
    return NATIONAL_STATUS_CODES.get(status)


def status_explained(status: str, language: str = "vi") -> str:
    """The label with plain words next to it: "Được tiếp nhận (hồ sơ đã được Bộ phận Một cửa nhận ...)"."""
    label = status_label(status, language)
    explanation = STATUS_EXPLANATIONS_VI.get(status) if language != "en" else None
    return f"{label} ({explanation})" if explanation else label
