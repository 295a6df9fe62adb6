"""The dossier status life cycle: allowed transitions and the national wording for display."""

from __future__ import annotations

from storage.models import DossierStatus as S

STATUS_LABELS_VI: dict[str, str] = {
    S.RECEIVED: "Đã tiếp nhận",
    S.IN_PROGRESS: "Đang xử lý",
    S.NEEDS_SUPPLEMENT: "Yêu cầu bổ sung giấy tờ",
    S.AWAITING_PAYMENT: "Chờ thực hiện nghĩa vụ tài chính",
    S.RESULT_READY: "Đã có kết quả",
    S.RETURNED: "Đã trả kết quả",
    S.REJECTED: "Từ chối",
    S.WITHDRAWN: "Rút hồ sơ",
    S.SUSPENDED: "Tạm dừng",
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
