"""Subscribe by opening the receipt's link/QR: Telegram `/start <token>`, a Zalo follow with the token as its
reference, or the token sent as a message ("/start <token>", "ĐK <token>"). The chat is linked to the dossier
and gets the electronic receipt (and the current status when it has moved on)."""

from __future__ import annotations

import re
from dataclasses import replace

from handlers.base import Context, IncomingMessage, Reply
from handlers.cards import load_facts, menu_buttons, receipt_text, status_card
from handlers.common import contact_for, count_failed_lookup, is_citizen_chat, lang_of, lookups_blocked
from handlers.messages import say
from storage.contacts import link_contact
from storage.models import DossierStatus
from storage.subscriptions import looks_like_token, resolve_token

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
            return [Reply(say(lang, "lookup_rate_limited", hotline=ctx.settings.centre_hotline), kind="subscribe")]
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
