"""The report paragraph the way centres publish it: Vietnamese, with Vietnamese number formatting.

"Tổng số lượng hồ sơ tiếp nhận: 5.399 hồ sơ. Trong đó: ... đạt tỷ lệ 99,76%" — thousands separated by a
dot, decimals by a comma. All user-facing wording of the report lives in this module.
"""

from __future__ import annotations

import unicodedata

from storage.reports import Counts, Summary, percent

CHANNEL_LABELS_VI = {
    "direct": "trực tiếp",
    "online": "trực tuyến",
    "postal": "qua dịch vụ bưu chính công ích",
}
LEVEL_LABELS_VI = {
    "very_satisfied": "Rất hài lòng",
    "satisfied": "Hài lòng",
    "not_satisfied": "Không hài lòng",
}


def vi_int(value: int) -> str:
    """12345 → "12.345"."""
    sign = "-" if value < 0 else ""
    return sign + f"{abs(value):,}".replace(",", ".")


def vi_number(value: float, decimals: int = 2) -> str:
    """99.76 → "99,76"; 81.4 → "81,4"; 100.0 → "100" (trailing zeros dropped, as centres write)."""
    text = f"{value:,.{decimals}f}"
    whole, _, fraction = text.partition(".")
    whole = whole.replace(",", ".")
    fraction = fraction.rstrip("0")
    return f"{whole},{fraction}" if fraction else whole


def vi_percent(value: float | None) -> str:
    """A rate as "99,76%", or "—" when there is nothing to divide by."""
    return "—" if value is None else f"{vi_number(value)}%"


def dossiers(value: int) -> str:
    return f"{vi_int(value)} hồ sơ"


def _channels(counts: Counts) -> str:
    parts = []
    for key, label in CHANNEL_LABELS_VI.items():
        n = getattr(counts, key)
        share = percent(n, counts.new)
        parts.append(f"{label}: {dossiers(n)}" + (f" (tỷ lệ {vi_percent(share)})" if share is not None else ""))
    return "; ".join(parts)


def _resolved_lines(counts: Counts) -> list[str]:
    lines = [f"- Số lượng hồ sơ đã xử lý và trả kết quả: {dossiers(counts.resolved)}."]
    punctual = counts.early + counts.on_time
    line = (
        f"- Số hồ sơ trả đúng và sớm hẹn: {dossiers(punctual)} "
        f"(trước hạn: {dossiers(counts.early)}; đúng hạn: {dossiers(counts.on_time)})"
    )
    rate = counts.on_time_rate
    lines.append(line + (f", đạt tỷ lệ {vi_percent(rate)}." if rate is not None else "."))
    lines.append(f"- Số hồ sơ trễ hạn: {dossiers(counts.late)}.")
    return lines


def _satisfaction(counts: Counts) -> str:
    if counts.ratings == 0:
        return "Đánh giá mức độ hài lòng: chưa có lượt đánh giá trong kỳ."
    return (
        f"Đánh giá mức độ hài lòng: {vi_int(counts.ratings)} lượt đánh giá, trong đó "
        f"{LEVEL_LABELS_VI['very_satisfied'].lower()}: {vi_int(counts.very_satisfied)}, "
        f"{LEVEL_LABELS_VI['satisfied'].lower()}: {vi_int(counts.satisfied)}, "
        f"{LEVEL_LABELS_VI['not_satisfied'].lower()}: {vi_int(counts.not_satisfied)}; "
        f"tỷ lệ hài lòng đạt {vi_percent(counts.satisfaction_rate)}."
    )


def _department_sentence(name: str, counts: Counts) -> str:
    text = (
        f"- {name} đã tiếp nhận {dossiers(counts.received)} "
        f"(kỳ trước chuyển sang {vi_int(counts.carried_over)}, mới {vi_int(counts.new)}), trong đó: "
        f"đã xử lý {dossiers(counts.resolved)}; trả đúng hạn {dossiers(counts.early + counts.on_time)}; "
        f"trễ hẹn {dossiers(counts.late)}"
    )
    if counts.on_time_rate is not None:
        text += f"; đạt tỷ lệ đúng hạn {vi_percent(counts.on_time_rate)}"
    text += f". Đang giải quyết {dossiers(counts.in_progress)} (quá hạn {vi_int(counts.overdue)})."
    return text


def report_text(summary: Summary, *, centre_name: str) -> str:
    """The whole report as plain text (NFC), ready to paste into a published report."""
    counts = summary.totals
    who = centre_name
    if summary.department_id is not None:
        who = f"{summary.department_name or summary.department_id} (tại {centre_name})"
    lines = [
        "KẾT QUẢ TIẾP NHẬN VÀ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
        f"{who}, {summary.period.label_vi()}.",
        "",
        f"Tổng số lượng hồ sơ tiếp nhận: {dossiers(counts.received)} "
        f"(kỳ trước chuyển sang: {dossiers(counts.carried_over)}; tiếp nhận mới trong kỳ: {dossiers(counts.new)}). "
        "Trong đó:",
        f"- Hồ sơ tiếp nhận mới theo kênh: {_channels(counts)}.",
        *_resolved_lines(counts),
        f"- Số hồ sơ đang giải quyết: {dossiers(counts.in_progress)} (trong đó quá hạn: {dossiers(counts.overdue)}).",
        f"- Số hồ sơ trả kết quả qua dịch vụ bưu chính công ích: {dossiers(counts.returned_by_post)}.",
        "",
        _satisfaction(counts),
    ]
    if summary.department_id is None and summary.departments:
        lines += ["", "Kết quả theo cơ quan giải quyết:"]
        lines += [_department_sentence(d.name, d.counts) for d in summary.departments]
    if summary.top_procedures:
        lines += ["", "Thủ tục hành chính có nhiều hồ sơ tiếp nhận nhất trong kỳ:"]
        lines += [f"- {p.title}: {dossiers(p.received)}." for p in summary.top_procedures[:5]]
    return unicodedata.normalize("NFC", "\n".join(lines) + "\n")


__all__ = ["report_text", "vi_int", "vi_number", "vi_percent"]
