"""A fake Zalo OA Open API, ZBS template API and OAuth server on 127.0.0.1 that enforces the platform's rules.

Like Zalo, it answers HTTP 200 with `error != 0` for application errors, and it holds the bot to the rules of
`shared/reference/zalo-2026.md`:

* every call needs the current access token (-216 on the OA API, -124 on the template API);
* a consultation message (`/v3.0/oa/message/cs`) is free within 48 h of the user's last interaction *as this
  fake saw it* (the events `sign_zalo_event` signs, or `interacted()`); 48 h – 7 days only when the OA enabled
  the paid window (`paid_window = True`, counted in `paid`); later -230, never seen -232;
* at most 5 buttons, titles ≤ 100 characters (-201 otherwise);
* template messages (ZBS) by phone (`/message/template`) or by UID (the same path, `user_id` instead of
  `phone`): -118 for a phone with no Zalo account (`no_zalo_account`), -133 outside 07:00–22:00 local for
  templates whose tag has sending hours (`timed_templates`), -211 once the day's `quota` is used up;
* `fail(error=..., user_id=...)` forces a code; `fail(status=500)` fails at the HTTP level;
* OAuth rotates the pair on every refresh and refuses a refresh token used before (single use); the
  permission flow (`authorization_code` + PKCE `code_verifier`) is served too.

Times come from `clock` (UTC-aware), so a test can move the fake's day with its own fake clock.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from tests.fakes.base import Call, Recorder, Rule

APP_ID = "3608465248940903967"
APP_SECRET = "app-secret-key"
OA_SECRET = "oa-secret-key"
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
FREE_WINDOW = timedelta(hours=48)
PAID_WINDOW = timedelta(days=7)
MAX_BUTTONS = 5
BUTTON_TITLE_LIMIT = 100
TEMPLATE_HOURS = (7, 22)  # local hours in which a template with sending hours may go


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
        self.refresh_dead = False  # every refresh is refused (the OA admin must grant access again)
        self._ids = itertools.count(1)
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        # The user's last interaction as Zalo saw it: when, and the message id (None for a follow, say).
        self.inbound: dict[str, tuple[datetime, str | None]] = {}
        self.paid_window = False
        self.paid: list[Call] = []  # consultation messages billed in the 48 h – 7 d window
        self.no_zalo_account: set[str] = set()  # phones (84…) with no Zalo account: -118
        self.timed_templates: set[str] = set()  # template ids whose tag may go only 07:00–22:00: -133
        self.quota: int | None = None  # template messages a day (None: unlimited): -211 beyond
        self._quota_used: dict[str, int] = {}
        # The permission flow: codes handed out by `grant()` and the PKCE challenge each was issued for.
        self.codes: dict[str, str] = {}
        self.app = web.Application()
        self.app.router.add_post("/v4/oa/access_token", self._oauth)
        self.app.router.add_get("/v4/oa/permission", self._permission)
        self.app.router.add_post("/v3.0/oa/message/cs", self._message)
        self.app.router.add_post("/v2.0/oa/upload/{kind}", self._upload)
        self.app.router.add_post("/message/template", self._template)
        FakeZalo.live.append(self)

    # Fakes that are running: `sign_zalo_event` tells them what Zalo posted (their users interacted).
    live: list[FakeZalo] = []

    def close(self) -> None:
        if self in FakeZalo.live:
            FakeZalo.live.remove(self)

    # --- what Zalo knows about users ------------------------------------------------------------------

    def interacted(self, user_id: str, at: datetime | None = None, message_id: str | None = None) -> None:
        """The user wrote to (or followed) the OA at `at` (now by default)."""
        self.inbound[user_id] = (at or self.clock(), message_id)

    def saw(self, event: dict[str, Any]) -> None:
        """Zalo posted `event`: a user → OA event (not our own echoes) is an interaction."""
        name = str(event.get("event_name", ""))
        if name.startswith("oa_send_") or name == "unfollow":
            return
        who = event.get("sender") or event.get("follower")
        user = who.get("id") if isinstance(who, dict) else None
        if not user or not isinstance(user, str | int):
            return
        try:
            at = datetime.fromtimestamp(int(str(event.get("timestamp"))) / 1000, tz=UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            at = self.clock()
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        self.interacted(str(user), at, str(message["msg_id"]) if message and message.get("msg_id") else None)
        if at.year < 2000:  # an event whose timestamp means nothing still shows the user is there
            self.interacted(str(user))

    def settings(self, *, oa_secret: bool = True, app_secret: bool = True) -> dict[str, Any]:
        """Settings overrides that point the bot at this fake (webhook secrets included)."""
        values: dict[str, Any] = {
            "zalo_app_id": APP_ID,
            "zalo_api_base_url": self.base_url,
            "zalo_oauth_base_url": self.base_url,
            "zalo_access_token": self.access_token,
            "zalo_refresh_token": self.refresh_token,
            "zalo_zns_base_url": self.base_url,
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

    def templates(self, *, phone: str | None = None, user_id: str | None = None) -> list[Call]:
        """Template messages accepted (by phone, by UID, or all)."""
        return [
            c
            for c in self.calls
            if c.ok
            and c.path == "/message/template"
            and (phone is None or c.params.get("phone") == phone)
            and (user_id is None or c.params.get("user_id") == user_id)
        ]

    def grant(self, code_challenge: str) -> str:
        """The OA admin granted access: an authorization code for the PKCE `code_challenge`."""
        code = f"CODE-{next(self._ids)}"
        self.codes[code] = code_challenge
        return code

    def _token_ok(self, request: web.Request) -> bool:
        return request.headers.get("access_token") == self.access_token

    # --- the API ---------------------------------------------------------------------------------

    async def _oauth(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        call = Call(request.path, form, dict(request.headers))
        self.refresh_calls.append({k: str(v) for k, v in form.items()})
        if self.refresh_delay:
            await asyncio.sleep(self.refresh_delay)
        if request.headers.get("secret_key") != APP_SECRET or form.get("app_id") != APP_ID:
            return self._refuse(call, -14001, "Invalid app secret")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            challenge = self.codes.pop(str(form.get("code", "")), None)
            verifier = str(form.get("code_verifier", ""))
            if challenge is None or pkce_challenge(verifier) != challenge:
                return self._refuse(call, -14019, "Invalid code or code_verifier")
            self.refresh_dead = False
        else:
            given = str(form.get("refresh_token", ""))
            if (
                grant != "refresh_token"
                or self.refresh_dead
                or given != self.refresh_token
                or given in self.used_refresh_tokens
            ):
                return self._refuse(call, -14014, "Invalid refresh token")
            self.used_refresh_tokens.add(given)
        n = next(self._ids)
        self.access_token, self.refresh_token = f"ACCESS-{n}", f"REFRESH-{n}"
        self._record(call)
        return web.json_response(
            {"access_token": self.access_token, "refresh_token": self.refresh_token, "expires_in": "90000"}
        )

    def _refuse(self, call: Call, error: int, name: str) -> web.Response:
        call.error = error
        self._record(call)
        return web.json_response({"error": error, "error_name": name})

    async def _permission(self, request: web.Request) -> web.Response:
        """The OA admin's consent page: grants at once and redirects to `redirect_uri` with a code."""
        query = request.query
        if query.get("app_id") != APP_ID or not query.get("code_challenge") or not query.get("redirect_uri"):
            return web.Response(status=400, text="bad permission request")
        code = self.grant(query["code_challenge"])
        self._record(Call(request.path, dict(query), dict(request.headers)))
        separator = "&" if "?" in query["redirect_uri"] else "?"
        target = (
            f"{query['redirect_uri']}{separator}code={code}&oa_id=388613280878808645&state={query.get('state', '')}"
        )
        raise web.HTTPFound(target)

    def _answer(self, call: Call, error: int, message: str) -> web.Response:
        call.error = error
        self._record(call)
        return web.json_response({"error": error, "message": message})

    async def _message(self, request: web.Request) -> web.Response:
        body = await request.json()
        recipient = body.get("recipient", {}) if isinstance(body.get("recipient"), dict) else {}
        user_id = str(recipient.get("user_id", ""))
        call = Call(request.path, body, dict(request.headers))
        if not self._token_ok(request):
            return self._answer(call, -216, "Access token is invalid")
        rule = self._rule_for({"user_id": user_id, "path": request.path})
        if rule is not None:
            call.status, call.error = rule.status, rule.response["error"] if rule.status == 200 else rule.status
            self._record(call)
            return web.json_response(rule.response, status=rule.status)
        message = body.get("message") if isinstance(body.get("message"), dict) else {}
        payload = ((message.get("attachment") or {}).get("payload") or {}) if message else {}
        buttons = payload.get("buttons") or [] if isinstance(payload, dict) else []
        if len(buttons) > MAX_BUTTONS or any(len(str(b.get("title", ""))) > BUTTON_TITLE_LIMIT for b in buttons):
            return self._answer(call, -201, "Parameters invalid: at most 5 buttons, titles up to 100 characters")
        seen = self.inbound.get(user_id)
        if seen is None:
            return self._answer(call, -232, "User has not interacted with the OA")
        age = self.clock() - seen[0]
        if age > PAID_WINDOW or (age > FREE_WINDOW and not self.paid_window):
            return self._answer(call, -230, "User has not interacted with the OA in the allowed time")
        self._record(call)
        if age > FREE_WINDOW:
            self.paid.append(call)
        message_id = f"zmsg-{next(self._ids)}"
        return web.json_response(
            {"error": 0, "message": "Success", "data": {"message_id": message_id, "user_id": user_id}}
        )

    async def _template(self, request: web.Request) -> web.Response:
        """ZBS template message by phone (`phone`) or by UID (`user_id`)."""
        body = await request.json()
        call = Call(request.path, body, dict(request.headers))
        if not self._token_ok(request):
            return self._answer(call, -124, "Access token is invalid")
        phone, user_id = body.get("phone"), body.get("user_id")
        if not body.get("template_id") or (not phone) == (not user_id):
            return self._answer(call, -201, "Parameters invalid: template_id and one of phone, user_id")
        rule = self._rule_for({"user_id": str(user_id or phone), "path": request.path})
        if rule is not None:
            call.status, call.error = rule.status, rule.response["error"] if rule.status == 200 else rule.status
            self._record(call)
            return web.json_response(rule.response, status=rule.status)
        if phone and str(phone) in self.no_zalo_account:
            return self._answer(call, -118, "Zalo account not existed")
        local = self.clock().astimezone(LOCAL)
        if str(body["template_id"]) in self.timed_templates and not TEMPLATE_HOURS[0] <= local.hour < TEMPLATE_HOURS[1]:
            return self._answer(call, -133, "This template tag can only be sent from 7:00 to 22:00")
        day = local.date().isoformat()
        if self.quota is not None and self._quota_used.get(day, 0) >= self.quota:
            return self._answer(call, -211, "Out of quota")
        self._quota_used[day] = self._quota_used.get(day, 0) + 1
        self._record(call)
        return web.json_response(
            {"error": 0, "message": "Success", "data": {"msg_id": f"zbs-{next(self._ids)}", "sent_time": "1"}}
        )

    async def _upload(self, request: web.Request) -> web.Response:
        files: dict[str, bytes] = {}
        reader = await request.multipart()
        async for part in reader:
            if getattr(part, "filename", None):
                files[getattr(part, "name", "") or "file"] = bytes(await part.read())  # type: ignore[union-attr]
        call = Call(request.path, {}, dict(request.headers), files)
        if not self._token_ok(request):
            return self._answer(call, -216, "Access token is invalid")
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
    for fake in FakeZalo.live:  # Zalo posts what its users did: the running fakes saw it
        fake.saw(event)
    return raw, {"X-ZEvent-Signature": f"mac={mac}", "Content-Type": "application/json"}


def pkce_challenge(verifier: str) -> str:
    """S256: base64url(sha256(verifier)) without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
