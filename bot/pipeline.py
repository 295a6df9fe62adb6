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
import secrets
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import replace

from bot.channels.base import Limits
from handlers.base import Button, Context, Handler, IncomingMessage, Reply
from storage.outbox import OutgoingMessage

log = logging.getLogger(__name__)

# The limits of a channel by its name (read from the channel objects: `bot.channels.base.limits_of`).
LimitsOf = Callable[[str], Limits]
MORE_PREFIX = "more:"
MORE_LABEL = "Xem thêm"
MORE_TTL_SECONDS = 7 * 24 * 3600  # as long as a chat's buttons stay useful (Zalo's longest window)
MSG_MORE = "Các lựa chọn khác:"
MSG_MORE_GONE = "Các lựa chọn này không còn hiệu lực. Ông/Bà vui lòng nhắn lại câu hỏi."

MSG_TOO_LONG = (
    "Tin nhắn của Ông/Bà dài quá {limit} ký tự nên tôi chưa đọc được. Xin Ông/Bà gửi ngắn gọn hơn, mỗi tin một câu hỏi."
)
MSG_ERROR = (
    "Xin lỗi, hệ thống đang gặp sự cố nên chưa trả lời được tin nhắn của Ông/Bà. "
    "Xin Ông/Bà thử lại sau ít phút hoặc gọi đường dây nóng {hotline}."
)


class Pipeline:
    """Runs the ordered handlers on one message and shapes their replies for the outbox."""

    def __init__(self, ctx: Context, handlers: Sequence[Handler], limits: LimitsOf | None = None) -> None:
        self.ctx = ctx
        self.handlers = list(handlers)
        self.limits: LimitsOf = limits or (lambda _channel: Limits())

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
        if prepared.kind == "button" and (prepared.payload or "").startswith(MORE_PREFIX):
            return await self.fit(prepared, [await self._more(prepared.payload or "")])
        for handler in self.handlers:
            replies = await handler(prepared, self.ctx)
            if replies is not None:
                return await self.fit(prepared, list(replies))
        return []

    async def fit(self, msg: IncomingMessage, replies: list[Reply]) -> list[Reply]:
        """Replies with more buttons than their channel shows keep the first ones (handlers put the most
        useful first) and a "Xem thêm" button that shows the rest — never a silent drop."""
        fitted: list[Reply] = []
        for reply in replies:
            channel = reply.to[0] if reply.to is not None else msg.channel
            limit = self.limits(channel).buttons
            flat = [b for row in reply.buttons for b in row]
            if limit is None or len(flat) <= limit or limit < 2:
                fitted.append(reply)
                continue
            keep, rest = flat[: limit - 1], flat[limit - 1 :]
            token = secrets.token_urlsafe(9)
            key = self.ctx.state.keys.build("more", token)
            await self.ctx.state.set(key, [[b.label, b.payload] for b in rest], ttl=MORE_TTL_SECONDS)
            per_row = max(1, len(reply.buttons[0])) if reply.buttons else 2
            shown = [*keep, Button(MORE_LABEL, MORE_PREFIX + token)]
            rows = tuple(tuple(shown[i : i + per_row]) for i in range(0, len(shown), per_row))
            fitted.append(replace(reply, buttons=rows))
        return fitted

    async def _more(self, payload: str) -> Reply:
        """The buttons a "Xem thêm" stood for (a longer list is cut again by `fit`)."""
        stored = await self.ctx.state.get(self.ctx.state.keys.build("more", payload[len(MORE_PREFIX) :]))
        if not isinstance(stored, list) or not stored:
            return Reply(text=MSG_MORE_GONE)
        return Reply.with_buttons(MSG_MORE, [Button(str(label), str(value)) for label, value in stored])

    def error_reply(self) -> Reply:
        """What the citizen reads when their message could not be handled at all."""
        return Reply(text=MSG_ERROR.format(hotline=self.ctx.settings.contact_hotline), kind="error")

    def outgoing(
        self, msg: IncomingMessage, replies: Sequence[Reply], key_prefix: str, contact_id: int | None = None
    ) -> list[OutgoingMessage]:
        """Outbox rows for the replies; keys `<key_prefix>:<n>` make a retried row enqueue nothing new."""
        rows: list[OutgoingMessage] = []
        n = 0
        for reply in replies:
            channel, recipient = reply.to if reply.to is not None else (msg.channel, msg.chat_id)
            for part in split_reply(reply, self.limits(channel).text):
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


__all__ = ["MORE_LABEL", "LimitsOf", "Pipeline", "split_reply", "split_text"]
