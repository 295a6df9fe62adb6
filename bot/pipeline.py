"""The conversation pipeline: `IncomingMessage` → ordered handlers → replies → outbox rows.

The same pipeline serves every channel: the inbox workers (Telegram, Zalo) and `motcua chat` call
`respond`; the workers then turn the replies into outbox rows with `outgoing`, in the transaction that
marks the inbox row done. Handlers are tried in order; the first that returns a list (possibly empty) has
answered. Handlers that need the chat's contact row create it themselves (`storage.contacts.upsert_contact`
is safe under races); the workers upsert it too, with the replies.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace

from handlers.base import Context, Handler, IncomingMessage, Reply
from storage.outbox import OutgoingMessage

log = logging.getLogger(__name__)

# How long one message may be on each channel (longer replies become several messages).
TEXT_LIMITS: dict[str, int] = {"telegram": 4096, "zalo": 2000}

MSG_TOO_LONG = (
    "Tin nhắn của Ông/Bà dài quá {limit} ký tự nên tôi chưa đọc được. Xin Ông/Bà gửi ngắn gọn hơn, mỗi tin một câu hỏi."
)
MSG_ERROR = (
    "Xin lỗi, hệ thống đang gặp sự cố nên chưa trả lời được tin nhắn của Ông/Bà. "
    "Xin Ông/Bà thử lại sau ít phút hoặc gọi đường dây nóng {hotline}."
)


class Pipeline:
    """Runs the ordered handlers on one message and shapes their replies for the outbox."""

    def __init__(self, ctx: Context, handlers: Sequence[Handler]) -> None:
        self.ctx = ctx
        self.handlers = list(handlers)

    def prepare(self, msg: IncomingMessage) -> IncomingMessage | Reply:
        """Normalise the text (NFC, trimmed); a text over the size limit gets a polite refusal instead."""
        text = unicodedata.normalize("NFC", msg.text or "").strip()
        limit = self.ctx.settings.max_text_chars
        if len(text) > limit:
            return Reply(text=MSG_TOO_LONG.format(limit=limit))
        payload = msg.payload[:256] if msg.payload else msg.payload
        if text == msg.text and payload == msg.payload:
            return msg
        return replace(msg, text=text, payload=payload)

    async def respond(self, msg: IncomingMessage) -> list[Reply]:
        """The replies to one message: the first handler that answers decides."""
        prepared = self.prepare(msg)
        if isinstance(prepared, Reply):
            return [prepared]
        for handler in self.handlers:
            replies = await handler(prepared, self.ctx)
            if replies is not None:
                return list(replies)
        return []

    def error_reply(self) -> Reply:
        """What the citizen reads when their message could not be handled at all."""
        return Reply(text=MSG_ERROR.format(hotline=self.ctx.settings.centre_hotline), kind="error")

    @staticmethod
    def outgoing(
        msg: IncomingMessage, replies: Sequence[Reply], key_prefix: str, contact_id: int | None = None
    ) -> list[OutgoingMessage]:
        """Outbox rows for the replies; keys `<key_prefix>:<n>` make a retried row enqueue nothing new."""
        rows: list[OutgoingMessage] = []
        n = 0
        for reply in replies:
            channel, recipient = reply.to if reply.to is not None else (msg.channel, msg.chat_id)
            for part in split_reply(reply, TEXT_LIMITS.get(channel)):
                payload = part.to_payload()
                if reply.to is None and msg.message_id:
                    payload["reply_to"] = msg.message_id  # an answer to this message (Zalo: inside its window)
                rows.append(
                    OutgoingMessage(
                        idempotency_key=f"{key_prefix}:{n}",
                        channel=channel,
                        recipient=recipient,
                        payload=payload,
                        kind=reply.kind[:24],
                        contact_id=contact_id if reply.to is None else None,
                    )
                )
                n += 1
        return rows


_BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?;])\s"), re.compile(r"\s"))


def split_text(text: str, limit: int) -> list[str]:
    """Cut a text into pieces of at most `limit` characters, at paragraph, line, sentence or word ends."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for pattern in _BREAKS:
            ends = [m.start() for m in pattern.finditer(window) if 0 < m.start() <= limit]
            if ends and ends[-1] >= limit // 2:
                cut = ends[-1]
                break
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def split_reply(reply: Reply, limit: int | None) -> list[Reply]:
    """A reply too long for one message becomes several; buttons and attachments go with the last."""
    if limit is None or len(reply.text) <= limit:
        return [reply]
    texts = split_text(reply.text, limit)
    head = [Reply(text=t, kind=reply.kind, meta=reply.meta, to=reply.to) for t in texts[:-1]]
    return [*head, replace(reply, text=texts[-1])]


__all__ = ["TEXT_LIMITS", "Pipeline", "split_reply", "split_text"]
