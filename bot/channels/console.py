"""The terminal: replies rendered as text with numbered choices, and a sender that prints outbox messages.

`motcua chat` renders the pipeline's replies with `render_reply`; the `console` sender delivers outbox rows
addressed to the console channel (the embedded default when no platform is configured) to a text stream.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from typing import Any, TextIO

from aiohttp import web

from bot.channels.base import Channel, SendOutcome, register_sender
from handlers.base import Button, Reply


def render_reply(reply: Reply, first_number: int = 1) -> tuple[str, list[Button]]:
    """The reply as terminal text, its buttons as numbered choices; returns the text and the choices in order."""
    lines = [reply.text]
    choices: list[Button] = []
    for row in reply.buttons:
        for button in row:
            choices.append(button)
            lines.append(f"  [{first_number + len(choices) - 1}] {button.label}")
    for label, attachment in (("ảnh", reply.image), ("tệp", reply.document)):
        if attachment is not None:
            lines.append(f"  ({label} đính kèm: {attachment.filename}, {len(attachment.data)} byte)")
    return "\n".join(lines), choices


class ConsoleChannel(Channel):
    """Delivers outbox messages of the `console` channel by writing them to a stream (stdout by default)."""

    channel = "console"
    display_name = "Terminal"
    rate_per_second: float | None = None
    per_recipient_per_second: float | None = None
    text_limit: int | None = None  # a terminal shows anything
    button_limit: int | None = None

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.sent = 0

    async def send(self, recipient: str, payload: dict[str, Any]) -> SendOutcome:
        text, _choices = render_reply(Reply.from_payload(payload))
        stream = self.stream or sys.stdout
        stream.write(f"--- tin nhắn tới {recipient} ---\n{text}\n")
        stream.flush()
        self.sent += 1
        return SendOutcome.sent(f"console-{self.sent}")

    @classmethod
    async def lifecycle(cls, app: web.Application) -> AsyncIterator[None]:
        """Nothing to open: the sender writes to stdout."""
        register_sender(app, cls())
        yield


__all__ = ["ConsoleChannel", "render_reply"]
