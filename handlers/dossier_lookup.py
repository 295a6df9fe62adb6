"""Look up a dossier by its code, and prove ownership by the phone's last digits or a shared phone number.

Privacy: a chat not linked to the dossier sees its status, appointment date and department only. Failed
look-ups (unknown codes, wrong digits) are counted per chat; past the hourly limit nothing is looked up, so
codes cannot be enumerated. Every message that contains something code-like and finds nothing counts, even
when another handler answers it, or wrapping codes in chatter would be a way around the limit.
"""

from __future__ import annotations

import hmac
import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.base import Context, IncomingMessage, Reply
from handlers.cards import load_facts, menu_buttons, status_card
from handlers.common import (
    chat_key,
    contact_for,
    count_failed_lookup,
    folded,
    is_citizen_chat,
    lang_of,
    lookups_blocked,
)
from handlers.messages import Lang, say
from storage.codes import candidate_keys, code_key, format_code
from storage.contacts import is_linked, link_contact
from storage.models import ChatContact, Dossier
from storage.phones import normalise_phone

VERIFY_TTL_SECONDS = 15 * 60
MAX_LINKED_BY_PHONE = 50
_FOUR_DIGITS = re.compile(r"^\s*(\d{4})\s*$")
# Words that show a message is a look-up, so an unknown code deserves an answer (not the FAQ's).
_LOOKUP_WORDS = re.compile(
    r"\b(tra cuu|ma ho so|ho so|hs|ma hs|so hs|bien nhan|tinh trang|trang thai|kiem tra|"
    r"lookup|look up|dossier|status|code|receipt)\b"
)
# Messages that ask to look up without giving a code.
_LOOKUP_REQUESTS = frozenset(
    {
        "tra cuu",
        "tra cuu ho so",
        "tra cuu hs",
        "tra cuu ho so cua toi",
        "kiem tra ho so",
        "xem ho so",
        "tinh trang ho so",
        "lookup",
        "look up",
        "look up a dossier",
        "look up my dossier",
        "check my dossier",
        "dossier status",
    }
)


async def handle_dossier_lookup(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
    """A message with a dossier code → its status; 4 digits after a look-up → ownership; a shared phone → links."""
    if not is_citizen_chat(msg):
        return None
    if msg.payload == "menu:lookup":
        return await _prompt(msg, ctx)
    if msg.kind == "contact" and msg.phone:
        return await _phone_shared(msg, ctx)
    if msg.payload or msg.kind != "text":
        return None
    text = msg.text.strip()
    if not text:
        return None
    digits = _FOUR_DIGITS.match(text)
    if digits:
        pending = await ctx.state.get(chat_key(ctx, "verify", msg))
        return await _verify(msg, ctx, int(pending["dossier_id"]), digits.group(1)) if pending else None
    keys = candidate_keys(text)
    if not keys:
        return await _prompt(msg, ctx) if folded(text) in _LOOKUP_REQUESTS else None
    attempt = _is_attempt(text, keys)
    if await lookups_blocked(ctx, msg):
        if not attempt:
            return None
        async with ctx.sessionmaker.begin() as session:
            lang = lang_of(await contact_for(session, msg))
        return [Reply(say(lang, "lookup_rate_limited", hotline=ctx.settings.contact_hotline), kind="lookup")]
    async with ctx.sessionmaker.begin() as session:
        dossier = await ctx.dossiers.find_in_text(session, text)
        if dossier is None:
            await count_failed_lookup(ctx, msg)
            if not attempt:
                return None
            lang = lang_of(await contact_for(session, msg))
            shown = _shown_code(text, keys)
            return [
                Reply(
                    say(
                        lang,
                        "lookup_not_found",
                        code=shown,
                        example=_example_code(ctx),
                        hotline=ctx.settings.contact_hotline,
                    ),
                    kind="lookup",
                )
            ]
        contact = await contact_for(session, msg)
        return [await _card(session, ctx, msg, contact, dossier)]


async def _card(
    session: AsyncSession, ctx: Context, msg: IncomingMessage, contact: ChatContact, dossier: Dossier
) -> Reply:
    """The status card for this chat: full for the applicant's chats, public otherwise (with how to prove it)."""
    lang = lang_of(contact)
    owner = await is_linked(session, contact.id, dossier.id)
    facts = await load_facts(session, dossier)
    text = status_card(facts, lang, ctx.settings, ctx.calendar, owner=owner, now=ctx.clock())
    if not owner:
        if dossier.applicant_phone:
            await ctx.state.set(chat_key(ctx, "verify", msg), {"dossier_id": dossier.id}, ttl=VERIFY_TTL_SECONDS)
            text += "\n\n" + say(lang, "verify_prompt")
        else:
            text += "\n\n" + say(lang, "lookup_private_note")
    buttons = () if owner else ((menu_buttons(lang)[1],),)
    return Reply(text, buttons=buttons, kind="lookup")


async def _verify(msg: IncomingMessage, ctx: Context, dossier_id: int, digits: str) -> list[Reply]:
    """The last 4 digits of the phone on file prove ownership; wrong digits count as failed look-ups."""
    async with ctx.sessionmaker.begin() as session:
        contact = await contact_for(session, msg)
        lang = lang_of(contact)
        if await lookups_blocked(ctx, msg):
            return [Reply(say(lang, "lookup_rate_limited", hotline=ctx.settings.contact_hotline), kind="lookup")]
        dossier = (await session.execute(select(Dossier).where(Dossier.id == dossier_id))).scalar_one_or_none()
        phone = dossier.applicant_phone if dossier is not None else None
        if dossier is None or not phone or not hmac.compare_digest(phone[-4:], digits):
            await count_failed_lookup(ctx, msg)
            return [Reply(say(lang, "verify_wrong"), kind="lookup")]
        await link_contact(session, contact, dossier, "phone_digits")
        await ctx.state.delete(chat_key(ctx, "verify", msg))
        card = await _card(session, ctx, msg, contact, dossier)
        return [Reply(say(lang, "verify_ok", code=dossier.code), kind="lookup"), card]


async def _phone_shared(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
    """A phone number the platform verified as the user's: remember it and link the dossiers filed with it."""
    phone = normalise_phone(msg.phone)
    if phone is None:
        return None
    async with ctx.sessionmaker.begin() as session:
        contact = await contact_for(session, msg)
        contact.phone = phone
        lang = lang_of(contact)
        result = await session.execute(
            select(Dossier)
            .where(Dossier.applicant_phone == phone)
            .order_by(Dossier.received_at.desc())
            .limit(MAX_LINKED_BY_PHONE)
        )
        dossiers = list(result.scalars())
        for dossier in dossiers:
            await link_contact(session, contact, dossier, "phone")
    if not dossiers:
        return [Reply(say(lang, "phone_nothing"), kind="lookup")]
    return [Reply(say(lang, "phone_linked", codes=", ".join(d.code for d in dossiers)), kind="lookup")]


async def _prompt(msg: IncomingMessage, ctx: Context) -> list[Reply]:
    async with ctx.sessionmaker.begin() as session:
        lang: Lang = lang_of(await contact_for(session, msg))
    return [Reply(say(lang, "lookup_prompt", example=_example_code(ctx)), kind="lookup")]


def _is_attempt(text: str, keys: list[str]) -> bool:
    """A look-up attempt: look-up words, or a message that is nothing but the code (at most one word of
    letters only, as in 'tthcc 261123 0001')."""
    if _LOOKUP_WORDS.search(folded(text)):
        return True
    letter_words = [w for w in re.split(r"[\s.\-_/]+", text) if w and not any(c.isdigit() for c in w)]
    return code_key(text) in keys and len(letter_words) <= 1


def _shown_code(text: str, keys: list[str]) -> str:
    """The code as the person typed it (the longest code-like part), for the not-found message."""
    for word in sorted(text.split(), key=len, reverse=True):
        if code_key(word) and code_key(word) in keys:
            return word[:40]
    return keys[0][:40]


def _example_code(ctx: Context) -> str:
    return format_code(
        ctx.settings.dossier_code_pattern, centre=ctx.settings.centre_code, day=date(2026, 11, 23), seq=1
    )
