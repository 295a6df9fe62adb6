"""Talk to an officer: the conversation is handed to the officers' Telegram group and back.

- "gặp cán bộ", `/human` or the menu button → the citizen's message is forwarded to `OFFICERS_TELEGRAM_CHAT_ID`
  with its context (channel, language, linked dossier codes); the bot stays quiet while the handoff lasts and
  forwards whatever the citizen writes (deep links and buttons keep working).
- An officer replies to a forwarded message in the group → the reply goes to the citizen on their own channel.
  The forwarded message is found through its outbox row (`platform_message_id`, recorded when it was sent),
  whose payload names the citizen's contact.
- `/done` (officer, as a reply; or the citizen) or `HANDOFF_TIMEOUT_MINUTES` without activity hands back.
- Outside working hours the citizen is told when an officer will answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.base import Context, IncomingMessage, Reply
from handlers.cards import describe_hours
from handlers.common import command_text, contact_for, lang_of
from handlers.messages import WEEKDAYS, Lang, say
from storage.calendar import WorkingCalendar
from storage.contacts import linked_dossiers
from storage.deliveries import find_sent_message
from storage.handoffs import close_handoff, open_handoff, touch_handoff
from storage.models import ChatContact

HANDOFF_KIND = "handoff"
MAX_FORWARD_CHARS = 3000
_REQUESTS = frozenset(
    {
        "/human",
        "/canbo",
        "gap can bo",
        "toi muon gap can bo",
        "cho toi gap can bo",
        "muon gap can bo",
        "gap nhan vien",
        "gap nguoi that",
        "noi chuyen voi can bo",
        "noi chuyen voi nguoi",
        "tu van vien",
        "can bo",
        "human",
        "officer",
        "talk to an officer",
        "talk to a human",
        "talk to a person",
        "speak to an officer",
    }
)
_DONE = frozenset({"/done", "/end", "/bot", "done", "ket thuc", "/ketthuc"})


def wants_officer(msg: IncomingMessage) -> bool:
    if msg.payload == "menu:human":
        return True
    if msg.payload or msg.kind != "text" or len(msg.text) > 80:
        return False
    text = command_text(msg.text)
    return text in _REQUESTS or text.startswith(("gap can bo", "cho gap can bo", "xin gap can bo"))


def _group(ctx: Context) -> str | None:
    chat = ctx.settings.officers_telegram_chat_id
    return None if chat is None else str(chat)


def _state_key(ctx: Context, channel: str, chat_id: str) -> str:
    return ctx.state.keys.build("handoff", channel, chat_id)


def _ttl(ctx: Context) -> float:
    # The state outlives the timeout (which is checked against ctx.clock) so a stale handoff can be closed.
    return max(ctx.settings.handoff_timeout_minutes * 60 * 2, 3600)


async def handle_handoff(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
    """Start, carry on and end conversations with officers; relay officers' replies."""
    group = _group(ctx)
    if msg.chat_type == "group" or (group is not None and msg.channel == "telegram" and msg.chat_id == group):
        if group is not None and msg.channel == "telegram" and msg.chat_id == group:
            return await _officer_message(msg, ctx, group)
        return None
    key = _state_key(ctx, msg.channel, msg.chat_id)
    state = await ctx.state.get(key)
    now = ctx.clock()
    if state is not None:
        last = datetime.fromisoformat(state["last"])
        if now - last <= timedelta(minutes=ctx.settings.handoff_timeout_minutes):
            return await _during_handoff(msg, ctx, state, group)
        await ctx.state.delete(key)
        async with ctx.sessionmaker.begin() as session:
            await close_handoff(session, int(state["id"]), now, "timeout")
    if wants_officer(msg):
        return await _start(msg, ctx, group)
    return None


async def _start(msg: IncomingMessage, ctx: Context, group: str | None) -> list[Reply]:
    now = ctx.clock()
    hours = ctx.calendar.hours
    async with ctx.sessionmaker.begin() as session:
        contact = await contact_for(session, msg)
        lang = lang_of(contact)
        if group is None:
            return [
                Reply(
                    say(
                        lang,
                        "handoff_unavailable",
                        hotline=ctx.settings.contact_hotline,
                        hours=describe_hours(hours, lang),
                    ),
                    kind="handoff_notice",
                )
            ]
        handoff = await open_handoff(session, contact.id, now)
        codes = [d.code for d in await linked_dossiers(session, contact.id)][:5]
    await ctx.state.set(
        _state_key(ctx, msg.channel, msg.chat_id),
        {"id": handoff.id, "contact_id": contact.id, "last": now.isoformat()},
        ttl=_ttl(ctx),
    )
    opening = next_opening(ctx.calendar, now)
    if opening is None:
        citizen = say(lang, "handoff_started")
    else:
        citizen = say(lang, "handoff_started_closed", hours=describe_hours(hours, lang), when=_when(opening, lang))
    header = [
        f"🙋 Yêu cầu gặp cán bộ #HO{handoff.id}",
        f"Kênh: {_channel_name(ctx, msg.channel)} · Ngôn ngữ: {lang}",
        f"Hồ sơ liên kết: {', '.join(codes) if codes else 'chưa có'}",
    ]
    if msg.display_name:
        header.append(f"Tên hiển thị: {msg.display_name[:100]}")
    header.append(f"Tin nhắn: «{_quoted(msg)}»")
    header.append("↩ Trả lời (reply) tin này để nhắn cho công dân; trả lời /done để kết thúc.")
    return [
        Reply(citizen, kind="handoff_notice"),
        _to_officers(group, "\n".join(header), handoff.id, contact.id),
    ]


async def _during_handoff(
    msg: IncomingMessage, ctx: Context, state: dict[str, Any], group: str | None
) -> list[Reply] | None:
    """While an officer has the conversation, the bot forwards and stays quiet."""
    if msg.start_param or (msg.payload and msg.payload != "menu:human"):
        return None  # receipt links and buttons (ratings, languages) keep working
    handoff_id, contact_id = int(state["id"]), int(state["contact_id"])
    now = ctx.clock()
    key = _state_key(ctx, msg.channel, msg.chat_id)
    if msg.kind == "text" and command_text(msg.text) in _DONE:
        await ctx.state.delete(key)
        async with ctx.sessionmaker.begin() as session:
            await close_handoff(session, handoff_id, now, "citizen")
            lang = lang_of(await contact_for(session, msg))
        replies = [Reply(say(lang, "handoff_ended_citizen"), kind="handoff_notice")]
        if group is not None:
            replies.append(
                _to_officers(group, f"#HO{handoff_id}: công dân đã kết thúc cuộc trò chuyện.", handoff_id, contact_id)
            )
        return replies
    if group is None:
        return None
    await ctx.state.set(key, {**state, "last": now.isoformat()}, ttl=_ttl(ctx))
    async with ctx.sessionmaker.begin() as session:
        await touch_handoff(session, handoff_id, now)
    text = f"#HO{handoff_id} · {_channel_name(ctx, msg.channel)}: «{_quoted(msg)}»"
    return [_to_officers(group, text, handoff_id, contact_id)]


async def _officer_message(msg: IncomingMessage, ctx: Context, group: str) -> list[Reply]:
    """A message in the officers' group: a reply to a forwarded message is relayed; anything else is ignored."""
    if not msg.reply_to_message_id or msg.kind != "text" or not msg.text.strip():
        return []
    now = ctx.clock()
    async with ctx.sessionmaker.begin() as session:
        row = await find_sent_message(session, "telegram", group, msg.reply_to_message_id)
        if row is None or row.kind != HANDOFF_KIND:
            return []
        meta = row.payload.get("meta") or {}
        contact = await session.get(ChatContact, int(meta.get("contact_id", 0)))
        if contact is None:
            return []
        handoff_id = int(meta.get("handoff_id", 0))
        lang = lang_of(contact)
        key = _state_key(ctx, contact.channel, contact.chat_id)
        if command_text(msg.text) in _DONE:
            await close_handoff(session, handoff_id, now, "officer")
            await ctx.state.delete(key)
            return [
                Reply(say(lang, "handoff_ended_officer"), to=(contact.channel, contact.chat_id), kind="handoff_reply"),
                Reply(f"Đã kết thúc #HO{handoff_id}; trợ lý tự động tiếp tục với công dân.", kind="handoff_note"),
            ]
        await _resume(session, ctx, key, handoff_id, contact, now)
    text = msg.text.strip()[:MAX_FORWARD_CHARS]
    return [Reply(say(lang, "officer_says", text=text), to=(contact.channel, contact.chat_id), kind="handoff_reply")]


async def _resume(
    session: AsyncSession, ctx: Context, key: str, handoff_id: int, contact: ChatContact, now: datetime
) -> None:
    """An officer wrote: the handoff is (again) active, whatever the citizen's timeout said."""
    await touch_handoff(session, handoff_id, now)
    await ctx.state.set(key, {"id": handoff_id, "contact_id": contact.id, "last": now.isoformat()}, ttl=_ttl(ctx))


def _to_officers(group: str, text: str, handoff_id: int, contact_id: int) -> Reply:
    # The meta travels in the outbox payload: an officer's reply to this message finds the citizen through it.
    return Reply(
        text[:4000],
        to=("telegram", group),
        kind=HANDOFF_KIND,
        meta={"handoff_id": handoff_id, "contact_id": contact_id},
    )


def _quoted(msg: IncomingMessage) -> str:
    if msg.payload == "menu:human":
        return "(bấm nút Gặp cán bộ)"
    if msg.kind != "text":
        return f"({msg.kind})"
    return msg.text.strip()[:MAX_FORWARD_CHARS]


def _channel_name(ctx: Context, channel: str) -> str:
    return ctx.channel_names.get(channel, channel)


def is_open(calendar: WorkingCalendar, moment: datetime) -> bool:
    local = calendar.local(moment)
    if not calendar.is_working_day(local.date()):
        return False
    now = local.time()
    return any(start <= now < end for start, end in calendar.hours.spans)


def next_opening(calendar: WorkingCalendar, moment: datetime) -> datetime | None:
    """None while the centre is open; otherwise when officers are next at work."""
    if is_open(calendar, moment):
        return None
    local = calendar.local(moment)
    day = local.date()
    if calendar.is_working_day(day):
        for start, _end in calendar.hours.spans:
            if local.time() < start:
                return datetime.combine(day, start, tzinfo=calendar.tz)
    day = calendar.next_working_day(day)
    return datetime.combine(day, calendar.hours.opens, tzinfo=calendar.tz)


def _when(moment: datetime, lang: Lang) -> str:
    return say(
        lang, "when_at", time=f"{moment:%H:%M}", weekday=WEEKDAYS[lang][moment.weekday()], date=f"{moment:%d/%m/%Y}"
    )
