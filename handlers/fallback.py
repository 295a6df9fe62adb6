"""The last handler: whatever nobody else answered gets an honest, polite reply (never silence in private)."""

from __future__ import annotations

from handlers.base import Button, Context, IncomingMessage, Reply
from handlers.greeting import welcome

MSG_MEDIA = (
    "Cảm ơn Ông/Bà đã gửi tệp. Hiện tôi chỉ đọc được tin nhắn chữ; xin Ông/Bà nhắn câu hỏi bằng chữ, "
    "hoặc gửi mã hồ sơ để tra cứu. Giấy tờ của hồ sơ xin nộp tại Trung tâm hoặc trên Cổng Dịch vụ công."
)
MSG_STICKER = (
    "Cảm ơn Ông/Bà! Ông/Bà cần hỏi gì về thủ tục hành chính, xin cứ nhắn cho tôi, ví dụ: “lệ phí cấp hộ chiếu”, "
    "hoặc gửi mã hồ sơ để tra cứu."
)
MSG_LOCATION = "Cảm ơn Ông/Bà đã gửi vị trí. Trung tâm làm việc tại: {address}. Ông/Bà cần hỏi gì, xin cứ nhắn cho tôi."
MSG_CONTACT = "Cảm ơn Ông/Bà đã chia sẻ thông tin liên hệ."
MSG_CONTACT_NOT_OWN = (
    "Xin Ông/Bà chia sẻ số điện thoại của chính mình (nút “Chia sẻ số điện thoại”), không phải của người khác."
)
MSG_UNKNOWN_BUTTON = (
    "Xin lỗi, lựa chọn này không còn hiệu lực. Ông/Bà vui lòng nhắn lại câu hỏi, "
    "hoặc gọi đường dây nóng {hotline} ({hours})."
)
MSG_HUMAN = (
    "Ông/Bà có thể gọi đường dây nóng {hotline} ({hours}) để được cán bộ hỗ trợ trực tiếp, "
    "hoặc đến Trung tâm: {address}."
)
# Without CENTRE_ADDRESS the sentence giving the address is left out.
MSG_LOCATION_NO_ADDRESS = "Cảm ơn Ông/Bà đã gửi vị trí. Ông/Bà cần hỏi gì, xin cứ nhắn cho tôi."
MSG_HUMAN_NO_ADDRESS = "Ông/Bà có thể gọi đường dây nóng {hotline} ({hours}) để được cán bộ hỗ trợ trực tiếp."
MSG_EMPTY = "Ông/Bà cần hỏi gì, xin cứ nhắn cho tôi, ví dụ: “lệ phí cấp hộ chiếu”."


def _values(ctx: Context) -> dict[str, str]:
    return {
        "hotline": ctx.settings.contact_hotline,
        "hours": ctx.calendar.hours.describe_vi(),
        "address": ctx.settings.centre_address.strip(),
    }


async def handle_fallback(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
    """Always answers: quietly in groups and on unfollow, politely everywhere else."""
    if msg.chat_type != "private" or msg.kind == "unfollow":
        return []
    values = _values(ctx)
    if msg.kind == "media":
        return [Reply(text=MSG_MEDIA)]
    if msg.kind == "sticker":
        return [Reply(text=MSG_STICKER)]
    if msg.kind == "location":
        return [Reply(text=(MSG_LOCATION if values["address"] else MSG_LOCATION_NO_ADDRESS).format(**values))]
    if msg.kind == "contact":
        return [Reply(text=MSG_CONTACT if msg.phone else MSG_CONTACT_NOT_OWN)]
    if msg.kind in ("start", "follow"):
        return [welcome(ctx)]  # a deep link nobody recognised still deserves a welcome
    if msg.kind == "button":
        if msg.payload == "menu:human":
            return [Reply(text=(MSG_HUMAN if values["address"] else MSG_HUMAN_NO_ADDRESS).format(**values))]
        return [Reply.with_buttons(MSG_UNKNOWN_BUTTON.format(**values), [Button("Trợ giúp", "menu:help")])]
    return [Reply(text=MSG_EMPTY)]
