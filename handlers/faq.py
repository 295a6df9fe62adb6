"""Questions about procedures and the centre, answered from the knowledge base by the matcher."""

from __future__ import annotations

from handlers.base import Button, Context, IncomingMessage, Reply
from knowledge.render import answering_on

# Button payloads of the knowledge base: `kb:<entry id>:<aspect>`.
KB_PREFIX = "kb:"
HOTLINE_ENTRY = "duong-day-nong"


def _reply(text: str, buttons: list[tuple[str, str]]) -> Reply:
    return Reply.with_buttons(text, [Button(label, payload) for label, payload in buttons])


async def handle_faq(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
    """Free text goes to the matcher; `kb:` buttons ask for one aspect of one entry. Answers quote the facts
    valid on the day asked (the handler's clock, in the centre's time zone)."""
    if msg.chat_type != "private":
        return None
    with answering_on(ctx.clock().astimezone(ctx.calendar.tz).date()):
        return _answer(msg, ctx)


def _answer(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
    if msg.kind == "button" and msg.payload:
        if msg.payload.startswith(KB_PREFIX):
            entry_id, _, aspect = msg.payload[len(KB_PREFIX) :].rpartition(":")
            answer = ctx.matcher.answer_aspect(entry_id, aspect or "overview")
            return [_reply(answer.text, answer.buttons)]
        if msg.payload == "menu:hotline":
            answer = ctx.matcher.answer_aspect(HOTLINE_ENTRY, "overview")
            return [_reply(answer.text, answer.buttons)]
        return None
    if msg.kind == "text" and msg.text:
        answer = ctx.matcher.ask(msg.text)
        return [_reply(answer.text, answer.buttons)]
    return None
