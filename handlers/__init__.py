"""Channel-neutral conversation handlers and their order.

`HANDLERS` is tried in order for every incoming message; the first handler that returns a list answers.
Adding a handler is one line here. Journeys (dossier lookup, subscribe deep links, ratings, handoff) go
before the FAQ, which answers any free text; the fallback answers whatever is left.
"""

from __future__ import annotations

from handlers.base import Handler
from handlers.fallback import handle_fallback
from handlers.faq import handle_faq
from handlers.greeting import handle_greeting

HANDLERS: list[Handler] = [
    handle_greeting,
    handle_faq,
    handle_fallback,
]

__all__ = ["HANDLERS"]
