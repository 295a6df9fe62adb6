"""The matcher's replies for what `knowledge.render` does not cover: a procedure the knowledge base does not
have, and two procedures compared. Vietnamese, addressed to "Ông/Bà", facts only from the data."""

from __future__ import annotations

from knowledge.models import CentreInfo, Procedure
from knowledge.render import ASPECT_WHAT, fee_summary, format_working_hours, processing_time_summary, render_procedure

MSG_NOT_IN_KB = (
    "Xin lỗi Ông/Bà, cơ sở dữ liệu thủ tục của Trung tâm hiện chưa có thông tin về việc Ông/Bà hỏi, nên tôi "
    "không trả lời thay bằng một thủ tục khác.\n"
    "Các mục gần nhất dưới đây chỉ để Ông/Bà tham khảo (bấm để xem nếu đúng là việc cần làm).\n"
    'Để được hướng dẫn chính xác, xin gọi đường dây nóng {hotline} ({hours}) hoặc bấm "Gặp cán bộ".'
)
MSG_COMPARE = "Hai thủ tục Ông/Bà hỏi, về {what}:"
MSG_COMPARE_TAIL = "Bấm vào từng thủ tục để xem đầy đủ."
COMPARE_WHAT = {**ASPECT_WHAT, "overview": "điểm khác nhau"}
BRIEF_CHARS = 260
BRIEF_LINES = 3


def render_not_in_kb(centre: CentreInfo) -> str:
    """The plain "the knowledge base does not have this" reply, with the hotline and an officer."""
    return MSG_NOT_IN_KB.format(hotline=centre.hotline, hours=format_working_hours(centre.working_hours))


def brief(procedure: Procedure, aspect: str, department: str) -> str:
    """A few lines on one aspect of a procedure, for a side-by-side comparison."""
    if aspect == "fee":
        return fee_summary(procedure)
    if aspect == "processing_time":
        return processing_time_summary(procedure)
    if aspect == "overview":
        text = procedure.summary
    else:
        body = render_procedure(procedure, aspect, department).split("\n")[1:]
        kept = [line for line in body if line.strip() and not line.startswith("(Thông tin cập nhật")]
        text = " ".join(line.strip() for line in kept[:BRIEF_LINES])
    return text if len(text) <= BRIEF_CHARS else text[: BRIEF_CHARS - 1].rstrip() + "…"


def render_comparison(pairs: list[tuple[Procedure, str]], aspect: str) -> str:
    """Procedures side by side on the aspect asked (each with its brief)."""
    lines = [MSG_COMPARE.format(what=COMPARE_WHAT.get(aspect, COMPARE_WHAT["overview"]))]
    lines += [f"• {procedure.title}: {text}" for procedure, text in pairs]
    lines.append(MSG_COMPARE_TAIL)
    return "\n".join(lines)


__all__ = ["brief", "render_comparison", "render_not_in_kb"]
