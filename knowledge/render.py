"""The Vietnamese replies of the FAQ matcher: short, plain text with line breaks, facts only from the data."""

from __future__ import annotations

import re
from collections.abc import Iterable

from knowledge.models import CentreInfo, Document, Fee, GeneralEntry, Procedure

ASPECT_LABELS: dict[str, str] = {
    "overview": "Tổng quan",
    "fee": "Lệ phí",
    "documents": "Giấy tờ cần nộp",
    "processing_time": "Thời hạn",
    "steps": "Các bước",
    "where": "Nơi nộp",
    "conditions": "Điều kiện",
    "legal_basis": "Căn cứ pháp lý",
    "forms": "Mẫu đơn",
}

_KIND_LABELS = {
    "original": "bản chính",
    "copy": "bản sao",
    "certified_copy": "bản sao có chứng thực",
    "either": "bản chính hoặc bản sao",
    "electronic": "bản điện tử",
}
_ONLINE_LABELS = {
    "full": "Có, trực tuyến toàn trình",
    "partial": "Một phần (nộp trực tuyến, có bước phải đến trực tiếp)",
    "none": "Chưa hỗ trợ, nộp trực tiếp hoặc qua bưu điện",
}
# Words that tie an "uncertain" note to an aspect, so each answer shows the doubts that concern it.
_UNCERTAIN_WORDS: dict[str, tuple[str, ...]] = {
    "fee": ("phí", "mức thu", "đồng"),
    "documents": ("giấy tờ", "hồ sơ", "bản sao", "thành phần"),
    "processing_time": ("ngày làm việc", "thời hạn", "thời gian giải quyết"),
    "steps": ("trình tự", "bước", "quy trình"),
    "where": ("nơi", "tiếp nhận", "địa chỉ", "quầy", "bưu", "cấp xã", "cấp huyện", "trực tuyến"),
    "conditions": ("điều kiện", "đối tượng"),
    "legal_basis": ("luật", "nghị định", "thông tư", "quyết định", "văn bản", "số hiệu"),
    "forms": ("mẫu", "tờ khai"),
}

MAX_ITEMS = 8
MAX_ITEM_CHARS = 240

MSG_FALLBACK = (
    "Xin lỗi, tôi chưa tìm thấy thông tin phù hợp với câu hỏi của Ông/Bà.\n"
    'Ông/Bà có thể hỏi lại bằng tên thủ tục (ví dụ: "lệ phí lý lịch tư pháp"), '
    'gọi đường dây nóng {hotline} ({hours}) hoặc bấm "Gặp cán bộ" để được hỗ trợ.'
)
MSG_NEED_PROCEDURE = (
    'Ông/Bà muốn hỏi {what} của thủ tục nào? Xin gửi kèm tên thủ tục, ví dụ: "{example}".\n'
    'Cần hỗ trợ: gọi {hotline} ({hours}) hoặc bấm "Gặp cán bộ".'
)
MSG_GREETING = (
    "Xin chào Ông/Bà! Tôi là trợ lý tự động của {centre}.\n"
    "Ông/Bà có thể hỏi về thủ tục hành chính (giấy tờ, lệ phí, thời hạn, nơi nộp...), ví dụ: "
    '"làm lý lịch tư pháp cần giấy tờ gì", hoặc gửi mã hồ sơ để tra cứu.\n'
    "Đường dây nóng: {hotline} ({hours})."
)
MSG_THANKS = "Rất vui được hỗ trợ Ông/Bà. Nếu cần thêm thông tin, Ông/Bà cứ nhắn cho tôi."
MSG_CLARIFY = "Ông/Bà muốn hỏi về thủ tục nào dưới đây? Xin bấm chọn:"
MSG_CLARIFY_ONE = "Có phải Ông/Bà muốn hỏi về thủ tục dưới đây? Xin bấm để xem, hoặc hỏi lại rõ hơn."
MSG_CLARIFY_ASPECT = "Ông/Bà muốn hỏi {what} của thủ tục nào dưới đây? Xin bấm chọn:"
BUTTON_HOTLINE = "Gọi đường dây nóng"
BUTTON_HUMAN = "Gặp cán bộ"

_ASPECT_WHAT = {
    "fee": "lệ phí",
    "documents": "giấy tờ cần nộp",
    "processing_time": "thời hạn giải quyết",
    "steps": "các bước thực hiện",
    "where": "nơi nộp hồ sơ",
    "conditions": "điều kiện",
    "legal_basis": "căn cứ pháp lý",
    "forms": "mẫu đơn, tờ khai",
    "overview": "thông tin",
}
_ASPECT_EXAMPLE = {
    "fee": "lệ phí cấp hộ chiếu",
    "documents": "đăng ký kết hôn cần giấy tờ gì",
    "processing_time": "làm lý lịch tư pháp mất bao lâu",
    "steps": "cấp lại giấy phép lái xe như thế nào",
    "where": "đăng ký khai sinh ở đâu",
    "conditions": "điều kiện đăng ký kết hôn",
    "legal_basis": "căn cứ pháp lý cấp hộ chiếu",
    "forms": "mẫu tờ khai lý lịch tư pháp",
    "overview": "thủ tục đăng ký hộ kinh doanh",
}

_DAY_NAMES = {
    "mon": "Thứ Hai",
    "tue": "Thứ Ba",
    "wed": "Thứ Tư",
    "thu": "Thứ Năm",
    "fri": "Thứ Sáu",
    "sat": "Thứ Bảy",
    "sun": "Chủ nhật",
}
_HOURS_GROUP = re.compile(
    r"^\s*(mon|tue|wed|thu|fri|sat|sun)(?:\s*-\s*(mon|tue|wed|thu|fri|sat|sun))?\s+"
    r"((?:\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*,?\s*)+)$",
    re.IGNORECASE,
)


def format_money(amount: int) -> str:
    """Vietnamese money: 200000 → "200.000 đồng"."""
    return f"{amount:,}".replace(",", ".") + " đồng"


def format_working_hours(value: str) -> str:
    """ "Mon-Fri 07:30-11:30,13:30-17:00; Sat 07:30-11:30" → Vietnamese; other text is kept as it is."""
    parts = []
    for group in value.split(";"):
        match = _HOURS_GROUP.match(group)
        if match is None:
            return value
        first, last, times = match.groups()
        days = _DAY_NAMES[first.lower()]
        if last:
            days += f" đến {_DAY_NAMES[last.lower()]}"
        spans = [span.replace(" ", "").replace("-", "–") for span in times.split(",") if span.strip()]
        parts.append(f"{days}: {' và '.join(spans)}")
    return "; ".join(parts)


def _clip(text: str, limit: int = MAX_ITEM_CHARS) -> str:
    """At most `limit` characters: whole sentences when the first one fits, else whole words and "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    sentences = re.split(r"(?<=[.;!?])\s+", text)
    kept = ""
    for sentence in sentences:
        candidate = f"{kept} {sentence}".strip()
        if len(candidate) > limit:
            break
        kept = candidate
    if kept:
        kept = kept.rstrip(",;:")
        return kept if kept.endswith((".", "!", "?")) else kept + "…"
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _bullets(items: Iterable[str], numbered: bool = False, limit: int = MAX_ITEMS) -> list[str]:
    items = list(items)
    lines = [
        f"{index}. {_clip(item)}" if numbered else f"- {_clip(item)}" for index, item in enumerate(items[:limit], 1)
    ]
    if len(items) > limit:
        lines.append(f"(và {len(items) - limit} mục khác, xin hỏi cán bộ để biết đầy đủ)")
    return lines


def _document_line(document: Document) -> str:
    parts = []
    if document.copies:
        parts.append(f"{document.copies:02d} " + _KIND_LABELS.get(document.kind or "", "bản"))
    elif document.kind:
        parts.append(_KIND_LABELS[document.kind])
    line = document.name + (f" ({', '.join(parts)})" if parts else "")
    if document.note:
        line += f". {document.note}"
    return line


def _fee_line(fee: Fee, fees_note: str | None) -> str:
    if fee.amount is None:
        explanation = fee.note or fees_note or "mức thu do Hội đồng nhân dân tỉnh quy định"
        return f"{fee.name}: {explanation}"
    line = f"{fee.name}: {format_money(fee.amount)}"
    if fee.payer:
        line += f" (người nộp: {fee.payer[0].lower() + fee.payer[1:]})"
    if fee.note:
        line += f". {fee.note}"
    return line


def fee_summary(procedure: Procedure) -> str:
    """One line on the fee for the overview (never a figure that is not in the data)."""
    if not procedure.fees:
        return "Không thu phí, lệ phí" if not procedure.fees_note else _clip(procedure.fees_note, 120)
    if len(procedure.fees) == 1 and procedure.fees[0].amount is not None:
        return format_money(procedure.fees[0].amount)
    amounts = [fee.amount for fee in procedure.fees if fee.amount is not None]
    if amounts and len(amounts) == len(procedure.fees):
        return f"từ {format_money(min(amounts))} (xem mục Lệ phí)"
    return "theo quy định, xem mục Lệ phí"


def processing_time_summary(procedure: Procedure) -> str:
    """ "10 ngày làm việc", or the rule when there is no fixed number of days."""
    time = procedure.processing_time
    if time.days is None:
        return _clip(time.text or "", 160)
    unit = "ngày làm việc" if time.unit == "working_days" else "ngày"
    return f"{time.days} {unit}"


def _uncertain_lines(procedure: Procedure, aspect: str) -> list[str]:
    words = _UNCERTAIN_WORDS.get(aspect, ())
    notes = [note for note in procedure.uncertain if any(word in note.lower() for word in words)]
    return [f"Lưu ý (chưa kiểm chứng): {_clip(note, 200)}" for note in notes[:2]]


def _section(procedure: Procedure, aspect: str, department: str) -> list[str]:
    """The body of one aspect."""
    if aspect == "fee":
        if procedure.fees:
            lines = ["Phí, lệ phí:", *_bullets(_fee_line(fee, procedure.fees_note) for fee in procedure.fees)]
            if procedure.fees_note and any(fee.amount is not None for fee in procedure.fees):
                lines.append(_clip(procedure.fees_note, 300))
        else:
            lines = ["Phí, lệ phí: " + (procedure.fees_note or "Không thu phí, lệ phí.")]
        return lines
    if aspect == "documents":
        return ["Hồ sơ cần chuẩn bị:", *_bullets((_document_line(d) for d in procedure.documents), numbered=True)]
    if aspect == "processing_time":
        time = procedure.processing_time
        lines = [f"Thời hạn giải quyết: {processing_time_summary(procedure)}."]
        if time.text and time.days is not None:
            lines.append(_clip(time.text, 400))
        return lines
    if aspect == "steps":
        return ["Các bước thực hiện:", *_bullets(procedure.steps, numbered=True)]
    if aspect == "where":
        where = procedure.where
        lines = ["Nơi nộp hồ sơ:", *_bullets(where.submit, limit=4)]
        if where.receive:
            lines += ["Nơi nhận kết quả:", *_bullets(where.receive, limit=3)]
        lines.append(f"Nộp trực tuyến: {_ONLINE_LABELS[procedure.online]}.")
        if where.online:
            lines.append(f"Trực tuyến tại: {_clip(where.online, 200)}")
        if where.postal:
            lines.append("Có thể gửi hồ sơ, nhận kết quả qua bưu điện (bưu chính công ích).")
        lines.append(f"Cơ quan giải quyết: {department}.")
        return lines
    if aspect == "conditions":
        if procedure.conditions:
            return ["Điều kiện:", *_bullets(procedure.conditions)]
        return ["Thủ tục này không có điều kiện riêng được công bố; chỉ cần hồ sơ đầy đủ, hợp lệ."]
    if aspect == "legal_basis":
        return [
            "Căn cứ pháp lý:",
            *_bullets(f"{b.document}" + (f" ({b.articles})" if b.articles else "") for b in procedure.legal_basis),
        ]
    if aspect == "forms":
        if procedure.forms:
            return [
                "Mẫu đơn, tờ khai:",
                *_bullets(
                    f.name + (f" ({f.code})" if f.code else "") + (f": {f.url}" if f.url else "")
                    for f in procedure.forms
                ),
                "Mẫu có sẵn tại nơi nộp hồ sơ và trên Cổng Dịch vụ công.",
            ]
        return ["Thủ tục này không có mẫu đơn, tờ khai riêng được công bố."]
    # overview
    lines = [_clip(procedure.summary, 320)]
    lines.append(f"- Thời hạn: {processing_time_summary(procedure)}")
    lines.append(f"- Lệ phí: {fee_summary(procedure)}")
    lines.append(f"- Nơi nộp: {_clip(procedure.where.submit[0], 160)}")
    lines.append(f"- Trực tuyến: {_ONLINE_LABELS[procedure.online]}")
    lines.append(f"- Cơ quan giải quyết: {department}")
    return lines


def render_procedure(procedure: Procedure, aspect: str, department: str, lead: str | None = None) -> str:
    """The reply about one aspect of a procedure: title, body, doubts, date.

    `lead` is the answer of the procedure's FAQ question the citizen asked; it replaces the summary of an
    overview (an aspect's own facts are more exact than any prose about them).
    """
    lines = [procedure.title]
    body = _section(procedure, aspect, department)
    if lead and aspect == "overview":
        body[0] = _clip(lead, 320)
    lines.extend(body)
    lines.extend(_uncertain_lines(procedure, aspect))
    lines.append(f"(Thông tin cập nhật ngày {procedure.as_of:%d/%m/%Y})")
    return "\n".join(lines)


def centre_values(centre: CentreInfo) -> dict[str, str]:
    """Values of the placeholders that general entries may use."""
    return {
        "centre_name": centre.name,
        "centre_address": centre.address or "(xin gọi đường dây nóng để được hướng dẫn)",
        "centre_hotline": centre.hotline,
        "working_hours": format_working_hours(centre.working_hours),
        "portal_url": centre.portal_url,
    }


def render_general(entry: GeneralEntry, centre: CentreInfo, lead: str | None = None) -> str:
    """A general entry with the centre's own facts filled in."""
    values = centre_values(centre)
    text = entry.answer.format_map(values)
    if lead:
        text = lead.format_map(values) + "\n" + text
    return text


def render_fallback(centre: CentreInfo) -> str:
    """The honest "not found" reply with the hotline and hours."""
    return MSG_FALLBACK.format(hotline=centre.hotline, hours=format_working_hours(centre.working_hours))


def render_need_procedure(centre: CentreInfo, aspect: str) -> str:
    """The question asked about an aspect without naming a procedure."""
    return MSG_NEED_PROCEDURE.format(
        what=_ASPECT_WHAT[aspect],
        example=_ASPECT_EXAMPLE[aspect],
        hotline=centre.hotline,
        hours=format_working_hours(centre.working_hours),
    )


def render_greeting(centre: CentreInfo, thanks: bool = False) -> str:
    """The welcome (or "you're welcome") reply."""
    if thanks:
        return MSG_THANKS
    return MSG_GREETING.format(
        centre=centre.name, hotline=centre.hotline, hours=format_working_hours(centre.working_hours)
    )


def render_clarify(aspect: str | None, count: int = 2) -> str:
    """The question that goes with the candidate buttons (`count` of them)."""
    if count == 1:
        return MSG_CLARIFY_ONE
    if aspect and aspect != "overview":
        return MSG_CLARIFY_ASPECT.format(what=_ASPECT_WHAT[aspect])
    return MSG_CLARIFY


def button_label(title: str, limit: int = 60) -> str:
    """A title shortened for a button."""
    return _clip(title, limit)


__all__ = [
    "ASPECT_LABELS",
    "BUTTON_HOTLINE",
    "BUTTON_HUMAN",
    "button_label",
    "centre_values",
    "fee_summary",
    "format_money",
    "format_working_hours",
    "processing_time_summary",
    "render_clarify",
    "render_fallback",
    "render_general",
    "render_greeting",
    "render_need_procedure",
    "render_procedure",
]
