"""The printable paper receipt: "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" (the one-stop-shop form), as PDF.

The national heading, the dossier's particulars, the documents received, the appointment, and a QR code with
a short link that subscribes the citizen's Telegram or Zalo chat to the dossier. DejaVu Serif is embedded
(bot/fonts, licence in LICENSE.md) so Vietnamese diacritics print everywhere. `render_receipt` is pure
and CPU-bound: call it in an executor.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import qrcode
from aiohttp import web
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keys
from bot.settings import Settings
from storage.subscriptions import live_token, rotate_token

log = logging.getLogger(__name__)

FONTS_DIR = Path(__file__).parent / "fonts"
REGULAR, BOLD, ITALIC = "DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSerif-Italic"
LINK_PADDING = 2.5 * mm
CHANNEL_NAMES = {"direct": "Trực tiếp", "online": "Trực tuyến", "postal": "Qua dịch vụ bưu chính công ích"}


@dataclass(frozen=True)
class SubscribeLink:
    """A link (and its QR code) that subscribes a chat to the dossier."""

    platform: str  # "Telegram" | "Zalo"
    url: str


@dataclass(frozen=True)
class ReceiptData:
    """Everything printed on the receipt, prepared from the store (times aware)."""

    code: str
    applicant_name: str
    applicant_phone: str | None
    applicant_id_number: str | None
    procedure: str
    department: str
    processing_days: int | None
    channel: str
    return_method: str
    received_at: datetime
    due_at: datetime
    fees: int | None
    documents: list[str]
    links: list[SubscribeLink] = field(default_factory=list)
    links_expire_at: datetime | None = None


def subscribe_links(settings: Settings, token: str) -> dict[str, str]:
    """The deep links for a token: Telegram `/start <token>`; Zalo OA with the token as reference.

    The Zalo form comes from ZALO_SUBSCRIBE_LINK_TEMPLATE (default `https://zalo.me/{oa_id}?ref={token}`): check
    it against the OA's documentation, the follow event must carry the reference back to the webhook.
    """
    links = {"telegram": f"https://t.me/{settings.telegram_bot_username}?start={token}"}
    if settings.zalo_oa_id:
        links["zalo"] = settings.zalo_subscribe_link_template.format(
            oa_id=quote(settings.zalo_oa_id, safe=""), token=token
        )
    return links


TOKEN_KEY = web.AppKey("subscribe_token_key", bytes)


def setup_token_key(app: web.Application) -> None:
    """The key subscribe tokens are derived from: SUBSCRIBE_TOKEN_SECRET, else SESSION_SECRET, else random.

    With a random key (no secret set) a token can be shown again only by the process that issued it: every
    replica must share a secret, or each would issue its own tokens.
    """
    if TOKEN_KEY in app:
        return
    settings = app[keys.SETTINGS]
    secret = settings.subscribe_token_secret or settings.session_secret
    if secret is not None:
        app[TOKEN_KEY] = b"subscribe-token:" + secret.get_secret_value().encode("utf-8")
    else:
        app[TOKEN_KEY] = secrets.token_bytes(32)
        log.info("subscribe tokens: SUBSCRIBE_TOKEN_SECRET/SESSION_SECRET not set; using a per-process key")


async def dossier_links(
    app: web.Application, session: AsyncSession, dossier_id: int, *, now: datetime, rotate: bool = False
) -> tuple[dict[str, str], datetime]:
    """The dossier's subscribe links (its live token, or a new one that revokes the old when `rotate`) and
    when they expire."""
    settings = app[keys.SETTINGS]
    ttl = timedelta(days=settings.subscribe_token_ttl_days)
    make = rotate_token if rotate else live_token
    token, expires_at = await make(session, dossier_id, now=now, ttl=ttl, key=app[TOKEN_KEY])
    return subscribe_links(settings, token), expires_at


_BREAK = re.compile(r"(?<=[/_])|(?=\?)|(?<==)|(?=&)")


def link_lines(url: str, width: float, font: str, size: float) -> list[str]:
    """The link as printed under its QR code: without the scheme, broken only after `/`, `_` or `=` and before
    `?` or `&` so that no line is wider than `width` points and the token (none of those) is never split."""
    text = re.sub(r"^https?://", "", url)
    pieces = [p for p in _BREAK.split(text) if p]
    lines: list[str] = []
    for piece in pieces:
        if lines and stringWidth(lines[-1] + piece, font, size) <= width:
            lines[-1] += piece
        else:
            lines.append(piece)
    return lines


@lru_cache(maxsize=1)
def register_fonts() -> None:
    """Register the bundled DejaVu Serif faces with reportlab (once per process)."""
    for name, filename in (
        (REGULAR, "DejaVuSerif.ttf"),
        (BOLD, "DejaVuSerif-Bold.ttf"),
        (ITALIC, "DejaVuSerif-Italic.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, str(FONTS_DIR / filename)))
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=ITALIC, boldItalic=BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=REGULAR, fontSize=11, leading=14.6, alignment=TA_JUSTIFY)
    return {
        "base": base,
        "head": ParagraphStyle("head", parent=base, fontName=BOLD, fontSize=10.5, leading=14, alignment=TA_CENTER),
        "head_regular": ParagraphStyle("head_regular", parent=base, fontSize=10.5, leading=14, alignment=TA_CENTER),
        "date": ParagraphStyle("date", parent=base, fontName=ITALIC, fontSize=11, alignment=TA_CENTER),
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=14, leading=19, alignment=TA_CENTER),
        "centre": ParagraphStyle("centre", parent=base, alignment=TA_CENTER),
        "cell": ParagraphStyle("cell", parent=base, fontSize=10.5, leading=13),
        "cell_centre": ParagraphStyle("cell_centre", parent=base, fontSize=10.5, leading=13, alignment=TA_CENTER),
        "small": ParagraphStyle("small", parent=base, fontSize=9.5, leading=12.2, alignment=TA_LEFT),
        "tiny_centre": ParagraphStyle("tiny_centre", parent=base, fontSize=7.5, leading=9, alignment=TA_CENTER),
        "small_centre": ParagraphStyle("small_centre", parent=base, fontSize=9, leading=11.5, alignment=TA_CENTER),
        "sign": ParagraphStyle("sign", parent=base, fontName=BOLD, fontSize=11, alignment=TA_CENTER),
        "sign_note": ParagraphStyle("sign_note", parent=base, fontName=ITALIC, fontSize=10, alignment=TA_CENTER),
    }


class Rule(Flowable):
    """A short centred line under a heading (as on official documents)."""

    def __init__(self, width: float) -> None:
        super().__init__()
        self.rule_width = width
        self.width, self.height = width, 3

    def draw(self) -> None:
        self.canv.setLineWidth(0.7)
        self.canv.line(0, 1.5, self.rule_width, 1.5)


def _qr_png(url: str) -> bytes:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    qr.add_data(url)
    qr.make(fit=True)
    image = qr.make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _time_vi(moment: datetime, tz: Any) -> str:
    local = moment.astimezone(tz)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d/%m/%Y}"


def _money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đồng"


def render_receipt(data: ReceiptData, settings: Settings, tz: Any, printed_at: datetime) -> bytes:
    """The receipt as a one- or two-page A4 PDF (dated the day received, not `printed_at`)."""
    register_fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=18 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Giấy tiếp nhận hồ sơ và hẹn trả kết quả {data.code}",
        author=settings.centre_name,
        subject="Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
        # Start the canvas on the embedded font: no text is drawn in Helvetica (reportlab still lists it).
        initialFontName=REGULAR,
    )
    doc.build(receipt_story(data, settings, tz, doc.width))
    return buffer.getvalue()


def receipt_story(data: ReceiptData, settings: Settings, tz: Any, width: float) -> list[Flowable]:
    """The receipt's flowables, for a frame `width` points wide."""
    register_fonts()
    st = _styles()
    # The form is dated the day the dossier was received, whenever it is (re)printed.
    local_received = data.received_at.astimezone(tz)
    place = f"{escape(settings.centre_place)}, ngày" if settings.centre_place else "Ngày"
    left_head = [
        Paragraph(escape(settings.centre_authority.upper()), st["head_regular"]),
        Paragraph(escape(settings.centre_name.upper()), st["head"]),
        Spacer(1, 2),
        Rule(30 * mm),
        Spacer(1, 3),
        Paragraph(f"Số: {escape(data.code)}", st["head_regular"]),
    ]
    right_head = [
        Paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", st["head"]),
        Paragraph("Độc lập - Tự do - Hạnh phúc", st["head"]),
        Spacer(1, 2),
        Rule(45 * mm),
        Spacer(1, 3),
        Paragraph(
            f"{place} {local_received:%d} tháng {local_received:%m} năm {local_received:%Y}",
            st["date"],
        ),
    ]
    heading = Table([[left_head, right_head]], colWidths=[width * 0.41, width * 0.59])
    heading.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    # Centre the short rules inside their cells.
    for cell in (left_head, right_head):
        for flowable in cell:
            flowable.hAlign = "CENTER"

    story: list[Flowable] = [heading, Spacer(1, 6 * mm)]
    story.append(Paragraph("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", st["title"]))
    story.append(Paragraph(f"Mã hồ sơ: <b>{escape(data.code)}</b>", st["centre"]))
    story.append(Spacer(1, 4 * mm))

    def line(label: str, value: str) -> None:
        story.append(Paragraph(f"{label}: {value}", st["base"]))

    story.append(Paragraph(f"{escape(settings.centre_name)} tiếp nhận hồ sơ của:", st["base"]))
    line("Ông/Bà", f"<b>{escape(data.applicant_name)}</b>")
    if data.applicant_id_number:
        line("Số định danh cá nhân/CCCD", escape(data.applicant_id_number))
    if data.applicant_phone:
        line("Số điện thoại", escape(data.applicant_phone))
    line("Nội dung yêu cầu giải quyết", f"<b>{escape(data.procedure)}</b>")
    line("Cơ quan giải quyết", escape(data.department))
    line("Hình thức tiếp nhận", escape(CHANNEL_NAMES.get(data.channel, data.channel)))
    story.append(Spacer(1, 2 * mm))
    story.append(Paragraph("1. Thành phần hồ sơ nộp gồm:", st["base"]))
    rows: list[list[Any]] = [
        [Paragraph("<b>STT</b>", st["cell_centre"]), Paragraph("<b>Tên giấy tờ</b>", st["cell"])],
    ]
    documents = data.documents or ["(Theo danh mục thành phần hồ sơ của thủ tục)"]
    rows += [
        [Paragraph(str(i), st["cell_centre"]), Paragraph(escape(doc_name), st["cell"])]
        for i, doc_name in enumerate(documents, 1)
    ]
    table = Table(rows, colWidths=[14 * mm, width - 14 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (0, 0), (0, -1), "CENTER"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ]
        )
    )
    story += [Spacer(1, 1.5 * mm), table, Spacer(1, 2 * mm)]
    story.append(Paragraph("2. Số lượng hồ sơ: 01 (bộ)", st["base"]))
    if data.processing_days is not None:
        story.append(
            Paragraph(f"3. Thời gian giải quyết hồ sơ theo quy định: {data.processing_days} ngày làm việc", st["base"])
        )
    else:
        story.append(Paragraph("3. Thời gian giải quyết hồ sơ theo quy định của thủ tục", st["base"]))
    story.append(Paragraph(f"4. Thời gian nhận hồ sơ: {_time_vi(data.received_at, tz)}", st["base"]))
    story.append(
        Paragraph(f"5. Thời gian trả kết quả giải quyết hồ sơ: <b>{_time_vi(data.due_at, tz)}</b>", st["base"])
    )
    if data.fees is None:
        fees = "theo quy định (thông báo khi phát sinh)"
    elif data.fees == 0:
        fees = "không thu phí"
    else:
        fees = _money(data.fees)
    story.append(Paragraph(f"6. Phí, lệ phí: {fees}", st["base"]))
    where = (
        "qua dịch vụ bưu chính công ích, đến địa chỉ đã đăng ký"
        if data.return_method == "postal"
        else "Bộ phận Một cửa"
        + (f" — {escape(settings.centre_address.strip())}" if settings.centre_address.strip() else "")
    )
    story.append(Paragraph(f"7. Nhận kết quả: {where}", st["base"]))
    story.append(Spacer(1, 4 * mm))
    story.append(_subscribe_block(data, settings, tz, st, width))
    story.append(Spacer(1, 5 * mm))
    story.append(_signatures(data, st, width))
    return story


def _subscribe_block(
    data: ReceiptData, settings: Settings, tz: Any, st: dict[str, ParagraphStyle], width: float
) -> Table:
    """QR codes and short links that subscribe the citizen's chat, beside how to look the dossier up otherwise."""
    qr_size = 25 * mm
    expiry = (
        f" Mã QR có hiệu lực đến ngày {data.links_expire_at.astimezone(tz):%d/%m/%Y}." if data.links_expire_at else ""
    )
    intro = Paragraph(
        "<b>Nhận thông báo về hồ sơ qua Zalo/Telegram:</b> quét mã QR bằng điện thoại (hoặc mở đường dẫn) "
        "để nhận phiếu biên nhận điện tử và tin nhắn khi hồ sơ cần bổ sung, có kết quả hoặc hẹn lại ngày trả."
        f"{expiry} Tra cứu: gửi mã hồ sơ <b>{escape(data.code)}</b> cho trợ lý của Trung tâm, "
        f"hoặc gọi đường dây nóng {escape(settings.contact_hotline)}.",
        st["small"],
    )
    row: list[Any] = [intro]
    link_width = 0.27 * width
    tiny = st["tiny_centre"]
    for link in data.links:
        lines = link_lines(link.url, link_width - 2 * LINK_PADDING, tiny.fontName, tiny.fontSize)
        shown = "<br/>".join(escape(line) for line in lines)
        row.append(
            [
                Image(io.BytesIO(_qr_png(link.url)), width=qr_size, height=qr_size),
                Paragraph(f"<b>{escape(link.platform)}</b>", st["small_centre"]),
                Paragraph(f'<link href="{escape(link.url)}">{shown}</link>', tiny),
            ]
        )
    widths = [width - link_width * len(data.links)] + [link_width] * len(data.links)
    box = Table([row], colWidths=widths)
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.7, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (1, 0), (-1, -1), "CENTER"),
                ("LEFTPADDING", (0, 0), (-1, -1), LINK_PADDING),
                ("RIGHTPADDING", (0, 0), (-1, -1), LINK_PADDING),
                ("TOPPADDING", (0, 0), (-1, -1), 2 * mm),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2 * mm),
            ]
        )
    )
    return box


def _signatures(data: ReceiptData, st: dict[str, ParagraphStyle], width: float) -> Table:
    left = [
        Paragraph("NGƯỜI NỘP HỒ SƠ", st["sign"]),
        Paragraph("(Ký và ghi rõ họ tên)", st["sign_note"]),
        Spacer(1, 15 * mm),
        Paragraph(escape(data.applicant_name), st["centre"]),
    ]
    right = [
        Paragraph("NGƯỜI TIẾP NHẬN HỒ SƠ", st["sign"]),
        Paragraph("(Ký và ghi rõ họ tên)", st["sign_note"]),
    ]
    table = Table([[left, right]], colWidths=[width / 2, width / 2])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table
