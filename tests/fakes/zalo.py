"""A fake Zalo OA Open API and OAuth server on 127.0.0.1: records calls and can fail on demand.

Like Zalo, it answers HTTP 200 with `error != 0` for application errors: a stale access token gets -216;
`fail(error=-230, user_id=...)` makes a user unreachable; `fail(status=500)` fails at the HTTP level. The
OAuth endpoint rotates the pair on every refresh and refuses a refresh token used before (single use).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from typing import Any

from aiohttp import web

from tests.fakes.base import Call, Recorder, Rule

APP_ID = "3608465248940903967"
APP_SECRET = "app-secret-key"
OA_SECRET = "oa-secret-key"


class FakeZalo(Recorder):
    """`app` serves both the Open API and OAuth paths; `base_url` is set once a server runs it."""

    def __init__(self, access_token: str = "ACCESS-0", refresh_token: str = "REFRESH-0") -> None:
        super().__init__()
        self.base_url = ""
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.used_refresh_tokens: set[str] = set()
        self.refresh_calls: list[dict[str, Any]] = []
        self.refresh_delay = 0.0
        self._ids = itertools.count(1)
        self.app = web.Application()
        self.app.router.add_post("/v4/oa/access_token", self._oauth)
        self.app.router.add_post("/v3.0/oa/message/cs", self._message)
        self.app.router.add_post("/v2.0/oa/upload/{kind}", self._upload)

    def settings(self, *, oa_secret: bool = True, app_secret: bool = True) -> dict[str, Any]:
        """Settings overrides that point the bot at this fake (webhook secrets included)."""
        values: dict[str, Any] = {
            "zalo_app_id": APP_ID,
            "zalo_api_base_url": self.base_url,
            "zalo_oauth_base_url": self.base_url,
            "zalo_access_token": self.access_token,
            "zalo_refresh_token": self.refresh_token,
        }
        values["zalo_app_secret"] = APP_SECRET if app_secret else None
        values["zalo_oa_secret_key"] = OA_SECRET if oa_secret else None
        return values

    def expire_access_token(self) -> None:
        """The current access token stops working (the client gets -216 until it refreshes)."""
        self.access_token = f"EXPIRED-{next(self._ids)}"

    def fail(
        self,
        *,
        error: int | None = None,
        status: int = 200,
        user_id: str | None = None,
        path: str | None = None,
        message: str = "failure",
        times: int | None = 1,
    ) -> Rule:
        """Answer matching calls with `{"error": error}` (HTTP 200) or an HTTP `status`."""
        body = {"error": error if error is not None else -1, "message": message}
        rule = Rule({"user_id": user_id, "path": path}, body, status, times)
        self.rules.append(rule)
        return rule

    def messages(self, user_id: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.ok
            and c.path == "/v3.0/oa/message/cs"
            and (user_id is None or c.params["recipient"]["user_id"] == user_id)
        ]

    def texts(self, user_id: str | None = None) -> list[str]:
        return [str(c.params["message"].get("text", "")) for c in self.messages(user_id)]

    # --- the API ---------------------------------------------------------------------------------

    async def _oauth(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        call = Call(request.path, form, dict(request.headers))
        self.refresh_calls.append({k: str(v) for k, v in form.items()})
        if self.refresh_delay:
            await asyncio.sleep(self.refresh_delay)
        if request.headers.get("secret_key") != APP_SECRET or form.get("app_id") != APP_ID:
            call.error = -14001
            self._record(call)
            return web.json_response({"error": -14001, "error_name": "Invalid app secret"})
        given = str(form.get("refresh_token", ""))
        if (
            form.get("grant_type") != "refresh_token"
            or given != self.refresh_token
            or given in self.used_refresh_tokens
        ):
            call.error = -14014
            self._record(call)
            return web.json_response({"error": -14014, "error_name": "Invalid refresh token"})
        self.used_refresh_tokens.add(given)
        n = next(self._ids)
        self.access_token, self.refresh_token = f"ACCESS-{n}", f"REFRESH-{n}"
        self._record(call)
        return web.json_response(
            {"access_token": self.access_token, "refresh_token": self.refresh_token, "expires_in": "90000"}
        )

    async def _message(self, request: web.Request) -> web.Response:
        body = await request.json()
        user_id = str(body.get("recipient", {}).get("user_id", ""))
        call = Call(request.path, body, dict(request.headers))
        if request.headers.get("access_token") != self.access_token:
            call.error = -216
            self._record(call)
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        rule = self._rule_for({"user_id": user_id, "path": request.path})
        if rule is not None:
            call.status, call.error = rule.status, rule.response["error"] if rule.status == 200 else rule.status
            self._record(call)
            return web.json_response(rule.response, status=rule.status)
        self._record(call)
        message_id = f"zmsg-{next(self._ids)}"
        return web.json_response(
            {"error": 0, "message": "Success", "data": {"message_id": message_id, "user_id": user_id}}
        )

    async def _upload(self, request: web.Request) -> web.Response:
        files: dict[str, bytes] = {}
        reader = await request.multipart()
        async for part in reader:
            if getattr(part, "filename", None):
                files[getattr(part, "name", "") or "file"] = bytes(await part.read())  # type: ignore[union-attr]
        call = Call(request.path, {}, dict(request.headers), files)
        if request.headers.get("access_token") != self.access_token:
            call.error = -216
            self._record(call)
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        self._record(call)
        n = next(self._ids)
        data = {"attachment_id": f"att-{n}"} if request.match_info["kind"] == "image" else {"token": f"file-{n}"}
        return web.json_response({"error": 0, "message": "Success", "data": data})


# --- events as Zalo posts them ------------------------------------------------------------------------


def zalo_event(
    event_name: str,
    user_id: str,
    *,
    text: str | None = None,
    msg_id: str | None = None,
    timestamp: int | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A webhook event body (user → OA events use sender/recipient; follow/unfollow use follower)."""
    ts = str(timestamp if timestamp is not None else int(time.time() * 1000))
    event: dict[str, Any] = {
        "app_id": APP_ID,
        "event_name": event_name,
        "timestamp": ts,
        "user_id_by_app": "app-" + user_id,
    }
    if event_name in ("follow", "unfollow"):
        event.update({"oa_id": "388613280878808645", "follower": {"id": user_id}, "source": "oa_profile"})
    elif event_name.startswith("oa_send_"):
        event.update({"sender": {"id": "388613280878808645", "admin_id": "9"}, "recipient": {"id": user_id}})
        event["message"] = {"text": text or "", "msg_id": msg_id or f"m-{ts}"}
    else:
        event.update({"sender": {"id": user_id}, "recipient": {"id": "388613280878808645"}})
        if event_name != "user_submit_info":
            event["message"] = {"text": text or "", "msg_id": msg_id or f"m-{ts}"}
    if extra:
        event.update(extra)
    return event


def sign_zalo_event(
    event: dict[str, Any], secret: str = OA_SECRET, app_id: str = APP_ID
) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers Zalo would post for `event`, signed with `secret`."""
    raw = json.dumps(event, ensure_ascii=False, separators=(", ", ": ")).encode()
    mac = hashlib.sha256(app_id.encode() + raw + str(event["timestamp"]).encode() + secret.encode()).hexdigest()
    return raw, {"X-ZEvent-Signature": f"mac={mac}", "Content-Type": "application/json"}
