"""SMS delivery: GSM-7 text preparation and a generic HTTP gateway (the shape of Vietnamese brand-name SMS APIs).

A gateway is configured by settings: URL, method, an auth header and a body template with `{phone}` and
`{text}` placeholders (values are JSON-escaped when the template is JSON, URL-encoded when it is a form).
Without a URL, SMS are written to the log (console gateway), so the embedded default needs no account.

Text is transliterated to GSM-7 (diacritics removed, đ → d) unless the gateway takes Unicode, then fitted
to one SMS or split into at most three numbered segments ("(1/2) …"), each sent as its own SMS.
"""

from __future__ import annotations

import hashlib
import json
import logging
import unicodedata
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from string import Formatter
from typing import Any, Literal, Protocol

import aiohttp
from aiohttp import web

from bot import keys
from bot.channels.base import Channel, SendOutcome, register_sender
from bot.settings import Settings
from storage.phones import mask_phone, to_international
from storage.state import StateStore

log = logging.getLogger(__name__)

# GSM 03.38 basic character set (one septet each) and its extension table (escape + char: two septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

# Characters common in Vietnamese text that NFD decomposition does not reduce to ASCII.
_REPLACEMENTS = {
    "đ": "d",
    "Đ": "D",
    "₫": "d",
    "“": '"',
    "”": '"',
    "„": '"',
    "«": '"',
    "»": '"',
    "‘": "'",
    "’": "'",
    "–": "-",
    "—": "-",
    "…": "...",
    "•": "-",
    "×": "x",
    "\u00a0": " ",
    "\t": " ",
}

SINGLE_GSM, SEGMENT_GSM = 160, 153
SINGLE_UCS2, SEGMENT_UCS2 = 70, 67
MAX_SEGMENTS = 3
ELLIPSIS = "..."


def to_gsm7(text: str) -> str:
    """Vietnamese (or any Latin) text as plain GSM-7: diacritics removed, đ → d, the rest replaced by '?'."""
    text = "".join(_REPLACEMENTS.get(ch, ch) for ch in unicodedata.normalize("NFC", text))
    stripped = "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")
    stripped = unicodedata.normalize("NFC", stripped)
    return "".join(ch if ch in GSM7_BASIC or ch in GSM7_EXTENDED else "?" for ch in stripped)


def sms_length(text: str, *, unicode: bool = False) -> int:
    """Length as the network counts it: septets for GSM-7 (extension chars count two), UTF-16 units for UCS-2."""
    if unicode:
        return len(text.encode("utf-16-le")) // 2
    return sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)


def prepare_sms(text: str, *, unicode: bool = False, max_segments: int = MAX_SEGMENTS) -> list[str]:
    """The SMS to send for `text`: one when it fits, else numbered segments; truncated beyond `max_segments`."""
    text = " ".join(text.split()) if not unicode else " ".join(unicodedata.normalize("NFC", text).split())
    if not unicode:
        text = to_gsm7(text)
    single, segment = (SINGLE_UCS2, SEGMENT_UCS2) if unicode else (SINGLE_GSM, SEGMENT_GSM)
    if sms_length(text, unicode=unicode) <= single:
        return [text]
    # The numbering "(i/n) " takes six characters of each segment (n is at most 9).
    body_limit = segment - len(f"({max_segments}/{max_segments}) ")
    chunks = _wrap(text, body_limit, unicode)
    if len(chunks) > max_segments:
        last = chunks[max_segments - 1]
        chunks = chunks[: max_segments - 1] + [_truncate(last, body_limit, unicode)]
    total = len(chunks)
    return [f"({i}/{total}) {chunk}" for i, chunk in enumerate(chunks, start=1)]


def _wrap(text: str, limit: int, unicode: bool) -> list[str]:
    """Greedy word wrap by SMS length; a word longer than a whole segment is cut into pieces."""
    chunks: list[str] = []
    current = ""
    for word in text.split(" "):
        pieces: list[str] = []
        while sms_length(word, unicode=unicode) > limit:
            head = _cut(word, limit, unicode)
            pieces.append(head)
            word = word[len(head) :]
        pieces.append(word)
        for piece in pieces:
            candidate = f"{current} {piece}" if current else piece
            if sms_length(candidate, unicode=unicode) <= limit:
                current = candidate
            else:
                chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks


def _cut(text: str, limit: int, unicode: bool) -> str:
    """The longest prefix of `text` whose SMS length is at most `limit`."""
    out = ""
    for ch in text:
        if sms_length(out + ch, unicode=unicode) > limit:
            break
        out += ch
    return out


def _truncate(chunk: str, limit: int, unicode: bool) -> str:
    """`chunk` shortened at a word boundary so that it ends with an ellipsis within `limit`."""
    room = limit - len(ELLIPSIS)
    if sms_length(chunk, unicode=unicode) <= room:
        return chunk + ELLIPSIS
    head = _cut(chunk, room, unicode)
    if " " in head:
        head = head[: head.rindex(" ")]
    return head.rstrip(" ,;:") + ELLIPSIS


# --- gateways ----------------------------------------------------------------------------------------


class SmsGateway(Protocol):
    """Sends one SMS (one segment) to a phone in international form (84…)."""

    async def deliver(self, phone: str, text: str) -> SendOutcome: ...

    async def close(self) -> None: ...


class ConsoleSmsGateway:
    """The default: SMS are written to the log with a masked phone number."""

    async def deliver(self, phone: str, text: str) -> SendOutcome:
        log.info("SMS (console gateway) to %s: %s", mask_phone(phone), text)
        return SendOutcome.sent()

    async def close(self) -> None:
        return None


class TemplateError(ValueError):
    """SMS_GATEWAY_BODY_TEMPLATE or SMS_GATEWAY_URL uses a placeholder other than {phone} and {text}."""


PLACEHOLDERS = frozenset({"phone", "text"})
BodyKind = Literal["json", "form", "text"]


@dataclass(frozen=True)
class Template:
    """A `str.format`-style template restricted to `{phone}` and `{text}` (`{{`/`}}` are literal braces)."""

    parts: tuple[tuple[str, str | None], ...]

    @classmethod
    def parse(cls, template: str, what: str) -> Template:
        try:
            parsed = list(Formatter().parse(template))
        except ValueError as exc:
            raise TemplateError(f"{what}: {exc}") from None
        parts: list[tuple[str, str | None]] = []
        for literal, field, spec, conversion in parsed:
            if field is not None and (field not in PLACEHOLDERS or spec or conversion):
                raise TemplateError(f"{what}: unknown placeholder {{{field}}}; use {{phone}} and {{text}}")
            parts.append((literal, field))
        return cls(tuple(parts))

    def render(self, values: dict[str, str]) -> str:
        return "".join(literal + (values[field] if field is not None else "") for literal, field in self.parts)

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(field for _literal, field in self.parts if field is not None)


def body_kind(template: Template) -> BodyKind:
    """JSON when the template renders to JSON, a form when it is `a=b&c=d`, plain text otherwise."""
    sample = template.render({"phone": "84900000000", "text": "x"})
    try:
        json.loads(sample)
        return "json"
    except ValueError:
        pass
    pairs = sample.split("&")
    if sample and all("=" in pair and " " not in pair.split("=", 1)[0] for pair in pairs):
        return "form"
    return "text"


def escape(value: str, kind: BodyKind) -> str:
    if kind == "json":
        return json.dumps(value, ensure_ascii=False)[1:-1]
    if kind == "form":
        return urllib.parse.quote_plus(value)
    return value


CONTENT_TYPES: dict[BodyKind, str] = {
    "json": "application/json; charset=utf-8",
    "form": "application/x-www-form-urlencoded",
    "text": "text/plain; charset=utf-8",
}


def parse_auth_header(raw: str | None) -> dict[str, str]:
    """`Name: value` sets that header; a bare value (e.g. `Bearer abc`) becomes `Authorization`."""
    if not raw:
        return {}
    name, sep, value = raw.partition(":")
    if sep and name.strip() and " " not in name.strip():
        return {name.strip(): value.strip()}
    return {"Authorization": raw.strip()}


class HttpSmsGateway:
    """A generic HTTP SMS gateway: 2xx sent, 5xx/429/timeout retry, other 4xx failed."""

    def __init__(
        self,
        url: str,
        *,
        method: str = "POST",
        auth_header: str | None = None,
        body_template: str = '{{"phone": "{phone}", "text": "{text}"}}',
        timeout: float = 10.0,
    ) -> None:
        self.url = Template.parse(url, "SMS_GATEWAY_URL")
        self.method = method.upper()
        self.headers = parse_auth_header(auth_header)
        self.body = Template.parse(body_template, "SMS_GATEWAY_BODY_TEMPLATE")
        self.kind = body_kind(self.body)
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    def request_parts(self, phone: str, text: str) -> tuple[str, dict[str, str], str | None]:
        """URL, headers and body of the request for one SMS (separate for tests and logs)."""
        url = self.url.render({"phone": urllib.parse.quote(phone), "text": urllib.parse.quote(text)})
        headers = dict(self.headers)
        if self.method == "GET":
            if self.kind == "form" and not self.url.fields:
                query = self.body.render({"phone": escape(phone, "form"), "text": escape(text, "form")})
                url = f"{url}{'&' if '?' in url else '?'}{query}"
            return url, headers, None
        body = self.body.render({"phone": escape(phone, self.kind), "text": escape(text, self.kind)})
        headers["Content-Type"] = CONTENT_TYPES[self.kind]
        return url, headers, body

    async def deliver(self, phone: str, text: str) -> SendOutcome:
        url, headers, body = self.request_parts(phone, text)
        try:
            async with self._client().request(
                self.method, url, headers=headers, data=body.encode("utf-8") if body is not None else None
            ) as response:
                raw = await response.text(errors="replace")
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except TimeoutError:
            return SendOutcome("retry", error="SMS gateway timed out")
        except aiohttp.ClientError as exc:
            return SendOutcome("retry", error=f"SMS gateway unreachable: {type(exc).__name__}")
        if 200 <= status < 300:
            return SendOutcome.sent(_message_id(raw))
        detail = f"SMS gateway answered {status}: {raw[:200]}"
        if status == 429 or status >= 500:
            return SendOutcome("retry", retry_after=_seconds(retry_after), error=detail)
        return SendOutcome("failed", error=detail)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _message_id(raw: str) -> str | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in ("message_id", "messageId", "msg_id", "MsgId", "SMSID", "id"):
        if data.get(key) is not None:
            return str(data[key])[:64]
    return None


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


# --- the outbox sender -------------------------------------------------------------------------------

PROGRESS_TTL = 2 * 24 * 3600.0


class SmsSender(Channel):
    """The outbox's `sms` channel: payload text → GSM-7 segments → the gateway.

    When a later segment fails, the segments already delivered are remembered (in the state store) so the
    outbox's retry sends only the rest: the officer never gets segment 1 twice.
    """

    channel = "sms"
    display_name = "SMS"
    per_recipient_per_second: float | None = None
    text_limit: int | None = None  # the sender cuts the text into SMS segments itself
    button_limit = 0

    @classmethod
    async def lifecycle(cls, app: web.Application) -> AsyncIterator[None]:
        """The gateway configured by SMS_GATEWAY_* (the console/log gateway otherwise), closed on clean-up."""
        sender = create_sms_sender(app[keys.SETTINGS])
        sender.state = app[keys.STATE]
        register_sender(app, sender)
        try:
            yield
        finally:
            await sender.close()

    def __init__(
        self,
        gateway: SmsGateway,
        *,
        unicode: bool = False,
        rate_per_second: float | None = None,
        state: StateStore | None = None,
    ) -> None:
        self.gateway = gateway
        self.unicode = unicode
        self.rate_per_second = rate_per_second
        self.state = state

    async def send(self, recipient: str, payload: dict[str, Any]) -> SendOutcome:
        try:
            phone = to_international(recipient)
        except ValueError:
            return SendOutcome("failed", error="not a Vietnamese phone number")
        text = str(payload.get("text") or "").strip()
        if not text:
            return SendOutcome("failed", error="empty SMS text")
        segments = prepare_sms(text, unicode=self.unicode)
        progress_key = self._progress_key(phone, segments)
        done = await self._progress(progress_key)
        outcome = SendOutcome.sent()
        for index in range(done, len(segments)):
            outcome = await self.gateway.deliver(phone, segments[index])
            if outcome.status != "sent":
                return outcome
            if len(segments) > 1 and index + 1 < len(segments):
                await self._save_progress(progress_key, index + 1)
        if len(segments) > 1:
            await self._clear_progress(progress_key)
        return outcome

    def _progress_key(self, phone: str, segments: list[str]) -> str | None:
        if self.state is None or len(segments) == 1:
            return None
        digest = hashlib.sha256("\x1f".join([phone, *segments]).encode("utf-8")).hexdigest()[:24]
        return self.state.keys.build("sms", "progress", digest)

    async def _progress(self, key: str | None) -> int:
        if key is None or self.state is None:
            return 0
        value = await self.state.get(key)
        return int(value) if isinstance(value, int) else 0

    async def _save_progress(self, key: str | None, count: int) -> None:
        if key is not None and self.state is not None:
            await self.state.set(key, count, ttl=PROGRESS_TTL)

    async def _clear_progress(self, key: str | None) -> None:
        if key is not None and self.state is not None:
            await self.state.delete(key)

    async def close(self) -> None:
        await self.gateway.close()


def create_sms_gateway(settings: Settings) -> SmsGateway:
    """The HTTP gateway when SMS_GATEWAY_URL is set, else the console (log) gateway."""
    if not settings.sms_gateway_url:
        return ConsoleSmsGateway()
    auth = settings.sms_gateway_auth_header.get_secret_value() if settings.sms_gateway_auth_header else None
    return HttpSmsGateway(
        settings.sms_gateway_url,
        method=settings.sms_gateway_method,
        auth_header=auth,
        body_template=settings.sms_gateway_body_template,
        timeout=settings.sms_gateway_timeout_seconds,
    )


def create_sms_sender(settings: Settings) -> SmsSender:
    return SmsSender(
        create_sms_gateway(settings),
        unicode=settings.sms_gateway_unicode,
        rate_per_second=settings.sms_rate_per_second or None,
    )


__all__ = [
    "ConsoleSmsGateway",
    "HttpSmsGateway",
    "SmsGateway",
    "SmsSender",
    "TemplateError",
    "create_sms_gateway",
    "create_sms_sender",
    "prepare_sms",
    "sms_length",
    "to_gsm7",
]
