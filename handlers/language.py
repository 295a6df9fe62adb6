"""Vietnamese by default, English on request ("English", "English please", `/lang en`, the menu's language
button) or when a citizen writes in English."""

from __future__ import annotations

from typing import Literal

from handlers.base import Button, Context, IncomingMessage, Reply
from handlers.cards import menu_buttons
from handlers.common import command_text, contact_for, is_citizen_chat
from handlers.messages import Lang, say
from knowledge.normalize import asks_for_english, is_english

_ENGLISH = frozenset({"english", "/lang en", "/en", "/english", "in english", "tieng anh", "speak english"})
_VIETNAMESE = frozenset({"tieng viet", "/lang vi", "/vi", "/tiengviet", "vietnamese", "in vietnamese"})


def requested_language(msg: IncomingMessage) -> Literal["en", "vi", "choose"] | None:
    """'en' / 'vi' when the message asks for a language, 'choose' for a bare `/lang`, None otherwise."""
    if msg.payload == "lang:en":
        return "en"
    if msg.payload == "lang:vi":
        return "vi"
    if msg.payload or msg.kind != "text" or len(msg.text) > 40:
        return None
    text = command_text(msg.text)
    if text in _ENGLISH:
        return "en"
    if asks_for_english(text):
        return "en"
    if text in _VIETNAMESE:
        return "vi"
    if text == "/lang":
        return "choose"
    return None


async def handle_language(msg: IncomingMessage, ctx: Context) -> list[Reply] | None:
    """Switch this chat's language; the journeys' texts and menu follow it."""
    if not is_citizen_chat(msg):
        return None
    wanted = requested_language(msg)
    if wanted is None:
        if msg.kind == "text" and is_english(msg.text):
            # a question in English: the chat goes on in English, and the FAQ answers the question
            async with ctx.sessionmaker.begin() as session:
                contact = await contact_for(session, msg)
                contact.language = "en"
        return None
    if wanted == "choose":
        return [
            Reply.with_buttons(
                say("vi", "language_choose"), [Button("Tiếng Việt", "lang:vi"), Button("English", "lang:en")]
            )
        ]
    lang: Lang = "en" if wanted == "en" else "vi"
    async with ctx.sessionmaker.begin() as session:
        contact = await contact_for(session, msg)
        contact.language = lang
    return [Reply.with_buttons(say(lang, "language_set"), menu_buttons(lang), per_row=2)]
