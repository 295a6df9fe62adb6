"""Zalo Official Account (Open API v3) over aiohttp: webhook, event parsing, the OA client and its tokens.

Webhook: `X-ZEvent-Signature: mac=<sha256 hex of app_id + raw body + timestamp + secret>` is checked on
the raw bytes, in constant time, against both configured secrets (sources disagree whether Zalo signs with
the OA secret key or the app secret; the one that matched is logged). Echo events (`oa_send_*`, our own
messages) are skipped; events are de-duplicated on `message.msg_id` (or event + timestamp + sender).

Tokens: the access token lives ~25 h; the refresh token is single-use and rotates. A refresh runs under a
lock shared by all replicas (the state store's lock, plus a row lock on PostgreSQL) and the new pair is
committed to `platform_tokens` before it is used, so a rotated refresh token is never lost or used twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot import keys
from bot.channels.base import Channel, Route, SendOutcome, register_sender
from bot.http import error_response, json_response, loads_json
from bot.inbox import WRITE_GATE, register_adapter, store_update
from bot.pipeline import split_text
from bot.settings import Settings
from handlers.base import Attachment, IncomingMessage, Reply
from storage.db import SessionMaker
from storage.inbox import NewUpdate
from storage.models import PlatformToken, utcnow
from storage.state import StateStore

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ZEvent-Signature"
TIMESTAMP_HEADER = "X-ZEvent-Timestamp"
MAX_AHEAD_SECONDS = 300  # a clock a little ahead of ours is fine; an event from the future is not
# The body's own timestamp, found without parsing (the body is untrusted until the signature holds).
_BODY_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"?(\d{1,16})"?')
TEXT_LIMIT = 2000
MAX_BUTTONS = 5
BUTTON_TITLE_LIMIT = 100
BUTTON_MAP_TTL_SECONDS = 7 * 24 * 3600  # the window in which Zalo lets the OA answer
BUTTON_MAP_SIZE = 40
# Refresh when less than this is left of the access token (it lives about 25 hours).
REFRESH_MARGIN = timedelta(hours=5)
DEFAULT_ACCESS_LIFETIME = timedelta(seconds=90000)
LOCK_WAIT_SECONDS = 30.0
LOCK_TTL_SECONDS = 60.0

# Error codes (HTTP 200 with `error != 0`).
AUTH_ERRORS = frozenset({-216, -220, -124})
RATE_ERRORS = frozenset({-32})
UNREACHABLE_ERRORS = frozenset({-213, -217, -227, -234, -244})
# Outside the window in which the OA may send consultation messages: not the user's doing (never "blocked");
# a notice goes on as a template message.
WINDOW_ERRORS = frozenset({-230, -232})
TRANSIENT_ERRORS = frozenset({-100, -200, -211})
RATE_BACKOFF_SECONDS = 60.0

USER_EVENTS_MEDIA = frozenset(
    {
        "user_send_image",
        "user_send_file",
        "user_send_sticker",
        "user_send_gif",
        "user_send_audio",
        "user_send_video",
        "user_send_link",
        "user_send_business_card",
    }
)
HANDLED_EVENTS = frozenset(
    {"user_send_text", "user_send_location", "follow", "unfollow", "user_submit_info"} | USER_EVENTS_MEDIA
)
# Where a follow event may carry the tracking/ref parameter of the QR code or link that was opened.
FOLLOW_REF_FIELDS = ("ref", "tracking_id", "tracking", "info", "data")


# --- signature --------------------------------------------------------------------------------------


def zalo_signature(app_id: str, raw_body: bytes, timestamp: str, secret: str) -> str:
    """The hex digest Zalo puts after `mac=`: plain SHA-256 of app_id + body + timestamp + secret."""
    return hashlib.sha256(app_id.encode() + raw_body + timestamp.encode() + secret.encode()).hexdigest()


def verify_signature(settings: Settings, raw_body: bytes, timestamp: str, header: str) -> str | None:
    """The name of the configured secret that produced `header`, or None when none did."""
    if not settings.zalo_app_id:
        return None
    given = header.strip()
    if given.lower().startswith("mac="):
        given = given[4:]
    given_bytes = given.strip().lower().encode()
    matched: str | None = None
    for name, secret in (
        ("ZALO_OA_SECRET_KEY", settings.zalo_oa_secret_key),
        ("ZALO_APP_SECRET", settings.zalo_app_secret),
    ):
        if secret is None:
            continue
        expected = zalo_signature(settings.zalo_app_id, raw_body, timestamp, secret.get_secret_value())
        # Both are compared (constant time, no early exit) so timing says nothing about which key is used.
        if hmac.compare_digest(expected.encode(), given_bytes) and matched is None:
            matched = name
    return matched


def event_timestamps(header: str | None, raw_body: bytes) -> list[tuple[str, str]]:
    """The timestamps the signature may cover, and where each came from: the `X-ZEvent-Timestamp` header,
    then the body's `timestamp` (2026 integrations read the header and fall back to the body)."""
    found: list[tuple[str, str]] = []
    if header and header.strip().isdigit() and len(header.strip()) <= 16:
        found.append((header.strip(), "header"))
    match = _BODY_TIMESTAMP.search(raw_body[:65536])
    if match:
        found.append((match.group(1).decode(), "body"))
    return found


def _age_seconds(timestamp: str | None) -> float | None:
    """How old an event is (milliseconds since the epoch; seconds accepted too), None when unreadable."""
    if not timestamp:
        return None
    value = int(timestamp)
    seconds = value / 1000 if value > 10**11 else float(value)
    return time.time() - seconds


# --- tokens -----------------------------------------------------------------------------------------


class ZaloAuthError(Exception):
    """No usable access token (refresh failed or not configured); a person has to look."""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str | None
    expires_at: datetime


def token_row_name(settings: Settings) -> str:
    """`zalo_oa:<fingerprint of the configured seed>`: new tokens in the settings start a new row."""
    seed = settings.zalo_refresh_token or settings.zalo_access_token
    digest = hashlib.sha256(seed.get_secret_value().encode() if seed else b"").hexdigest()[:16]
    return f"zalo_oa:{digest}"


class ZaloTokens:
    """The OA access token: cached, read from `platform_tokens`, refreshed under a shared lock."""

    def __init__(
        self,
        *,
        http: aiohttp.ClientSession,
        settings: Settings,
        sessionmaker: SessionMaker,
        state: StateStore,
        clock: Callable[[], datetime] = utcnow,
        write_gate: Any = None,
    ) -> None:
        self.http = http
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.state = state
        self.clock = clock
        self.gate = write_gate
        self.name = token_row_name(settings)
        self._cached: TokenPair | None = None
        self._local = asyncio.Lock()
        self.refreshes = 0  # refresh calls this process made (logged, and seen by tests)
        # Why Zalo refused the last refresh (the refresh token is dead: an OA admin must grant access again).
        self.dead: str | None = None

    def _fresh(self, pair: TokenPair | None) -> bool:
        return pair is not None and bool(pair.access_token) and pair.expires_at - self.clock() > REFRESH_MARGIN

    async def access_token(self) -> str:
        """A valid access token, refreshing first when it is close to expiry."""
        if self._fresh(self._cached):
            assert self._cached is not None
            return self._cached.access_token
        pair = await self._load()
        if self._fresh(pair):
            assert pair is not None
            self._cached = pair
            return pair.access_token
        return await self.refresh(stale=pair.access_token if pair else None)

    async def refresh(self, stale: str | None) -> str:
        """Replace the access token `stale` (rejected or expiring); only one replica calls Zalo."""
        async with self._local:
            if self._cached is not None and self._cached.access_token != stale and self._fresh(self._cached):
                return self._cached.access_token
            lock = await self._acquire_lock()
            try:
                pair = await self._refresh_locked(stale)
            finally:
                await self.state.release_lock("zalo-token-refresh", lock)
            self._cached = pair
            return pair.access_token

    async def grant(self, pair: TokenPair) -> None:
        """Tokens from a new grant by the OA admin ("Kết nối lại Zalo OA"): stored, used from now on."""
        async with self._local:
            lock = await self._acquire_lock()
            try:
                await self._save(pair)
            finally:
                await self.state.release_lock("zalo-token-refresh", lock)
            self._cached = pair
            self.dead = None

    async def _acquire_lock(self) -> str:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            token = await self.state.acquire_lock("zalo-token-refresh", LOCK_TTL_SECONDS)
            if token is not None:
                return token
            if time.monotonic() > deadline:
                raise ZaloAuthError("another worker holds the token refresh lock for too long")
            await asyncio.sleep(0.05)

    async def _refresh_locked(self, stale: str | None) -> TokenPair:
        engine = self.sessionmaker.kw.get("bind")
        if engine is not None and engine.dialect.name == "postgresql":
            # The row lock makes replicas without a shared state store wait for each other too.
            async with self.sessionmaker.begin() as session:
                await self._seed(session)
                row = (
                    await session.execute(
                        select(PlatformToken).where(PlatformToken.name == self.name).with_for_update()
                    )
                ).scalar_one()
                current = TokenPair(row.access_token, row.refresh_token, row.expires_at)
                if current.access_token != stale and self._fresh(current):
                    return current  # another worker refreshed while we waited
                new = await self._call_oauth(current.refresh_token)
                row.access_token, row.refresh_token = new.access_token, new.refresh_token
                row.expires_at, row.updated_at = new.expires_at, utcnow()
            return new  # committed: durable before anyone uses it
        stored = await self._load()
        if stored is not None and stored.access_token != stale and self._fresh(stored):
            return stored
        fresh = await self._call_oauth(stored.refresh_token if stored else None)
        await self._save(fresh)
        return fresh

    async def _call_oauth(self, refresh_token: str | None) -> TokenPair:
        settings = self.settings
        if not refresh_token or not settings.zalo_app_id or settings.zalo_app_secret is None:
            raise ZaloAuthError("cannot refresh the Zalo token: ZALO_REFRESH_TOKEN/APP_ID/APP_SECRET missing")
        url = settings.zalo_oauth_base_url.rstrip("/") + "/v4/oa/access_token"
        form = {"app_id": settings.zalo_app_id, "grant_type": "refresh_token", "refresh_token": refresh_token}
        headers = {"secret_key": settings.zalo_app_secret.get_secret_value()}
        self.refreshes += 1
        try:
            async with self.http.post(url, data=form, headers=headers) as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ZaloAuthError(f"token refresh request failed: {type(exc).__name__}") from None
        if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
            reason = body.get("error_name") or body.get("error") if isinstance(body, dict) else "not JSON"
            log.error("zalo: token refresh refused (%s); an OA admin may have to grant access again", reason)
            self.dead = str(reason)[:200]
            raise ZaloAuthError(f"token refresh refused: {reason}")
        self.dead = None
        try:
            lifetime = timedelta(seconds=int(body.get("expires_in", 90000)))
        except (TypeError, ValueError):
            lifetime = DEFAULT_ACCESS_LIFETIME
        log.info("zalo: access token refreshed (valid %s h)", round(lifetime.total_seconds() / 3600, 1))
        return TokenPair(str(body["access_token"]), str(body["refresh_token"]), self.clock() + lifetime)

    def _seed_values(self) -> dict[str, Any]:
        settings = self.settings
        access = settings.zalo_access_token.get_secret_value() if settings.zalo_access_token else ""
        refresh = settings.zalo_refresh_token.get_secret_value() if settings.zalo_refresh_token else None
        # The configured access token's age is unknown: trust it a day; a -216 refreshes it sooner.
        expires = self.clock() + timedelta(hours=24) if access else self.clock()
        return {
            "name": self.name,
            "access_token": access,
            "refresh_token": refresh,
            "expires_at": expires,
            "updated_at": utcnow(),
        }

    async def _seed(self, session: Any) -> None:
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await session.execute(
            insert(PlatformToken).values(**self._seed_values()).on_conflict_do_nothing(index_elements=["name"])
        )

    async def _read(self) -> TokenPair | None:
        async with self.sessionmaker() as session:
            row = await session.get(PlatformToken, self.name)
            return None if row is None else TokenPair(row.access_token, row.refresh_token, row.expires_at)

    async def _load(self) -> TokenPair | None:
        """The stored pair; the first time, seeded from the settings."""
        pair = await self._read()
        if pair is None:
            async with self._gate(), self.sessionmaker.begin() as session:
                await self._seed(session)
            pair = await self._read()
        return pair

    async def _save(self, pair: TokenPair) -> None:
        async with self._gate(), self.sessionmaker.begin() as session:
            await self._seed(session)
            row = await session.get(PlatformToken, self.name)
            assert row is not None
            row.access_token, row.refresh_token = pair.access_token, pair.refresh_token
            row.expires_at, row.updated_at = pair.expires_at, utcnow()

    def _gate(self) -> Any:
        return self.gate if self.gate is not None else contextlib.nullcontext()


# --- the OA client ----------------------------------------------------------------------------------


class ZaloApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"zalo error {code}: {message}")
        self.code = code
        self.message = message


class ZaloClient:
    """Calls to the OA Open API with the `access_token` header; a rejected token is refreshed once."""

    def __init__(self, http: aiohttp.ClientSession, settings: Settings, tokens: ZaloTokens) -> None:
        self.http = http
        self.base_url = settings.zalo_api_base_url.rstrip("/")
        self.tokens = tokens

    async def call(self, path: str, *, json_body: Any = None, form: aiohttp.FormData | None = None) -> dict[str, Any]:
        """POST to the OA API and return `data`; raises `ZaloApiError` for `error != 0` (after one token refresh)."""
        return await self.call_url(self.base_url + path, json_body=json_body, form=form)

    async def call_url(
        self, url: str, *, json_body: Any = None, form: aiohttp.FormData | None = None
    ) -> dict[str, Any]:
        """`call` on any Zalo API with the OA token (the ZBS template API lives on another host)."""
        token = await self.tokens.access_token()
        body = await self._post(url, token, json_body, form)
        code = _error_code(body)
        if code in AUTH_ERRORS:
            token = await self.tokens.refresh(stale=token)
            body = await self._post(url, token, json_body, form)
            code = _error_code(body)
        if code != 0:
            raise ZaloApiError(code, str(body.get("message", "")))
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    async def _post(self, url: str, token: str, json_body: Any, form: aiohttp.FormData | None) -> dict[str, Any]:
        headers = {"access_token": token}
        kwargs: dict[str, Any] = {"headers": headers}
        if form is not None:
            kwargs["data"] = form
        else:
            kwargs["json"] = json_body
        async with self.http.post(url, **kwargs) as response:
            if response.status >= 500 or response.status == 429:
                raise aiohttp.ClientResponseError(
                    response.request_info, (), status=response.status, message="server error"
                )
            body = await response.json(content_type=None)
        if not isinstance(body, dict):
            raise ZaloApiError(-1, "response is not a JSON object")
        return body


def _error_code(body: dict[str, Any]) -> int:
    try:
        return int(body.get("error", 0))
    except (TypeError, ValueError):
        return -1


# --- the channel: parsing and sending -----------------------------------------------------------------


class ZaloChannel(Channel):
    """Parses stored Zalo events into messages and sends outbox payloads as OA consultation messages."""

    channel = "zalo"
    display_name = "Zalo"
    text_limit = TEXT_LIMIT
    button_limit = MAX_BUTTONS

    @classmethod
    def routes(cls) -> Sequence[Route]:
        return [("POST", "/webhooks/zalo", zalo_webhook)]

    @classmethod
    async def lifecycle(cls, app: web.Application) -> AsyncIterator[None]:
        """The Zalo HTTP client and token store (when sending is configured) and the webhook adapter."""
        settings = app[keys.SETTINGS]
        if not settings.zalo_enabled and not webhook_configured(settings):
            yield
            return
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        client: ZaloClient | None = None
        if settings.zalo_enabled:
            tokens = ZaloTokens(
                http=http,
                settings=settings,
                sessionmaker=app[keys.SESSIONMAKER],
                state=app[keys.STATE],
                write_gate=app.get(WRITE_GATE),
            )
            client = ZaloClient(http, settings, tokens)
        channel = cls(settings, app[keys.STATE], client)
        if webhook_configured(settings):
            app[ZALO] = channel
            register_adapter(app, channel)
        else:
            log.warning("zalo: ZALO_APP_ID/secret not set: the Zalo webhook is off, sending only")
        refresher: asyncio.Task[None] | None = None
        stop = asyncio.Event()
        if client is not None:
            from bot.channels.zalo_templates import ZaloTemplateChannel

            register_sender(app, channel)
            # Template messages (ZBS) use the same client, so the same token store and the same refresh.
            register_sender(
                app,
                ZaloTemplateChannel(
                    client,
                    base_url=settings.zalo_zns_base_url,
                    phone_path=settings.zalo_template_phone_path,
                    uid_path=settings.zalo_template_uid_path,
                    tz=ZoneInfo(settings.timezone),
                    clock=app[keys.CONTEXT].clock,
                    rate_per_second=settings.zalo_rate_per_second or None,
                ),
            )
            app[ZALO_TOKENS] = client.tokens
            app.setdefault(keys.HEALTH_CHECKS, []).append(token_health(client.tokens))
            if settings.workers_enabled:
                refresher = asyncio.create_task(keep_token_fresh(client.tokens, stop), name="zalo-token-refresher")
        try:
            yield
        finally:
            if refresher is not None:
                stop.set()  # let a refresh in progress finish: cancelling it could lose a rotated token
                try:
                    await asyncio.wait_for(asyncio.shield(refresher), 20)
                except TimeoutError:
                    refresher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await refresher
            await http.close()

    def __init__(self, settings: Settings, state: StateStore, client: ZaloClient | None) -> None:
        self.state = state
        self.client = client
        self.rate_per_second: float | None = settings.zalo_rate_per_second or None
        self.per_recipient_per_second: float | None = None
        # Which secret signed the webhooks and where the timestamp came from (logged once each).
        self.signature_keys_seen: set[tuple[str, str]] = set()

    def _button_key(self, user_id: str) -> str:
        return self.state.keys.build("zalo", "buttons", user_id)

    # --- receiving -------------------------------------------------------------------------------

    async def to_message(self, payload: dict[str, Any]) -> IncomingMessage | None:
        event = str(payload.get("event_name", ""))
        user_id = _user_of(payload)
        if not user_id or event not in HANDLED_EVENTS:
            return None
        message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
        assert isinstance(message, dict)
        base: dict[str, Any] = {
            "channel": "zalo",
            "chat_id": user_id,
            "user_id": user_id,
            "message_id": str(message["msg_id"]) if message.get("msg_id") else None,
            "received_at": _time_of(payload),
        }
        if event == "user_send_text":
            text = str(message.get("text", ""))
            buttons = await self.state.get(self._button_key(user_id))
            if isinstance(buttons, dict) and text.strip() in buttons:
                return IncomingMessage(kind="button", payload=str(buttons[text.strip()]), text=text, **base)
            return IncomingMessage(kind="text", text=text, **base)
        if event == "follow":
            return IncomingMessage(kind="follow", start_param=_follow_ref(payload), **base)
        if event == "unfollow":
            return IncomingMessage(kind="unfollow", **base)
        if event == "user_submit_info":
            info = payload.get("info") if isinstance(payload.get("info"), dict) else {}
            assert isinstance(info, dict)
            phone = str(info["phone"]) if info.get("phone") else None
            name = str(info["name"]) if info.get("name") else None
            return IncomingMessage(kind="contact", phone=phone, display_name=name, **base)
        if event == "user_send_location":
            return IncomingMessage(kind="location", **base)
        if event in ("user_send_sticker", "user_send_gif"):
            return IncomingMessage(kind="sticker", **base)
        return IncomingMessage(kind="media", text=str(message.get("text", "") or ""), **base)

    async def after_handled(self, payload: dict[str, Any]) -> None:
        return None

    # --- sending ---------------------------------------------------------------------------------

    async def send(self, recipient: str, payload: dict[str, Any]) -> SendOutcome:
        """Send one outbox payload; Zalo error codes become outcomes."""
        if self.client is None:
            return SendOutcome("retry", error="Zalo sending is not configured (ZALO_ACCESS_TOKEN/REFRESH_TOKEN)")
        reply = Reply.from_payload(payload)
        target: dict[str, str] = {"user_id": recipient}
        if payload.get("reply_to"):
            # A reply to the citizen's message (Zalo bills a reply with only user_id as a proactive message).
            target["message_id"] = str(payload["reply_to"])
        try:
            bodies = await self._bodies(recipient, reply)
            first_id: str | None = None
            for body in bodies:
                data = await self.client.call(
                    "/v3.0/oa/message/cs", json_body={"recipient": dict(target), "message": body}
                )
                first_id = first_id or (str(data["message_id"]) if data.get("message_id") else None)
        except ZaloApiError as exc:
            return _outcome_of(exc)
        except ZaloAuthError as exc:
            return SendOutcome("retry", error=str(exc))
        except (aiohttp.ClientError, TimeoutError) as exc:
            return SendOutcome("retry", error=f"{type(exc).__name__}")
        return SendOutcome.sent(first_id)

    async def _bodies(self, recipient: str, reply: Reply) -> list[dict[str, Any]]:
        """The messages for one reply: texts (≤ 2,000 chars, buttons on the last), then image and file."""
        assert self.client is not None
        if reply.meta.get("request_user_info"):
            # Zalo's request-user-info template: the citizen taps to share name and phone (user_submit_info).
            element = {"title": reply.meta.get("title") or "Chia sẻ số điện thoại", "subtitle": reply.text[:500]}
            if reply.meta.get("image_url"):
                element["image_url"] = str(reply.meta["image_url"])
            return [
                {
                    "attachment": {
                        "type": "template",
                        "payload": {"template_type": "request_user_info", "elements": [element]},
                    }
                }
            ]
        texts = split_text(reply.text, TEXT_LIMIT) if reply.text else []
        buttons = [b for row in reply.buttons for b in row]
        if len(buttons) > MAX_BUTTONS:  # the pipeline fits replies to this limit; anything else is a bug
            log.warning("zalo: a message with %d buttons (Zalo shows %d): the rest dropped", len(buttons), MAX_BUTTONS)
            buttons = buttons[:MAX_BUTTONS]
        caption = texts.pop() if reply.image is not None and len(texts) == 1 and not buttons else None
        bodies: list[dict[str, Any]] = [{"text": text} for text in texts]
        if buttons and bodies:
            bodies[-1]["attachment"] = {
                "type": "template",
                "payload": {
                    "buttons": [
                        {
                            "title": b.label[:BUTTON_TITLE_LIMIT],
                            "payload": b.label[:BUTTON_TITLE_LIMIT],
                            "type": "oa.query.show",
                        }
                        for b in buttons
                    ]
                },
            }
        if reply.image is not None:
            data = await self._upload("image", reply.image)
            media: dict[str, Any] = {
                "attachment": {
                    "type": "template",
                    "payload": {
                        "template_type": "media",
                        "elements": [{"media_type": "image", "attachment_id": data.get("attachment_id")}],
                    },
                }
            }
            if caption:
                media["text"] = caption
            bodies.append(media)
        if reply.document is not None:
            data = await self._upload("file", reply.document)
            bodies.append({"attachment": {"type": "file", "payload": {"token": data.get("token")}}})
        if buttons:
            await self._remember_buttons(recipient, {b.label[:BUTTON_TITLE_LIMIT]: b.payload for b in buttons})
        return bodies

    async def _upload(self, kind: str, attachment: Attachment) -> dict[str, Any]:
        assert self.client is not None
        form = aiohttp.FormData()
        form.add_field("file", attachment.data, filename=attachment.filename, content_type=attachment.content_type)
        return await self.client.call(f"/v2.0/oa/upload/{kind}", form=form)

    async def _remember_buttons(self, user_id: str, labels: dict[str, str]) -> None:
        """A tapped `oa.query.show` button comes back as the user's text: remember what each label means."""
        key = self._button_key(user_id)
        known = await self.state.get(key)
        merged = dict(known) if isinstance(known, dict) else {}
        for label in labels:
            merged.pop(label, None)
        merged.update(labels)
        while len(merged) > BUTTON_MAP_SIZE:
            merged.pop(next(iter(merged)))
        await self.state.set(key, merged, ttl=BUTTON_MAP_TTL_SECONDS)


def _outcome_of(exc: ZaloApiError) -> SendOutcome:
    error = f"zalo {exc.code}: {exc.message}"[:255]
    if exc.code in WINDOW_ERRORS:
        return SendOutcome("reroute", error=error)
    if exc.code in UNREACHABLE_ERRORS:
        return SendOutcome("blocked", error=error)
    if exc.code in RATE_ERRORS:
        return SendOutcome("retry", retry_after=RATE_BACKOFF_SECONDS, error=error)
    if exc.code in TRANSIENT_ERRORS or exc.code in AUTH_ERRORS:
        return SendOutcome("retry", error=error)
    return SendOutcome("failed", error=error)


def _user_of(payload: dict[str, Any]) -> str | None:
    for field in ("follower", "sender"):
        value = payload.get(field)
        if isinstance(value, dict) and value.get("id"):
            return str(value["id"])
    return None


def _time_of(payload: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(payload.get("timestamp"))) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _follow_ref(payload: dict[str, Any]) -> str | None:
    for container in (payload, payload.get("follower")):
        if not isinstance(container, dict):
            continue
        for field in FOLLOW_REF_FIELDS:
            value = container.get(field)
            if isinstance(value, str | int) and str(value).strip():
                return str(value).strip()[:128]
    return None


def update_key(payload: dict[str, Any]) -> str:
    """The dedup key of an event: its msg_id, or event + timestamp + sender."""
    message = payload.get("message")
    if isinstance(message, dict) and message.get("msg_id"):
        return f"msg:{message['msg_id']}"
    return f"{payload.get('event_name')}:{payload.get('timestamp')}:{_user_of(payload)}"


# --- the webhook ----------------------------------------------------------------------------------

MAX_USER_ID_CHARS = 64  # Zalo ids are ~19 digits; a chat id is stored in 64 characters

ZALO: web.AppKey[ZaloChannel] = web.AppKey("zalo_channel")
# The OA token store every Zalo sender uses (consultation and template messages), when sending is configured.
ZALO_TOKENS: web.AppKey[ZaloTokens] = web.AppKey("zalo_tokens")


async def zalo_webhook(request: web.Request) -> web.Response:
    """`POST /webhooks/zalo`: signature on the raw body, skip echoes, store in the inbox, then 200."""
    app = request.app
    settings = app[keys.SETTINGS]
    channel = app.get(ZALO)
    if channel is None:
        return error_response(404, "not_found", "Zalo is not configured (ZALO_APP_ID and a secret)")
    metrics = app[keys.METRICS]
    raw = await request.read()
    # The signature covers the raw bytes and the timestamp: checked before anything parses the body.
    matched: str | None = None
    timestamp, source = None, "nowhere"
    for candidate, where in event_timestamps(request.headers.get(TIMESTAMP_HEADER), raw):
        matched = verify_signature(settings, raw, candidate, request.headers.get(SIGNATURE_HEADER, ""))
        if matched is not None:
            timestamp, source = candidate, where
            break
    if matched is None:
        metrics.webhook_updates.labels(channel="zalo", outcome="rejected").inc()
        return error_response(401, "unauthorized", "Wrong or missing X-ZEvent-Signature")
    if (matched, source) not in channel.signature_keys_seen:
        channel.signature_keys_seen.add((matched, source))
        log.info("zalo: webhook signature matched %s, timestamp from the %s", matched, source)
    else:
        log.debug("zalo: webhook signature matched %s, timestamp from the %s", matched, source)
    age = _age_seconds(timestamp)
    max_age = settings.zalo_webhook_max_age_seconds
    if age is None or age > max_age or age < -MAX_AHEAD_SECONDS:
        metrics.webhook_updates.labels(channel="zalo", outcome="stale").inc()
        log.warning("zalo: webhook event refused: timestamp %s is not within %s s of now", timestamp, max_age)
        return error_response(400, "stale_event", "The event's timestamp is too old or in the future")
    try:
        data = loads_json(raw)
    except (ValueError, UnicodeDecodeError):
        metrics.webhook_updates.labels(channel="zalo", outcome="invalid").inc()
        return error_response(400, "invalid_json", "Request body is not valid JSON")
    if not isinstance(data, dict):
        metrics.webhook_updates.labels(channel="zalo", outcome="invalid").inc()
        return error_response(400, "invalid_event", "A Zalo event is a JSON object")
    if source == "body" and str(data.get("timestamp", "")) != timestamp:
        # The pattern found a "timestamp" that is not the event's own (nested, say): not what was signed.
        metrics.webhook_updates.labels(channel="zalo", outcome="rejected").inc()
        return error_response(401, "unauthorized", "The signed timestamp is not the event's timestamp")
    event = str(data.get("event_name", ""))
    if event.startswith("oa_send_"):
        metrics.webhook_updates.labels(channel="zalo", outcome="echo").inc()
        return json_response({"ok": True, "ignored": "echo"})
    if event not in HANDLED_EVENTS:
        metrics.webhook_updates.labels(channel="zalo", outcome="ignored").inc()
        return json_response({"ok": True, "ignored": "event"})
    user = _user_of(data)
    if user is not None and len(user) > MAX_USER_ID_CHARS:
        metrics.webhook_updates.labels(channel="zalo", outcome="invalid").inc()
        return error_response(400, "invalid_event", "The sender id is not a Zalo user id")
    is_new = await store_update(app, NewUpdate("zalo", update_key(data), user, data))
    metrics.webhook_updates.labels(channel="zalo", outcome="stored" if is_new else "duplicate").inc()
    return json_response({"ok": True} if is_new else {"ok": True, "duplicate": True})


def webhook_configured(settings: Settings) -> bool:
    return bool(settings.zalo_app_id) and (
        settings.zalo_oa_secret_key is not None or settings.zalo_app_secret is not None
    )


def token_health(tokens: ZaloTokens) -> Callable[[], tuple[str, str | None]]:
    """`/healthz` says when Zalo refused the refresh token (no Zalo message can go until an admin acts)."""

    def check() -> tuple[str, str | None]:
        if tokens.dead is None:
            return "zalo", None
        return "zalo", (
            f"the Zalo refresh token was refused ({tokens.dead}): an OA admin must use "
            "“Kết nối lại Zalo OA” on the dashboard (/dashboard/zalo/connect)"
        )

    return check


async def keep_token_fresh(tokens: ZaloTokens, stop: asyncio.Event, interval: float = 1800.0) -> None:
    """Refresh ahead of expiry even when nothing is sent: an unused refresh token dies after 3 months."""
    while not stop.is_set():
        try:
            await tokens.access_token()
        except Exception as exc:
            log.warning("zalo: keeping the access token fresh failed: %s", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


__all__ = [
    "ZALO",
    "ZaloApiError",
    "ZaloAuthError",
    "ZaloChannel",
    "ZaloClient",
    "ZaloTokens",
    "token_row_name",
    "update_key",
    "verify_signature",
    "zalo_signature",
    "zalo_webhook",
]
