"""The protocol every sender implements, and the registry the outbox worker dispatches on.

A sender turns an outbox row's channel-neutral payload (`Reply.to_payload()`) into a platform call. It
never raises for a platform refusal: it returns a `SendOutcome` saying what the worker should do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from aiohttp import web


@dataclass(frozen=True)
class SendOutcome:
    """sent; retry (maybe after `retry_after` seconds); failed for good; or the user blocked/unreachable."""

    status: Literal["sent", "retry", "failed", "blocked"]
    retry_after: float | None = None
    error: str | None = None
    platform_message_id: str | None = None

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


SENDERS: web.AppKey[dict[str, Sender]] = web.AppKey("senders")


def register_sender(app: web.Application, sender: Sender) -> None:
    """Make `sender` the one the outbox worker uses for `sender.channel`."""
    app.setdefault(SENDERS, {})
    app[SENDERS][sender.channel] = sender
