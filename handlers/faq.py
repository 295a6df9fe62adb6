"""Questions about procedures and the centre, answered from the knowledge base by the matcher.

The conversation (procedure and aspect last answered, a clarifying question still open) is kept per chat in
the state store, so that a follow-up ("còn lệ phí thì sao?", "vậy nộp ở đâu", "người việt" to the question
asked) continues from it on any replica; it expires after `FAQ_CONTEXT_MINUTES` of silence.
"""

from __future__ import annotations

from handlers.base import Button, Context, IncomingMessage, Reply
from handlers.common import chat_key
from handlers.messages import Lang, language_of, say
from knowledge.conversation import Conversation
from knowledge.matcher import Answer
from knowledge.normalize import from_english, is_english
from knowledge.render import answering_on
from storage.contacts import get_contact

# Button payloads of the knowledge base: `kb:<entry id>:<aspect>`.
KB_PREFIX = "kb:"
HOTLINE_ENTRY = "duong-day-nong"
CONTEXT_KIND = "faq"


def _reply(text: str, buttons: list[tuple[str, str]]) -> Reply:
    return Reply.with_buttons(text, [Button(label, payload) for label, payload in buttons])


async def load_context(ctx: Context, msg: IncomingMessage) -> Conversation | None:
    """This chat's conversation about procedures, if it has not expired."""
    return Conversation.from_json(await ctx.state.get(chat_key(ctx, CONTEXT_KIND, msg)))


async def save_context(ctx: Context, msg: IncomingMessage, conversation: Conversation | None) -> None:
    """Keep the conversation for the next message (or forget it: out of scope, nothing to continue)."""
    key = chat_key(ctx, CONTEXT_KIND, msg)
    if conversation is None:
        await ctx.state.delete(key)
    else:
        await ctx.state.set(key, conversation.to_json(), ttl=ctx.settings.faq_context_minutes * 60)


async def _language(ctx: Context, msg: IncomingMessage) -> Lang:
    async with ctx.sessionmaker() as session:
        contact = await get_contact(session, msg.channel, msg.chat_id)
    return language_of(contact.language if contact is not None else msg.language)


def _in_english(answer: Answer, ctx: Context) -> Reply:
    """An answer for an English chat: a polite English line, then the Vietnamese facts with their buttons."""
    if answer.outcome == "answer" and answer.entry is not None:
        lead = say("en", "faq_in_vietnamese", title=answer.entry.title)
        return _reply(f"{lead}\n\n{answer.text}", answer.buttons)
    if answer.outcome == "clarify":
        return _reply(f"{say('en', 'faq_clarify_in_vietnamese')}\n\n{answer.text}", answer.buttons)
    text = say("en", "faq_not_found", hotline=ctx.settings.contact_hotline, hours=ctx.settings.working_hours)
    return Reply.with_buttons(text, [Button(say("en", "menu_human"), "menu:human")])


async def handle_faq(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
    """Free text goes to the matcher with the chat's conversation; `kb:` buttons ask for one aspect of one
    entry (and make it the procedure a follow-up continues from). Answers quote the facts valid on the day
    asked (the handler's clock, in the centre's time zone)."""
    if msg.chat_type != "private":
        return None
    with answering_on(ctx.clock().astimezone(ctx.calendar.tz).date()):
        return await _answer(msg, ctx)


async def _answer(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
    if msg.kind == "button" and msg.payload:
        if msg.payload.startswith(KB_PREFIX):
            entry_id, _, aspect = msg.payload[len(KB_PREFIX) :].rpartition(":")
            answer = ctx.matcher.answer_aspect(entry_id, aspect or "overview")
            if answer.procedure is not None:
                await save_context(ctx, msg, Conversation(answer.procedure.id, answer.aspect))
            return [_reply(answer.text, answer.buttons)]
        if msg.payload == "menu:hotline":
            answer = ctx.matcher.answer_aspect(HOTLINE_ENTRY, "overview")
            return [_reply(answer.text, answer.buttons)]
        return None
    if msg.kind == "text" and msg.text:
        lang = await _language(ctx, msg)
        english = lang == "en" and is_english(msg.text)
        question = (from_english(msg.text) or msg.text) if english else msg.text
        answer = ctx.matcher.ask(question, await load_context(ctx, msg))
        await save_context(ctx, msg, answer.context)
        if lang == "en":
            return [_in_english(answer, ctx)]
        return [_reply(answer.text, answer.buttons)]
    return None
