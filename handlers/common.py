"""Small pieces the journey handlers share: the chat's contact row, its language, phrase matching, state keys."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.base import Context, IncomingMessage
from handlers.messages import Lang, language_of
from knowledge.normalize import fold
from storage.contacts import upsert_contact
from storage.models import ChatContact

_SPACES = re.compile(r"[\s.,!?;:…\"'“”()\-]+")


def folded(text: str) -> str:
    """Lower case, no diacritics, single spaces, no punctuation: 'Gặp cán bộ!' → 'gap can bo'."""
    return _SPACES.sub(" ", fold(text).lower()).strip()


def command_text(text: str) -> str:
    """`folded` text with a Telegram `@botname` suffix of a command removed: '/lang@motcua_bot en' → '/lang en'."""
    text = text.strip()
    if text.startswith("/"):
        head, _, rest = text.partition(" ")
        text = head.split("@")[0] + (" " + rest if rest else "")
    return folded(text)


def is_citizen_chat(msg: IncomingMessage) -> bool:
    """Journeys talk to people in private chats; groups (the officers') are the handoff's business."""
    return msg.chat_type == "private"


async def contact_for(session: AsyncSession, msg: IncomingMessage) -> ChatContact:
    """This chat's contact row (created on first sight)."""
    return await upsert_contact(session, msg.channel, msg.chat_id, msg.user_id, msg.language)


def lang_of(contact: ChatContact) -> Lang:
    return language_of(contact.language)


def chat_key(ctx: Context, kind: str, msg: IncomingMessage) -> str:
    """A state key for one chat, e.g. `motcua:verify:telegram:123`."""
    return ctx.state.keys.build(kind, msg.channel, msg.chat_id)


def lookup_fail_name(msg: IncomingMessage) -> str:
    """The rate-limit counter of failed look-ups (wrong codes, wrong digits, bad tokens) of one chat."""
    return f"lookup-fail:{msg.channel}:{msg.chat_id}"


async def lookups_blocked(ctx: Context, msg: IncomingMessage) -> bool:
    """True when this chat has used up its failed look-ups for the hour."""
    count = await ctx.state.get(ctx.state.keys.build("rate", lookup_fail_name(msg)))
    return count is not None and int(count) >= ctx.settings.lookup_fail_limit_per_hour


async def count_failed_lookup(ctx: Context, msg: IncomingMessage) -> None:
    await ctx.state.hit_rate_limit(lookup_fail_name(msg), ctx.settings.lookup_fail_limit_per_hour, 3600)
