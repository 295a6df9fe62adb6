"""A fake Telegram Bot API on 127.0.0.1: records every call and can fail on demand.

python-telegram-bot posts form-encoded bodies whose non-string values (e.g. `reply_markup`) are JSON
strings, or multipart bodies when a file is attached; JSON bodies are accepted too. Failures:
`fail(status=429, retry_after=3)`, `fail(status=403)` (the user blocked the bot), `fail(status=500)`,
each optionally limited to a method and a chat and to a number of times.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from aiohttp import web

from tests.fakes.base import Call, Recorder, Rule

DEFAULT_TOKEN = "123456:TEST-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Một cửa", "username": "motcua_bot"}
DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def _decode(value: str) -> Any:
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeTelegram(Recorder):
    """`app` is the aiohttp application; `base_url` is set once a server runs it."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        super().__init__()
        self.token = token
        self.base_url = ""
        self.webhook: dict[str, Any] = {}
        self._ids = itertools.count(1000)
        self.app = web.Application()
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle)

    # --- set-up ----------------------------------------------------------------------------------

    def settings(self, secret: str = "webhook-secret") -> dict[str, Any]:
        """Settings overrides that point the bot at this fake."""
        return {
            "telegram_bot_token": self.token,
            "telegram_api_base_url": self.base_url,
            "telegram_webhook_secret": secret,
        }

    def fail(
        self,
        status: int,
        *,
        method: str | None = None,
        chat_id: str | int | None = None,
        retry_after: int | None = None,
        description: str | None = None,
        times: int | None = 1,
        delay: float = 0.0,
    ) -> Rule:
        """Answer matching calls with an HTTP error (429 carries `parameters.retry_after`)."""
        text = description or DESCRIPTIONS.get(status, "Error").format(retry_after=retry_after)
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": text}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        rule = Rule(
            {"method": method, "chat_id": None if chat_id is None else str(chat_id)}, body, status, times, delay
        )
        self.rules.append(rule)
        return rule

    # --- what was sent ---------------------------------------------------------------------------

    def sent(self, chat_id: str | int | None = None, method: str | None = None) -> list[Call]:
        """Successful message sends (sendMessage/sendPhoto/sendDocument), optionally to one chat."""
        methods = {method} if method else {"sendMessage", "sendPhoto", "sendDocument"}
        return [
            c
            for c in self.calls
            if c.ok and c.path in methods and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))
        ]

    def texts(self, chat_id: str | int | None = None) -> list[str]:
        return [str(c.params.get("text") or c.params.get("caption") or "") for c in self.sent(chat_id)]

    # --- the API ---------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            body = await request.read()
            return (json.loads(body) if body else {}), files
        if request.content_type.startswith("multipart/"):
            params: dict[str, Any] = {}
            reader = await request.multipart()
            async for part in reader:
                name = getattr(part, "name", None) or ""
                if getattr(part, "filename", None):
                    files[name] = bytes(await part.read())  # type: ignore[union-attr]
                else:
                    params[name] = _decode(await part.text())  # type: ignore[union-attr]
            return params, files
        form = await request.post()
        return {k: _decode(v) if isinstance(v, str) else v for k, v in form.items()}, files

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await self._params(request)
        headers = dict(request.headers)
        if request.match_info["token"] != self.token:
            body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            self._record(Call(method, params, headers, files, 401, 401))
            return web.json_response(body, status=401)
        chat_id = params.get("chat_id")
        rule = self._rule_for({"method": method, "chat_id": None if chat_id is None else str(chat_id)})
        if rule is not None:
            if rule.delay:
                await asyncio.sleep(rule.delay)
            self._record(Call(method, params, headers, files, rule.status, rule.status))
            return web.json_response(rule.response, status=rule.status)
        result = self._result(method, params, files)
        self._record(Call(method, params, headers, files))
        return web.json_response({"ok": True, "result": result})

    def _result(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in ("sendMessage", "sendPhoto", "sendDocument"):
            chat_id = params.get("chat_id")
            message: dict[str, Any] = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": int(str(chat_id)) if str(chat_id).lstrip("-").isdigit() else 0, "type": "private"},
                "from": BOT_USER,
            }
            if method == "sendMessage":
                message["text"] = params.get("text", "")
            elif params.get("caption"):
                message["caption"] = params["caption"]
            return message
        if method == "setWebhook":
            self.webhook = {
                "url": params.get("url", ""),
                "secret_token": params.get("secret_token"),
                "allowed_updates": params.get("allowed_updates"),
                "max_connections": params.get("max_connections"),
            }
            return True
        if method == "deleteWebhook":
            self.webhook = {}
            return True
        if method == "getWebhookInfo":
            return {
                "url": self.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": 0,
                "allowed_updates": self.webhook.get("allowed_updates") or [],
            }
        return True


# --- updates as Telegram posts them -----------------------------------------------------------------


def _user(user_id: int, language: str = "vi", first_name: str = "Lan") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language}


def telegram_message_update(
    update_id: int,
    chat_id: int,
    text: str | None = "xin chào",
    *,
    user_id: int | None = None,
    chat_type: str = "private",
    reply_to_message_id: int | None = None,
    contact: dict[str, Any] | None = None,
    message_id: int | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `message` update (text, or a contact / photo through `contact` / `extra`)."""
    uid = user_id if user_id is not None else chat_id
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = "Lan"
    else:
        chat["title"] = "Cán bộ một cửa"
    message: dict[str, Any] = {
        "message_id": message_id if message_id is not None else update_id,
        "date": int(time.time()),
        "chat": chat,
        "from": _user(uid),
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split(" ")[0])}]
    if contact is not None:
        message["contact"] = contact
    if reply_to_message_id is not None:
        message["reply_to_message"] = {
            "message_id": reply_to_message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            "text": "...",
        }
    if extra:
        message.update(extra)
    return {"update_id": update_id, "message": message}


def telegram_callback_update(
    update_id: int, chat_id: int, data: str, *, label: str = "Chọn", message_id: int = 77
) -> dict[str, Any]:
    """A `callback_query` update: a press on an inline button of one of our messages."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb-{update_id}",
            "from": _user(chat_id),
            "chat_instance": "ci-1",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "Lan"},
                "from": BOT_USER,
                "text": "…",
                "reply_markup": {"inline_keyboard": [[{"text": label, "callback_data": data}]]},
            },
        },
    }
