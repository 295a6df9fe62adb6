"""The protocol every sender implements, and the registry the outbox worker dispatches on.

A sender turns an outbox row's channel-neutral payload (`Reply.to_payload()`) into a platform call. It
never raises for a platform refusal: it returns a `SendOutcome` saying what the worker should do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from aiohttp import web


@dataclass(frozen=True)
class SendOutcome:
    """What the outbox does with a message after one attempt.

    sent; retry (after `retry_after` seconds, or at `not_before`); failed for good; blocked (the user cannot
    be reached on this path: marked, and a notice tries its next path); reroute (this path refuses the
    message, e.g. Zalo's window is closed — not the user's doing: the notice takes its next path at once).
    `reason` names a deferral worth counting (`quota`, `sending_hours`).
    """

    status: Literal["sent", "retry", "failed", "blocked", "reroute"]
    retry_after: float | None = None
    error: str | None = None
    platform_message_id: str | None = None
    not_before: datetime | None = None
    reason: str | None = None

    @classmethod
    def sent(cls, message_id: str | None = None) -> SendOutcome:
        return cls("sent", platform_message_id=message_id)


class Sender(Protocol):
    """Sends outbox payloads on one channel (`telegram`, `zalo`, `zns`, `sms`, `console`)."""

    channel: str
    # Allowed rate over all recipients and per recipient (messages a second); None = unlimited.
    rate_per_second: float | None
    per_recipient_per_second: float | None

    async def send(self, recipient: str, payload: dict[str, Any]) -> SendOutcome:
        """Deliver one message; map platform errors to an outcome."""
        ...


@dataclass(frozen=True)
class Limits:
    """What one message on a channel may hold: characters of text and buttons (None: no limit)."""

    text: int | None = None
    buttons: int | None = None


def limits_of(sender: Sender | type[Channel] | None) -> Limits:
    """A channel's limits, as the channel object declares them (`text_limit`, `button_limit`)."""
    return Limits(getattr(sender, "text_limit", None), getattr(sender, "button_limit", None))


SENDERS: web.AppKey[dict[str, Sender]] = web.AppKey("senders")


def register_sender(app: web.Application, sender: Sender) -> None:
    """Make `sender` the one the outbox worker uses for `sender.channel`."""
    app.setdefault(SENDERS, {})
    app[SENDERS][sender.channel] = sender


# A webhook route of a channel: (method, path, handler).
Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


class Channel:
    """What every channel class declares for the registry (`bot.channels.registry.CHANNELS`).

    `channel` is its name (outbox rows, inbox updates, `IncomingMessage.channel`); `display_name` is how
    officers see it (handoff texts); the limits and rates shape and pace its messages. `routes()` are its
    webhooks; `lifecycle(app)` opens what it needs before the app serves (builds its objects and registers
    them as sender/adapter) and closes it after — a cleanup context the registry wires, nothing else does.
    Instances add `send` (and, for channels that receive, `to_message`/`after_handled`).
    """

    channel: str
    display_name: str
    text_limit: int | None = None
    button_limit: int | None = None
    rate_per_second: float | None = None
    per_recipient_per_second: float | None = None

    @classmethod
    def routes(cls) -> Sequence[Route]:
        return ()

    @classmethod
    async def lifecycle(cls, app: web.Application) -> AsyncIterator[None]:
        yield
