"""The Vietnamese replies of the FAQ matcher: short, plain text with line breaks, facts only from the data."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from knowledge.models import CentreInfo, Document, Fee, GeneralEntry, Procedure

TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
# The day the question is asked, set by the handler from its clock (`answering_on`); else today in Vietnam.
_ASKED_ON: ContextVar[date | None] = ContextVar("asked_on", default=None)

POLITE_LOCAL = "Mức thu có thể khác theo quy định của tỉnh; Ông/Bà vui lòng xác nhận khi nộp hồ sơ."
POLITE_UNCONFIRMED = "Thông tin này có thể thay đổi; Ông/Bà vui lòng xác nhận với cán bộ khi nộp hồ sơ."

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
MAX_ITEMS = 8
MAX_ITEM_CHARS = 320

MSG_FALLBACK = (
    "Xin lỗi, tôi chưa tìm thấy thông tin phù hợp với câu hỏi của Ông/Bà.\n"
    'Ông/Bà có thể hỏi lại bằng tên thủ tục (ví dụ: "lệ phí lý lịch tư pháp") '
    'hoặc bấm "Gặp cán bộ" để được hỗ trợ.'
)
MSG_NEED_PROCEDURE = (
    'Ông/Bà muốn hỏi {what} của thủ tục nào? Xin gửi kèm tên thủ tục, ví dụ: "{example}".\n'
    'Cần hỗ trợ: bấm "Gặp cán bộ".'
)
MSG_GREETING = (
    "Xin chào Ông/Bà! Tôi là trợ lý tự động của {centre}.\n"
    "Ông/Bà có thể hỏi về thủ tục hành chính (giấy tờ, lệ phí, thời hạn, nơi nộp...), ví dụ: "
    '"làm lý lịch tư pháp cần giấy tờ gì", hoặc gửi mã hồ sơ để tra cứu.'
)
# Added when the centre's own hotline is configured (the sentence is left out otherwise).
MSG_HOTLINE_LINE = "Đường dây nóng của Trung tâm: {hotline} (trong giờ làm việc: {hours})."
MSG_THANKS = "Rất vui được hỗ trợ Ông/Bà. Nếu cần thêm thông tin, Ông/Bà cứ nhắn cho tôi."
MSG_CLARIFY = "Ông/Bà muốn hỏi về thủ tục nào dưới đây? Xin bấm chọn:"
MSG_CLARIFY_ONE = "Có phải Ông/Bà muốn hỏi về thủ tục dưới đây? Xin bấm để xem, hoặc hỏi lại rõ hơn."
MSG_CLARIFY_ASPECT = "Ông/Bà muốn hỏi {what} của thủ tục nào dưới đây? Xin bấm chọn:"
BUTTON_HOTLINE = "Gọi đường dây nóng"
BUTTON_HUMAN = "Gặp cán bộ"

ASPECT_WHAT = {  # what each aspect is called in a sentence ("về lệ phí")
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
_WEEKDAY_NAMES = list(_DAY_NAMES.values())
_DAY_INDEX = {key: index for index, key in enumerate(_DAY_NAMES)}
_HOURS_GROUP = re.compile(
    r"^\s*(mon|tue|wed|thu|fri|sat|sun)(?:\s*-\s*(mon|tue|wed|thu|fri|sat|sun))?\s+"
    r"((?:\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*,?\s*)+)$",
    re.IGNORECASE,
)


def format_money(amount: int) -> str:
    """Vietnamese money: 200000 → "200.000 đồng"."""
    return f"{amount:,}".replace(",", ".") + " đồng"


def format_time_vi(value: time) -> str:
    """07:30 → "7 giờ 30", 17:00 → "17 giờ"."""
    return f"{value.hour} giờ" + (f" {value.minute:02d}" if value.minute else "")


def _part_of_day(start: time) -> str:
    if start.hour < 11:
        return "sáng"
    if start.hour < 13:
        return "trưa"
    if start.hour < 18:
        return "chiều"
    return "tối"


def describe_hours_vi(groups: Iterable[tuple[Collection[int], Sequence[tuple[time, time]]]]) -> str:
    """Days (0 = Monday) and spans in Vietnamese:
    "Thứ Hai – Thứ Sáu: sáng 7 giờ 30 – 11 giờ 30, chiều 13 giờ 30 – 17 giờ; Thứ Bảy: sáng 7 giờ 30 – 11 giờ 30"."""
    parts = []
    for weekdays, spans in groups:
        days = sorted(weekdays)
        if not days or not spans:
            continue
        contiguous = days == list(range(days[0], days[-1] + 1))
        if len(days) == 1:
            day_text = _WEEKDAY_NAMES[days[0]]
        elif contiguous:
            day_text = f"{_WEEKDAY_NAMES[days[0]]} – {_WEEKDAY_NAMES[days[-1]]}"
        else:
            day_text = ", ".join(_WEEKDAY_NAMES[day] for day in days)
        span_text = ", ".join(
            f"{_part_of_day(start)} {format_time_vi(start)} – {format_time_vi(end)}" for start, end in spans
        )
        parts.append(f"{day_text}: {span_text}")
    return "; ".join(parts)


def format_working_hours(value: str) -> str:
    """ "Mon-Fri 07:30-11:30,13:30-17:00; Sat 07:30-11:30" → Vietnamese; other text is kept as it is."""
    groups: list[tuple[list[int], list[tuple[time, time]]]] = []
    for group in value.split(";"):
        match = _HOURS_GROUP.match(group)
        if match is None:
            return value
        first, last, times = match.groups()
        start_day = _DAY_INDEX[first.lower()]
        end_day = _DAY_INDEX[(last or first).lower()]
        days = (
            list(range(start_day, end_day + 1)) if start_day <= end_day else [*range(start_day, 7), *range(end_day + 1)]
        )
        spans = []
        for span in times.split(","):
            if not span.strip():
                continue
            opening, closing = (time.fromisoformat(part.strip().zfill(5)) for part in span.split("-"))
            spans.append((opening, closing))
        groups.append((days, spans))
    return describe_hours_vi(groups)


def asked_day(today: date | None = None) -> date:
    """The day a question is answered for: `today` when given, else the one set by `answering_on`, else
    today in Vietnam."""
    return today or _ASKED_ON.get() or datetime.now(TIMEZONE).date()


@contextmanager
def answering_on(day: date) -> Iterator[None]:
    """Answers rendered inside pick the facts valid on `day` (the handler's clock, a test's fake clock)."""
    token = _ASKED_ON.set(day)
    try:
        yield
    finally:
        _ASKED_ON.reset(token)


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


def _until(valid_until: date | None) -> str:
    return f", áp dụng đến hết ngày {valid_until:%d/%m/%Y}" if valid_until else ""


def _fee_line(fee: Fee, fees_note: str | None) -> str:
    if fee.amount is None:
        explanation = fee.note or fees_note or "mức thu do Hội đồng nhân dân tỉnh quy định"
        return f"{fee.name}{_until(fee.valid_until)}: {explanation}"
    line = f"{fee.name}: " + ("không thu" if fee.amount == 0 else format_money(fee.amount))
    line += _until(fee.valid_until)
    if fee.payer:
        line += f" (người nộp: {fee.payer[0].lower() + fee.payer[1:]})"
    if fee.note:
        line += f". {fee.note}"
    return line


def fee_summary(procedure: Procedure, *, today: date | None = None) -> str:
    """One line on the fee for the overview (never a figure that is not in the data)."""
    fees = procedure.fees_on(asked_day(today))
    if not procedure.fees:
        return "Không thu phí, lệ phí" if not procedure.fees_note else _clip(procedure.fees_note, 120)
    if not fees:
        return "xin Ông/Bà hỏi cán bộ khi nộp hồ sơ"
    if len(fees) == 1 and fees[0].amount is not None:
        return "không thu" if fees[0].amount == 0 else format_money(fees[0].amount)
    amounts = [fee.amount for fee in fees if fee.amount is not None]
    paid = [amount for amount in amounts if amount > 0]
    if paid and len(amounts) == len(fees):
        waived = "; có trường hợp được miễn" if len(paid) < len(amounts) else ""
        return f"từ {format_money(min(paid))}{waived} (xem mục Lệ phí)"
    return "theo quy định, xem mục Lệ phí"


def processing_time_summary(procedure: Procedure) -> str:
    """ "10 ngày làm việc", or the rule when there is no fixed number of days."""
    time_ = procedure.processing_time
    if time_.days is None:
        return _clip(time_.text or "", 160)
    unit = "ngày làm việc" if time_.unit == "working_days" else "ngày"
    return f"{time_.days} {unit}"


class _Facts:
    """What an answer rests on: its bases, the oldest day its facts were verified, and how sure they are."""

    def __init__(self, as_of: date) -> None:
        self.bases: list[str] = []
        self.verified: list[date] = []
        self.as_of = as_of
        self.local = False
        self.unconfirmed = False

    def add(self, basis: str | None, verified: date | None, *, local: bool = False, confirmed: bool = True) -> None:
        for part in (basis or "").split(";"):
            part = part.strip()
            if part and part not in self.bases:
                self.bases.append(part)
        self.verified.append(verified or self.as_of)
        self.local = self.local or local
        self.unconfirmed = self.unconfirmed or not confirmed

    def footer(self, with_basis: bool) -> list[str]:
        lines = []
        if with_basis and self.bases:
            lines.append(_clip("Căn cứ: " + "; ".join(self.bases) + ".", 320))
        if self.local:
            lines.append(POLITE_LOCAL)
        elif self.unconfirmed:
            lines.append(POLITE_UNCONFIRMED)
        day = min(self.verified) if self.verified else self.as_of
        lines.append(f"Thông tin cập nhật ngày {day:%d/%m/%Y}.")
        return lines


def _section(procedure: Procedure, aspect: str, department: str, day: date, facts: _Facts) -> list[str]:
    """The body of one aspect; `facts` collects what it rests on."""
    if aspect == "fee":
        fees = procedure.fees_on(day)
        for fee in fees:
            facts.add(fee.basis, procedure.fee_verified(fee), local=fee.local, confirmed=fee.confirmed)
        if fees:
            lines = ["Phí, lệ phí:", *_bullets(_fee_line(fee, procedure.fees_note) for fee in fees)]
            if procedure.fees_note and not any(procedure.fees_note == (fee.note or "") for fee in fees):
                lines.append(_clip(procedure.fees_note, 300))
        elif procedure.fees:
            lines = ["Phí, lệ phí: xin Ông/Bà hỏi cán bộ khi nộp hồ sơ để biết mức thu hiện hành."]
        else:
            lines = ["Phí, lệ phí: " + (procedure.fees_note or "Không thu phí, lệ phí.")]
        return lines
    if aspect == "documents":
        facts.add(procedure.documents_basis, procedure.list_verified(), confirmed=procedure.documents_confirmed)
        documents = procedure.documents_on(day)
        return ["Hồ sơ cần chuẩn bị:", *_bullets((_document_line(d) for d in documents), numbered=True)]
    if aspect == "processing_time":
        time_ = procedure.processing_time
        facts.add(time_.basis, procedure.time_verified(), local=time_.local, confirmed=time_.confirmed)
        lines = [f"Thời hạn giải quyết: {processing_time_summary(procedure)}."]
        if time_.text and time_.days is not None:
            lines.append(_clip(time_.text, 400))
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
            *_bullets(
                f"{b.document}" + (f" ({b.articles})" if b.articles else "") for b in procedure.legal_basis_on(day)
            ),
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
    # overview: the figures it quotes carry their own doubts
    time_ = procedure.processing_time
    facts.add(None, procedure.time_verified(), local=time_.local, confirmed=time_.confirmed)
    for fee in procedure.fees_on(day):
        facts.add(None, procedure.fee_verified(fee), local=fee.local, confirmed=fee.confirmed)
    lines = [_clip(procedure.summary, 320)]
    lines.append(f"- Thời hạn: {processing_time_summary(procedure)}")
    lines.append(f"- Lệ phí: {fee_summary(procedure, today=day)}")
    lines.append(f"- Nơi nộp: {_clip(procedure.where.submit[0], 160)}")
    lines.append(f"- Trực tuyến: {_ONLINE_LABELS[procedure.online]}")
    lines.append(f"- Cơ quan giải quyết: {department}")
    return lines


# Aspects whose answer ends with the legal basis of its facts in one line.
_BASIS_LINE_ASPECTS = frozenset({"fee", "documents", "processing_time"})


def render_procedure(
    procedure: Procedure, aspect: str, department: str, lead: str | None = None, *, today: date | None = None
) -> str:
    """The reply about one aspect of a procedure: title, the facts valid on the day asked, their basis in one
    line, one polite line where a fact may differ locally or is not fully confirmed, and the date.

    `lead` is the answer of the procedure's FAQ question the citizen asked; it replaces the summary of an
    overview (an aspect's own facts are more exact than any prose about them). Editorial notes (`review`)
    are for officers and never appear here.
    """
    day = asked_day(today)
    facts = _Facts(procedure.as_of)
    lines = [procedure.title]
    body = _section(procedure, aspect, department, day, facts)
    if lead and aspect == "overview":
        body[0] = _clip(lead, 320)
    lines.extend(body)
    lines.extend(facts.footer(with_basis=aspect in _BASIS_LINE_ASPECTS))
    return "\n".join(lines)


def centre_values(centre: CentreInfo) -> dict[str, str]:
    """Values of the placeholders that general entries may use ("" when the centre has not set one)."""
    return {
        "centre_name": centre.name,
        "centre_address": centre.address,
        "centre_hotline": centre.hotline,
        "working_hours": format_working_hours(centre.working_hours),
        "portal_url": centre.portal_url,
        "provincial_hotline": centre.provincial_hotline,
    }


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def fill(text: str, values: dict[str, str]) -> str:
    """The text with the centre's facts filled in; a line that needs a value the centre has not set is left
    out (no placeholder, no empty "Địa chỉ: " ever reaches a citizen)."""
    kept = []
    for line in text.split("\n"):
        names = _PLACEHOLDER.findall(line)
        if any(not values.get(name) for name in names):
            continue
        kept.append(_PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), line))
    return "\n".join(kept)


def render_general(
    entry: GeneralEntry, centre: CentreInfo, lead: str | None = None, *, today: date | None = None
) -> str:
    """A general entry with the centre's own facts filled in, and its dated lines that hold on the day asked."""
    values = centre_values(centre)
    day = asked_day(today)
    answer = "\n".join(
        [entry.answer, *(" ".join(line.text.split()) for line in entry.dated_lines if line.valid_on(day))]
    )
    text = fill(answer, values)
    if lead:
        lead_text = fill(lead, values)
        if lead_text:
            text = lead_text + "\n" + text
    return text


def _with_hotline(text: str, centre: CentreInfo) -> str:
    if not centre.hotline:
        return text
    return (
        text + "\n" + MSG_HOTLINE_LINE.format(hotline=centre.hotline, hours=format_working_hours(centre.working_hours))
    )


def render_fallback(centre: CentreInfo) -> str:
    """The honest "not found" reply with the hotline and hours."""
    return _with_hotline(MSG_FALLBACK, centre)


def render_need_procedure(centre: CentreInfo, aspect: str) -> str:
    """The question asked about an aspect without naming a procedure."""
    text = MSG_NEED_PROCEDURE.format(what=ASPECT_WHAT[aspect], example=_ASPECT_EXAMPLE[aspect])
    return _with_hotline(text, centre)


def render_greeting(centre: CentreInfo, thanks: bool = False) -> str:
    """The welcome (or "you're welcome") reply."""
    if thanks:
        return MSG_THANKS
    return _with_hotline(MSG_GREETING.format(centre=centre.name), centre)


def render_clarify(aspect: str | None, count: int = 2) -> str:
    """The question that goes with the candidate buttons (`count` of them)."""
    if count == 1:
        return MSG_CLARIFY_ONE
    if aspect and aspect != "overview":
        return MSG_CLARIFY_ASPECT.format(what=ASPECT_WHAT[aspect])
    return MSG_CLARIFY


def button_label(title: str, limit: int = 60) -> str:
    """A title shortened for a button."""
    return _clip(title, limit)


__all__ = [
    "ASPECT_LABELS",
    "BUTTON_HOTLINE",
    "BUTTON_HUMAN",
    "POLITE_LOCAL",
    "POLITE_UNCONFIRMED",
    "answering_on",
    "asked_day",
    "button_label",
    "centre_values",
    "describe_hours_vi",
    "fill",
    "format_time_vi",
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
