"""Channel-neutral conversation types: what a handler receives, what it returns, and what it may use.

Data flows one way: channel adapter → `IncomingMessage` → handlers (with a `Context`) → `list[Reply]` →
outbox → channel adapter sends. Nothing here knows Telegram, Zalo or aiohttp.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from bot.settings import Settings
    from knowledge import KnowledgeBase, Matcher
    from storage.calendar import WorkingCalendar
    from storage.db import SessionMaker
    from storage.dossiers import DossierService
    from storage.state import StateStore

# A channel's name ("telegram", "zalo", "console", …): the channels declare them (bot/channels/registry.py);
# handlers never list them.
ChannelName = str
MessageKind = Literal["text", "button", "start", "contact", "follow", "unfollow", "media", "location", "sticker"]


@dataclass(frozen=True)
class IncomingMessage:
    """One thing a person did in a chat, whatever the platform."""

    channel: ChannelName
    chat_id: str
    user_id: str
    kind: MessageKind = "text"
    text: str = ""
    payload: str | None = None  # button payload (callback data / Zalo quick-reply payload)
    start_param: str | None = None  # deep-link parameter: Telegram /start <param>, Zalo follow ref
    phone: str | None = None  # a phone number the user shared (verified as their own by the channel)
    language: str | None = None  # the platform's language hint, e.g. "vi", "en"
    message_id: str | None = None  # the platform's id of this message
    reply_to_message_id: str | None = None  # the message this one replies to (officer relay)
    chat_type: Literal["private", "group"] = "private"
    display_name: str | None = None
    received_at: datetime | None = None


@dataclass(frozen=True)
class Button:
    """A button or quick reply; `payload` comes back as `IncomingMessage.payload`."""

    label: str
    payload: str


@dataclass(frozen=True)
class Attachment:
    """A document or image sent with a reply."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Reply:
    """What the bot says: text, optional rows of buttons, an optional document or image."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    document: Attachment | None = None
    image: Attachment | None = None
    # Send to another chat than the one that asked (officer relay): (channel, chat_id).
    to: tuple[str, str] | None = None
    kind: str = "reply"
    meta: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def with_buttons(text: str, buttons: list[Button], per_row: int = 2) -> Reply:
        rows = tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))
        return Reply(text=text, buttons=rows)

    def to_payload(self) -> dict[str, Any]:
        """The JSON form stored in the outbox (attachments base64-encoded)."""
        payload: dict[str, Any] = {"text": self.text}
        if self.buttons:
            payload["buttons"] = [[{"label": b.label, "payload": b.payload} for b in row] for row in self.buttons]
        for name in ("document", "image"):
            attachment: Attachment | None = getattr(self, name)
            if attachment is not None:
                payload[name] = {
                    "filename": attachment.filename,
                    "content_type": attachment.content_type,
                    "data": base64.b64encode(attachment.data).decode("ascii"),
                }
        if self.meta:
            payload["meta"] = self.meta
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Reply:
        def attachment(data: dict[str, Any] | None) -> Attachment | None:
            if not data:
                return None
            return Attachment(data["filename"], data["content_type"], base64.b64decode(data["data"]))

        buttons = tuple(tuple(Button(b["label"], b["payload"]) for b in row) for row in payload.get("buttons", []))
        return cls(
            text=payload.get("text", ""),
            buttons=buttons,
            document=attachment(payload.get("document")),
            image=attachment(payload.get("image")),
            meta=dict(payload.get("meta", {})),
        )


@dataclass(frozen=True)
class Context:
    """Explicit dependencies of the handlers."""

    settings: Settings
    sessionmaker: SessionMaker
    state: StateStore
    kb: KnowledgeBase
    matcher: Matcher
    calendar: WorkingCalendar
    clock: Callable[[], datetime]
    dossiers: DossierService
    # How officers see each channel ("Zalo", "Telegram", …), as the channels declare it; a channel not
    # listed is shown by its name.
    channel_names: Mapping[str, str] = field(default_factory=dict)


# A handler answers the message (a list, possibly empty when it deliberately stays quiet) or returns None
# to let the next handler in the list try.
Handler = Callable[[IncomingMessage, Context], Awaitable[list[Reply] | None]]
