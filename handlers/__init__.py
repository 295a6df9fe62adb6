"""Channel-neutral conversation handlers and their order.

`HANDLERS` is tried in order for every incoming message; the first handler that returns a list answers.
Adding a handler is one line here. Journeys (dossier lookup, subscribe deep links, ratings, handoff) go
before the FAQ, which answers any free text; the fallback answers whatever is left.
"""

from __future__ import annotations

from handlers.base import Handler
from handlers.dossier_lookup import handle_dossier_lookup
from handlers.fallback import handle_fallback
from handlers.faq import handle_faq
from handlers.greeting import handle_greeting
from handlers.handoff import handle_handoff
from handlers.language import handle_language
from handlers.rating import handle_rating
from handlers.subscribe import handle_phone_link, handle_subscribe

HANDLERS: list[Handler] = [
    handle_language,
    handle_handoff,  # before the greeting: the bot stays quiet while an officer has the conversation
    handle_greeting,
    handle_subscribe,
    handle_phone_link,  # request-user-info and a shared phone: link open dossiers once the citizen agrees
    handle_rating,
    handle_dossier_lookup,
    handle_faq,
    handle_fallback,
]

__all__ = ["HANDLERS"]
