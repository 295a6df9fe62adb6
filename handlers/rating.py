"""Rate the service after a dossier is returned: the buttons of the rating request, an optional comment after
a dissatisfied rating (with a skip button), a thank-you. Only a chat linked to the dossier can rate it."""

from __future__ import annotations

import re

from sqlalchemy import select

from handlers.base import Button, Context, IncomingMessage, Reply
from handlers.cards import load_facts
from handlers.common import chat_key, contact_for, is_citizen_chat, lang_of
from handlers.messages import rating_label, say
from storage.models import Dossier
from storage.ratings import DISSATISFIED, rate, set_comment

COMMENT_TTL_SECONDS = 24 * 3600
_RATE = re.compile(r"^rate:(\d{1,18}):(\d)$")
_SKIP = re.compile(r"^rate-skip:(\d{1,18})$")


async def handle_rating(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
    """Rating buttons (`rate:<dossier>:<score>`, `rate-skip:<dossier>`) and the comment that may follow."""
    if not is_citizen_chat(msg):
        return None
    if msg.payload:
        if match := _RATE.match(msg.payload):
            return await _rate(msg, ctx, int(match.group(1)), int(match.group(2)))
        if match := _SKIP.match(msg.payload):
            await ctx.state.delete(chat_key(ctx, "rating-comment", msg))
            async with ctx.sessionmaker.begin() as session:
                lang = lang_of(await contact_for(session, msg))
            return [Reply(say(lang, "rating_skipped"), kind="rating")]
        return None
    text = msg.text.strip()
    if msg.kind != "text" or not text or text.startswith("/"):
        return None
    pending = await ctx.state.get(chat_key(ctx, "rating-comment", msg))
    if not pending:
        return None
    return await _comment(msg, ctx, int(pending["dossier_id"]), text)


async def _rate(msg: IncomingMessage, ctx: Context, dossier_id: int, score: int) -> list[Reply]:
    settings = ctx.settings
    async with ctx.sessionmaker.begin() as session:
        contact = await contact_for(session, msg)
        lang = lang_of(contact)
        dossier = (await session.execute(select(Dossier).where(Dossier.id == dossier_id))).scalar_one_or_none()
        if dossier is None:
            return [Reply(say(lang, "rating_not_linked"), kind="rating")]
        result = await rate(
            session,
            dossier,
            contact,
            score,
            scale=settings.rating_scale,
            change_days=settings.rating_change_days,
            now=ctx.clock(),
        )
        if result.status in ("invalid", "not_linked", "not_returned"):
            return [Reply(say(lang, f"rating_{result.status}"), kind="rating")]
        assert result.rating is not None
        level = rating_label(result.rating.level, lang)
        if result.status == "too_late":
            return [Reply(say(lang, "rating_too_late", days=settings.rating_change_days, level=level), kind="rating")]
        key = "rating_thanks" if result.status == "created" else "rating_updated"
        replies = [Reply(say(lang, key, level=level), kind="rating")]
        if result.rating.level in DISSATISFIED:
            await ctx.state.set(
                chat_key(ctx, "rating-comment", msg), {"dossier_id": dossier.id}, ttl=COMMENT_TTL_SECONDS
            )
            replies.append(
                Reply(
                    say(lang, "rating_comment_prompt"),
                    buttons=((Button(say(lang, "rating_skip"), f"rate-skip:{dossier.id}"),),),
                    kind="rating",
                )
            )
        else:
            await ctx.state.delete(chat_key(ctx, "rating-comment", msg))
        return replies


async def _comment(msg: IncomingMessage, ctx: Context, dossier_id: int, text: str) -> list[Reply] | None:
    async with ctx.sessionmaker.begin() as session:
        contact = await contact_for(session, msg)
        lang = lang_of(contact)
        if not await set_comment(session, dossier_id, contact, text, ctx.clock()):
            await ctx.state.delete(chat_key(ctx, "rating-comment", msg))
            return None
        dossier = await session.get(Dossier, dossier_id)
        assert dossier is not None
        facts = await load_facts(session, dossier, note="", data={})
    await ctx.state.delete(chat_key(ctx, "rating-comment", msg))
    return [Reply(say(lang, "rating_comment_thanks", department=facts.department), kind="rating")]
