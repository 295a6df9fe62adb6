"""Telegram: the webhook (secret check, store-then-ack), update parsing, and the outbox sender.

python-telegram-bot 22 runs in custom-webhook mode: an `Application` built with `.updater(None)` and the
Bot API base URL from the settings; aiohttp receives the updates. Updates are parsed with
`Update.de_json`, stored in the inbox, and handled by the inbox workers through `to_message`. Replies
leave through `send` (the outbox worker), which maps Bot API refusals to outbox verdicts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InputFile,
    Update,
)
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder
from telegram.request import BaseRequest, RequestData

from bot import keys
from bot.channels.base import Channel, Route, SendOutcome, register_sender
from bot.http import error_response, json_response, loads_json
from bot.inbox import register_adapter, store_update
from bot.pipeline import split_text
from bot.settings import Settings
from handlers.base import Button, IncomingMessage, MessageKind, Reply
from storage.inbox import NewUpdate
from storage.state import StateStore

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
# callback_data is limited to 64 bytes; longer payloads travel as a short key into the state store.
CALLBACK_DATA_LIMIT = 64
CALLBACK_KEY_PREFIX = "h:"
CALLBACK_TTL_SECONDS = 90 * 24 * 3600
GROUP_TYPES = frozenset({"group", "supergroup"})
BLOCKED_MEMBER_STATUSES = frozenset({"kicked", "left"})
# Message fields that carry a file or something else than text (answered politely, not read).
MEDIA_KEYS = (
    "photo",
    "document",
    "audio",
    "voice",
    "video",
    "video_note",
    "animation",
    "sticker",
    "story",
    "paid_media",
    "dice",
    "poll",
    "game",
    "invoice",
)


class AiohttpRequest(BaseRequest):
    """PTB's HTTP transport on aiohttp, the service's HTTP stack (httpx costs more per call under load)."""

    def __init__(self, pool_size: int = 64, read_timeout: float = 15.0, connect_timeout: float = 5.0) -> None:
        self.pool_size = pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.pool_size), headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def post_json(self, url: str, body: dict[str, Any]) -> tuple[int, bytes]:
        """POST a JSON body (the Bot API accepts JSON as well as form data)."""
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._connect_timeout, sock_read=self._read_timeout)
        try:
            async with self._session.post(url, json=body, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp: {type(exc).__name__}") from exc

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        data: Any = None
        if request_data is not None:
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mime) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                data = form
            else:
                data = request_data.json_parameters
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp: {type(exc).__name__}") from exc


def _use_timedelta_periods() -> None:
    # Opt in to PTB's timedelta time periods (v22.2+); the int form is deprecated and warns on access.
    os.environ.setdefault("PTB_TIMEDELTA", "true")


def create_bot(settings: Settings) -> Bot:
    """A bare PTB `Bot` on the configured API (for the `motcua telegram` commands)."""
    _use_timedelta_periods()
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    return Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_api_base_url,
        base_file_url=settings.telegram_api_base_url.replace("/bot", "/file/bot"),
        request=AiohttpRequest(pool_size=4),
        get_updates_request=AiohttpRequest(pool_size=1),
    )


def create_telegram_application(settings: Settings) -> Application[Any, Any, Any, Any, Any, Any]:
    """The PTB application for custom-webhook mode: no updater, no job queue, our base URL."""
    _use_timedelta_periods()
    assert settings.telegram_bot_token is not None
    return (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_base_url.replace("/bot", "/file/bot"))
        .updater(None)
        .job_queue(None)
        .request(AiohttpRequest(pool_size=64))  # TelegramChannel.transport
        .get_updates_request(AiohttpRequest(pool_size=1))
        .build()
    )


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel(Channel):
    """Parses stored Telegram updates into messages and sends outbox payloads through the Bot API."""

    channel = "telegram"
    display_name = "Telegram"
    text_limit = TEXT_LIMIT
    button_limit: int | None = None  # an inline keyboard takes as many as a reply needs

    @classmethod
    def routes(cls) -> Sequence[Route]:
        return [("POST", "/webhooks/telegram", telegram_webhook)]

    @classmethod
    async def lifecycle(cls, app: web.Application) -> AsyncIterator[None]:
        """The PTB application (opened on start-up, shut down on clean-up), its adapter and sender."""
        settings = app[keys.SETTINGS]
        if not settings.telegram_enabled:
            yield
            return
        if settings.telegram_webhook_secret is None:
            log.warning("TELEGRAM_WEBHOOK_SECRET is not set: the Telegram webhook refuses every update")
        application = create_telegram_application(settings)
        try:
            await application.initialize()
        except TelegramError as exc:
            # Sending still works once the API answers; the webhook does not need getMe.
            log.warning("telegram: getMe failed at start-up (%s); continuing", type(exc).__name__)
        channel = cls(application, settings, app[keys.STATE])
        app[TELEGRAM] = channel
        register_adapter(app, channel)
        register_sender(app, channel)
        try:
            yield
        finally:
            await application.shutdown()

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], settings: Settings, state: StateStore):
        self.application = application
        self.bot: Bot = application.bot
        transport = application.bot.request
        assert isinstance(transport, AiohttpRequest)
        self.transport = transport
        self.state = state
        self.rate_per_second: float | None = settings.telegram_rate_per_second or None
        self.per_recipient_per_second: float | None = settings.telegram_rate_per_chat_per_second or None
        self.username = settings.telegram_bot_username.lstrip("@").lower()

    # --- receiving -------------------------------------------------------------------------------

    def parse(self, data: dict[str, Any]) -> Update:
        """`Update.de_json`; raises ValueError for something that is not an update."""
        if not isinstance(data.get("update_id"), int):
            raise ValueError("update_id missing")
        try:
            update = Update.de_json(data, self.bot)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a Telegram update: {type(exc).__name__}") from None
        if update is None:
            raise ValueError("empty update")
        return update

    @staticmethod
    def chat_key(update: Update) -> str | None:
        chat = update.effective_chat
        if chat is not None:
            return str(chat.id)
        user = update.effective_user
        return f"user:{user.id}" if user is not None else None

    async def to_message(self, payload: dict[str, Any]) -> IncomingMessage | None:
        """The message a stored update carries (None for updates that need no handling).

        The webhook validated the update with `Update.de_json`; here the stored JSON is read directly
        (building PTB objects a second time would double the parsing cost of every update).
        """
        query = payload.get("callback_query")
        if isinstance(query, dict):
            return await self._callback(query)
        message = payload.get("message")
        if isinstance(message, dict):
            return self._message(message)
        edited = payload.get("edited_message")
        if isinstance(edited, dict):
            # The citizen corrected their question: answer the corrected text as a new question.
            msg = self._message(edited)
            return msg if msg is not None and msg.kind == "text" else None
        member = payload.get("my_chat_member")
        if isinstance(member, dict):
            return self._member(member)
        return None  # channel posts and the like: acknowledged, not answered

    @staticmethod
    def _member(member: dict[str, Any]) -> IncomingMessage | None:
        """The bot blocked (kicked) or restarted in a private chat."""
        chat, user, new = _obj(member.get("chat")), _obj(member.get("from")), _obj(member.get("new_chat_member"))
        chat_id, user_id, status = _id(chat.get("id")), _id(user.get("id")), new.get("status")
        if chat.get("type") != "private" or chat_id is None or user_id is None or not isinstance(status, str):
            return None
        kind: MessageKind = "unfollow" if status in BLOCKED_MEMBER_STATUSES else "follow"
        return IncomingMessage(
            channel="telegram",
            chat_id=chat_id,
            user_id=user_id,
            kind=kind,
            language=_text(user.get("language_code")),
            received_at=_date(member.get("date")),
        )

    def _message(self, message: dict[str, Any]) -> IncomingMessage | None:
        user, chat = _obj(message.get("from")), _obj(message.get("chat"))
        chat_id, user_id = _id(chat.get("id")), _id(user.get("id"))
        if chat_id is None or user_id is None or user.get("is_bot") is True:
            return None
        reply_to = _obj(message.get("reply_to_message"))
        names = [n for n in (_text(user.get("first_name")), _text(user.get("last_name"))) if n]
        base: dict[str, Any] = {
            "channel": "telegram",
            "chat_id": chat_id,
            "user_id": user_id,
            "language": _text(user.get("language_code")),
            "message_id": _id(message.get("message_id")),
            "reply_to_message_id": _id(reply_to.get("message_id")),
            "chat_type": "group" if chat.get("type") in GROUP_TYPES else "private",
            "display_name": " ".join(names) or None,
            "received_at": _date(message.get("date")),
        }
        text = _text(message.get("text"))
        if text is not None:
            command, _, rest = text.partition(" ")
            name, _, addressee = command.partition("@")
            if name == "/start" and (not addressee or addressee.lower() == self.username):
                # "/start@<this bot>" is how a group addresses the bot; "/start@<another bot>" is not for us.
                return IncomingMessage(kind="start", text=text, start_param=rest.strip() or None, **base)
            return IncomingMessage(kind="text", text=text, **base)
        if isinstance(message.get("sticker"), dict):
            return IncomingMessage(kind="sticker", text=_text(_obj(message.get("sticker")).get("emoji")) or "", **base)
        contact = message.get("contact")
        if isinstance(contact, dict):
            # Only the sender's own number counts (a forwarded card of someone else does not).
            own = _id(contact.get("user_id")) == user_id
            phone = _text(contact.get("phone_number")) if own else None
            return IncomingMessage(kind="contact", phone=phone, **base)
        if isinstance(message.get("location"), dict) or isinstance(message.get("venue"), dict):
            return IncomingMessage(kind="location", **base)
        if any(message.get(key) for key in MEDIA_KEYS):
            return IncomingMessage(kind="media", text=_text(message.get("caption")) or "", **base)
        return None  # service messages (member joined, pinned...)

    async def _callback(self, query: dict[str, Any]) -> IncomingMessage | None:
        message, user = _obj(query.get("message")), _obj(query.get("from"))
        chat = _obj(message.get("chat"))
        chat_id, user_id = _id(chat.get("id")), _id(user.get("id"))
        if chat_id is None or user_id is None:
            return None  # a button on an inline-mode message: no chat to answer in
        data = _text(query.get("data")) or ""
        payload: Any = data
        if data.startswith(CALLBACK_KEY_PREFIX):
            payload = await self.state.get(self.state.keys.build("tg", "cb", data[len(CALLBACK_KEY_PREFIX) :]))
        return IncomingMessage(
            channel="telegram",
            chat_id=chat_id,
            user_id=user_id,
            kind="button",
            payload=payload if isinstance(payload, str) else None,
            text=_button_label(message, data),
            language=_text(user.get("language_code")),
            message_id=_id(message.get("message_id")),
            chat_type="group" if chat.get("type") in GROUP_TYPES else "private",
        )

    async def after_handled(self, payload: dict[str, Any]) -> None:
        """Answer a callback query so the button stops spinning."""
        query = payload.get("callback_query")
        if isinstance(query, dict) and query.get("id"):
            await self.bot.answer_callback_query(str(query["id"]))

    # --- sending ---------------------------------------------------------------------------------

    async def send(self, recipient: str, payload: dict[str, Any]) -> SendOutcome:
        """Send one outbox payload; Bot API refusals become outcomes."""
        reply = Reply.from_payload(payload)
        chat_id: int | str = int(recipient) if recipient.lstrip("-").isdigit() else recipient
        keyboard = await self._keyboard(reply.buttons)
        if reply.image is not None or reply.document is not None:
            return await self._send_file(chat_id, reply, keyboard)
        parts = split_text(reply.text, TEXT_LIMIT)
        sent: dict[str, Any] | SendOutcome = {}
        for n, part in enumerate(parts):
            body: dict[str, Any] = {"chat_id": chat_id, "text": part}
            if keyboard is not None and n == len(parts) - 1:
                body["reply_markup"] = keyboard
            sent = await self._call("sendMessage", body)
            if isinstance(sent, SendOutcome):
                return sent
        assert isinstance(sent, dict)
        return SendOutcome.sent(str(sent.get("message_id")) if sent.get("message_id") is not None else None)

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any] | SendOutcome:
        """One Bot API call with a JSON body, over PTB's transport.

        Text messages are most of what the bot sends; building PTB objects for the keyboard and for the
        returned Message would cost more than the call itself. Errors map as PTB maps them.
        """
        try:
            status, raw = await self.transport.post_json(f"{self.bot.base_url}/{method}", body)
        except TelegramError as exc:  # TimedOut, NetworkError
            return SendOutcome("retry", error=f"{type(exc).__name__}: {exc.message}"[:255])
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            return SendOutcome("retry", error=f"{status}: the Bot API answered something else than JSON")
        if 200 <= status < 300 and answer.get("ok"):
            result = answer.get("result")
            return result if isinstance(result, dict) else {}
        description = str(answer.get("description") or f"HTTP {status}")
        parameters = answer.get("parameters") if isinstance(answer.get("parameters"), dict) else {}
        assert isinstance(parameters, dict)
        if parameters.get("retry_after"):
            retry_after = _seconds(parameters["retry_after"])
            return SendOutcome("retry", retry_after=max(1.0, retry_after), error="429 flood control")
        if parameters.get("migrate_to_chat_id"):
            return SendOutcome("failed", error=f"chat migrated to {parameters['migrate_to_chat_id']}")
        return _outcome_of(status, description)

    async def _send_file(self, chat_id: int | str, reply: Reply, keyboard: dict[str, Any] | None) -> SendOutcome:
        """A document or photo (multipart) through PTB's own methods."""
        markup = InlineKeyboardMarkup.de_json(keyboard, self.bot) if keyboard is not None else None
        attachment = reply.image or reply.document
        assert attachment is not None
        try:
            caption: str | None = reply.text or None
            if caption is not None and len(caption) > CAPTION_LIMIT:
                for part in split_text(caption, TEXT_LIMIT):
                    await self.bot.send_message(chat_id, part)
                caption = None
            file = InputFile(attachment.data, filename=attachment.filename)
            if reply.image is not None:
                sent = await self.bot.send_photo(chat_id, file, caption=caption, reply_markup=markup)
            else:
                sent = await self.bot.send_document(chat_id, file, caption=caption, reply_markup=markup)
        except RetryAfter as exc:
            return SendOutcome("retry", retry_after=max(1.0, _seconds(exc.retry_after)), error="429 flood control")
        except ChatMigrated as exc:
            return SendOutcome("failed", error=f"chat migrated to {exc.new_chat_id}")
        except (Forbidden, BadRequest) as exc:
            return _outcome_of(403 if isinstance(exc, Forbidden) else 400, exc.message)
        except InvalidToken:
            return _outcome_of(401, "Unauthorized")
        except TelegramError as exc:  # NetworkError, TimedOut, 5xx: transient
            return SendOutcome("retry", error=f"{type(exc).__name__}: {exc.message}"[:255])
        return SendOutcome.sent(str(sent.message_id))

    async def _keyboard(self, rows: tuple[tuple[Button, ...], ...]) -> dict[str, Any] | None:
        """The inline keyboard as the Bot API wants it."""
        if not rows:
            return None
        return {
            "inline_keyboard": [
                [{"text": b.label[:64], "callback_data": await self._callback_data(b.payload)} for b in row]
                for row in rows
            ]
        }

    async def _callback_data(self, payload: str) -> str:
        if len(payload.encode("utf-8")) <= CALLBACK_DATA_LIMIT and not payload.startswith(CALLBACK_KEY_PREFIX):
            return payload
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]
        await self.state.set(self.state.keys.build("tg", "cb", digest), payload, ttl=CALLBACK_TTL_SECONDS)
        return CALLBACK_KEY_PREFIX + digest


def _outcome_of(status: int, description: str) -> SendOutcome:
    """A refused Bot API call: blocked users are unreachable, bad requests final, the rest transient."""
    error = f"{status} {description}"[:255]
    lowered = description.lower()
    if status == 403:  # blocked by the user, kicked, user deactivated
        return SendOutcome("blocked", error=error)
    if status == 400:
        if "chat not found" in lowered or "user is deactivated" in lowered:
            return SendOutcome("blocked", error=error)
        return SendOutcome("failed", error=error)
    if status in (401, 404):
        return SendOutcome("retry", error="the bot token was rejected (TELEGRAM_BOT_TOKEN)")
    return SendOutcome("retry", error=error)


def _button_label(message: dict[str, Any], data: str) -> str:
    """The label of the pressed button, read back from the message's keyboard."""
    for row in _obj(message.get("reply_markup")).get("inline_keyboard") or []:
        for button in row if isinstance(row, list) else []:
            if isinstance(button, dict) and button.get("callback_data") == data:
                return _text(button.get("text")) or ""
    return ""


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _id(value: Any) -> str | None:
    """A Telegram id (an integer) as text; anything else is no id."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _date(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(value, tz=UTC) if isinstance(value, int) else None
    except (OverflowError, OSError, ValueError):
        return None


# --- the webhook ----------------------------------------------------------------------------------

TELEGRAM: web.AppKey[TelegramChannel] = web.AppKey("telegram_channel")


async def telegram_webhook(request: web.Request) -> web.Response:
    """`POST /webhooks/telegram`: secret check, parse, store in the inbox, then 200."""
    app = request.app
    channel = app.get(TELEGRAM)
    if channel is None:
        return error_response(404, "not_found", "Telegram is not configured (TELEGRAM_BOT_TOKEN)")
    metrics = app[keys.METRICS]
    secret = app[keys.SETTINGS].telegram_webhook_secret
    given = request.headers.get(SECRET_HEADER, "")
    if secret is None or not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        metrics.webhook_updates.labels(channel="telegram", outcome="rejected").inc()
        return error_response(403, "forbidden", "Wrong or missing secret token")
    raw = await request.read()
    try:
        data = loads_json(raw)
    except (ValueError, UnicodeDecodeError):
        metrics.webhook_updates.labels(channel="telegram", outcome="invalid").inc()
        return error_response(400, "invalid_json", "Request body is not valid JSON")
    try:
        if not isinstance(data, dict):
            raise ValueError("not an object")
        update = channel.parse(data)
    except ValueError as exc:
        metrics.webhook_updates.labels(channel="telegram", outcome="invalid").inc()
        return error_response(400, "invalid_update", f"Not a Telegram update: {exc}")
    is_new = await store_update(
        app, NewUpdate("telegram", str(update.update_id), TelegramChannel.chat_key(update), data)
    )
    metrics.webhook_updates.labels(channel="telegram", outcome="stored" if is_new else "duplicate").inc()
    return json_response({"ok": True} if is_new else {"ok": True, "duplicate": True})


__all__ = [
    "ALLOWED_UPDATES",
    "SECRET_HEADER",
    "TELEGRAM",
    "TelegramChannel",
    "create_bot",
    "create_telegram_application",
    "telegram_webhook",
]
