"""Subscribe by opening the receipt's link/QR: Telegram `/start <token>`, a Zalo follow with the token as its
reference, or the token sent as a message ("/start <token>", "ĐK <token>"). The chat is linked to the dossier
and gets the electronic receipt (and the current status when it has moved on), in one message.

Or by phone: a Zalo chat asks ("nhận thông báo") and gets Zalo's request-user-info template; the phone the
citizen shares (`user_submit_info`) finds the open dossiers registered with it, which are linked once the
citizen agrees. Phones are masked in logs."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from handlers.base import Button, Context, IncomingMessage, Reply
from handlers.cards import load_facts, menu_buttons, receipt_text, status_card
from handlers.common import (
    chat_key,
    contact_for,
    count_failed_lookup,
    folded,
    is_citizen_chat,
    lang_of,
    lookups_blocked,
)
from handlers.messages import say
from storage.contacts import link_contact
from storage.lifecycle import OPEN_STATUSES
from storage.models import Dossier, DossierLink, DossierStatus
from storage.phones import mask_phone, normalise_phone
from storage.subscriptions import looks_like_token, resolve_token

log = logging.getLogger(__name__)

_TEXT_FORM = re.compile(r"^\s*(?:/start|dk|đk|đăng ký|dang ky|subscribe)\s+([A-Za-z0-9_-]{20,64})\s*$", re.IGNORECASE)


def token_of(msg: IncomingMessage) -> str | None:
    """The subscription token this message carries, if any."""
    if msg.start_param:
        return msg.start_param.strip() if looks_like_token(msg.start_param.strip()) else None
    if msg.kind == "text" and not msg.payload:
        match = _TEXT_FORM.match(msg.text)
        if match:
            return match.group(1)
    return None


async def handle_subscribe(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
    """Link this chat to the dossier of a valid token and send the receipt there."""
    if not is_citizen_chat(msg):
        return None
    token = token_of(msg)
    if token is None:
        return None
    async with ctx.sessionmaker.begin() as session:
        contact = await contact_for(session, msg)
        lang = lang_of(contact)
        if await lookups_blocked(ctx, msg):
            return [Reply(say(lang, "lookup_rate_limited", hotline=ctx.settings.contact_hotline), kind="subscribe")]
        found = await resolve_token(session, token, now=ctx.clock())
        if found.dossier is None:
            if found.status == "unknown":
                await count_failed_lookup(ctx, msg)
            key = "subscribe_expired" if found.status == "expired" else "subscribe_unknown"
            return [Reply(say(lang, key), kind="subscribe")]
        dossier = found.dossier
        new = await link_contact(session, contact, dossier, "token")
        facts = await load_facts(session, dossier)
        # One message: the confirmation, the receipt and (once work has started) where the dossier stands.
        parts = [
            say(lang, "subscribe_linked" if new else "subscribe_already", code=dossier.code),
            receipt_text(facts, lang, ctx.settings, ctx.calendar),
        ]
        if dossier.status != DossierStatus.RECEIVED:
            parts.append(status_card(facts, lang, ctx.settings, ctx.calendar, owner=True))
        reply = Reply.with_buttons("\n\n".join(parts), menu_buttons(lang)[:2])
        return [replace(reply, kind="subscribe")]


# --- linking by the phone the platform vouches for (Zalo user_submit_info, Telegram's own contact) ---------

PHONE_LINK = "phone-link"
PHONE_LINK_TTL_SECONDS = 1800
ASK_PHONE_WORDS = frozenset(
    {"nhan thong bao", "lien ket so dien thoai", "lien ket ho so", "chia se so dien thoai", "dang ky nhan thong bao"}
)
MSG_ASK_PHONE = (
    "Để nhận thông báo về hồ sơ tại đây, xin Ông/Bà bấm “Chia sẻ” để gửi số điện thoại đã đăng ký với Zalo. "
    "Trung tâm chỉ dùng số này để tìm hồ sơ của Ông/Bà."
)
MSG_PHONE_CONFIRM = (
    "Số điện thoại {phone} đang được dùng cho {count} hồ sơ tại Trung tâm ({codes}). "
    "Ông/Bà có muốn nhận thông báo về các hồ sơ này trong cuộc trò chuyện này không?"
)
MSG_PHONE_LINKED = "Đã liên kết cuộc trò chuyện này với hồ sơ {codes}. Từ nay Ông/Bà sẽ nhận thông báo tại đây."
MSG_PHONE_DECLINED = "Trung tâm chưa liên kết hồ sơ nào. Ông/Bà vẫn tra cứu được bằng cách gửi mã hồ sơ."
MSG_PHONE_EXPIRED = "Yêu cầu liên kết đã hết hạn. Xin Ông/Bà chia sẻ lại số điện thoại."
YES, NO = "Đồng ý", "Không"


async def _open_dossiers_of(session: Any, phone: str, contact_id: int) -> list[Dossier]:
    linked = select(DossierLink.dossier_id).where(DossierLink.contact_id == contact_id)
    result = await session.execute(
        select(Dossier)
        .where(Dossier.applicant_phone == phone, Dossier.status.in_(list(OPEN_STATUSES)), Dossier.id.not_in(linked))
        .order_by(Dossier.received_at)
        .limit(20)
    )
    return list(result.scalars())


async def handle_phone_link(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
    """Ask a Zalo chat for its phone (request-user-info); when the citizen shares their own phone, offer to
    link the open dossiers registered with it, and link them only once the citizen agrees."""
    if not is_citizen_chat(msg):
        return None
    key = chat_key(ctx, PHONE_LINK, msg)
    if msg.kind == "text" and msg.channel == "zalo" and folded(msg.text) in ASK_PHONE_WORDS:
        return [Reply(MSG_ASK_PHONE, meta={"request_user_info": True}, kind="subscribe")]
    if msg.kind == "contact" and msg.phone and msg.channel == "zalo":
        # (Telegram's own contact card is linked at once by the dossier look-up, as before.)
        phone = normalise_phone(msg.phone)
        if phone is None:
            return None
        async with ctx.sessionmaker.begin() as session:
            contact = await contact_for(session, msg)
            dossiers = await _open_dossiers_of(session, phone, contact.id)
        if not dossiers:
            return None  # nothing to link: the fallback thanks them
        await ctx.state.set(key, {"phone": phone}, ttl=PHONE_LINK_TTL_SECONDS)
        codes = ", ".join(d.code for d in dossiers)
        text = MSG_PHONE_CONFIRM.format(phone=mask_phone(phone), count=len(dossiers), codes=codes)
        buttons = [Button(YES, f"{PHONE_LINK}:yes"), Button(NO, f"{PHONE_LINK}:no")]
        return [replace(Reply.with_buttons(text, buttons), kind="subscribe")]
    if msg.kind == "button" and (msg.payload or "").startswith(f"{PHONE_LINK}:"):
        pending = await ctx.state.get(key)
        await ctx.state.delete(key)
        if not isinstance(pending, dict) or not pending.get("phone"):
            return [Reply(MSG_PHONE_EXPIRED, kind="subscribe")]
        if msg.payload != f"{PHONE_LINK}:yes":
            return [Reply(MSG_PHONE_DECLINED, kind="subscribe")]
        phone = str(pending["phone"])
        async with ctx.sessionmaker.begin() as session:
            contact = await contact_for(session, msg)
            dossiers = await _open_dossiers_of(session, phone, contact.id)
            for dossier in dossiers:
                await link_contact(session, contact, dossier, "phone")
        log.info("linked %s chat to %d dossier(s) of %s", msg.channel, len(dossiers), mask_phone(phone))
        if not dossiers:
            return [Reply(MSG_PHONE_DECLINED, kind="subscribe")]
        return [Reply(MSG_PHONE_LINKED.format(codes=", ".join(d.code for d in dossiers)), kind="subscribe")]
    return None
