"""Greeting, help and the main menu: `/start` without a deep-link parameter, `/help`, a new follower."""

from __future__ import annotations

from handlers.base import Button, Context, IncomingMessage, Reply

# Words that ask for help or the menu (compared after lower-casing and trimming).
HELP_WORDS = frozenset(
    {"/help", "/menu", "help", "menu", "giúp", "trợ giúp", "hướng dẫn", "huong dan", "tro giup", "giup"}
)

MSG_WELCOME = (
    "Xin chào Ông/Bà! Tôi là trợ lý tự động của {centre}.\n"
    "Tôi có thể giúp Ông/Bà:\n"
    "• Tìm hiểu thủ tục hành chính: giấy tờ cần nộp, lệ phí, thời hạn, nơi nộp...\n"
    "• Tra cứu tình trạng hồ sơ: gửi mã hồ sơ in trên giấy biên nhận.\n"
    'Ông/Bà cứ nhắn câu hỏi, ví dụ: "làm lý lịch tư pháp cần giấy tờ gì".\n'
    "Đường dây nóng: {hotline}."
)
MSG_HELP = (
    "Cách hỏi trợ lý của {centre}:\n"
    '• Hỏi về thủ tục: "lệ phí cấp hộ chiếu", "đăng ký khai sinh ở đâu", "đổi bằng lái xe mất bao lâu".\n'
    "• Tra cứu hồ sơ: gửi mã hồ sơ in trên giấy biên nhận.\n"
    '• Gặp cán bộ: nhắn "gặp cán bộ".\n'
    "Đường dây nóng: {hotline}. Bấm một nút dưới đây để xem nhanh:"
)

# `/start@<bot>` in a group: the bot answers questions about dossiers in private chats only.
MSG_GROUP_START = (
    "Xin chào! Tôi là trợ lý tự động của {centre}. Để hỏi về thủ tục hoặc tra cứu hồ sơ, "
    "xin Ông/Bà nhắn riêng cho tôi tại {link} — thông tin hồ sơ không được gửi vào nhóm."
)

MENU_BUTTONS = [
    Button("Giờ làm việc", "kb:gio-lam-viec:overview"),
    Button("Địa chỉ Trung tâm", "kb:dia-chi-trung-tam:overview"),
    Button("Nộp hồ sơ trực tuyến", "kb:nop-ho-so-truc-tuyen:overview"),
    Button("Tra cứu hồ sơ", "kb:tra-cuu-ho-so:overview"),
]


def welcome(ctx: Context) -> Reply:
    """The first message a new chat reads."""
    text = MSG_WELCOME.format(centre=ctx.settings.centre_name, hotline=ctx.settings.contact_hotline)
    return Reply.with_buttons(text, MENU_BUTTONS)


def help_reply(ctx: Context) -> Reply:
    text = MSG_HELP.format(centre=ctx.settings.centre_name, hotline=ctx.settings.contact_hotline)
    return Reply.with_buttons(text, MENU_BUTTONS)


async def handle_greeting(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
    """`/start` (no parameter) and a new follower get the welcome; `/help` and "menu" get the help."""
    if msg.chat_type != "private":
        if msg.kind == "start" and msg.channel == "telegram":
            link = f"https://t.me/{ctx.settings.telegram_bot_username.lstrip('@')}"
            return [Reply(text=MSG_GROUP_START.format(centre=ctx.settings.centre_name, link=link))]
        return None
    if msg.kind in ("start", "follow") and not msg.start_param:
        return [welcome(ctx)]
    if msg.kind == "button" and msg.payload in ("menu:main", "menu:help"):
        return [help_reply(ctx)]
    if msg.kind == "text":
        word = msg.text.strip().lower()
        if word.startswith("/") and "@" in word:  # "/help@motcua_bot" in a group-style command
            word = word.split("@", 1)[0]
        if word in HELP_WORDS:
            return [help_reply(ctx)]
    return None
