""" "Kết nối lại Zalo OA": an OA admin grants the app access again (Zalo's v4 permission flow with PKCE).

When the refresh token is dead (refused, or unused for 3 months), no Zalo message can go and `/healthz` says
so. An admin signed in to the dashboard opens `GET /dashboard/zalo/connect`: the app makes a PKCE verifier
and a one-time `state`, keeps them in the state store for ten minutes (any replica may get the callback), and
sends the admin to `{ZALO_OAUTH_BASE_URL}/v4/oa/permission`. Zalo sends the admin back to
`GET /dashboard/zalo/callback?code=…&state=…`; the code is exchanged (`grant_type=authorization_code` with
the `code_verifier`) and the new pair goes into the one token store every Zalo sender uses. Nobody pastes
tokens by hand.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.channels.zalo import ZALO_TOKENS, TokenPair
from bot.dashboard import SECRET as DASHBOARD_SECRET
from bot.dashboard import _render, csrf_token, require_session
from storage.models import Dossier, OutboxMessage, utcnow

log = logging.getLogger(__name__)

STATE_TTL_SECONDS = 600
CALLBACK_PATH = "/dashboard/zalo/callback"


def pkce_pair() -> tuple[str, str]:
    """A code verifier (43–128 characters) and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _redirect_uri(request: web.Request) -> str:
    settings = request.app[keys.SETTINGS]
    return settings.zalo_oauth_redirect_url or settings.public_base_url.rstrip("/") + CALLBACK_PATH


async def connect(request: web.Request) -> web.StreamResponse:
    """`GET /dashboard/zalo/connect` (admin): off to Zalo's permission page."""
    principal, _session = await require_session(request)
    if principal.role != "admin":
        raise web.HTTPForbidden(text="Chỉ quản trị viên được kết nối lại Zalo OA.")
    settings = request.app[keys.SETTINGS]
    if not settings.zalo_app_id or settings.zalo_app_secret is None:
        raise web.HTTPNotFound(text="Chưa cấu hình ZALO_APP_ID và ZALO_APP_SECRET.")
    verifier, challenge = pkce_pair()
    state_token = secrets.token_urlsafe(24)
    store = request.app[keys.STATE]
    key = store.keys.build("zalo-oauth", state_token)
    await store.set(key, {"verifier": verifier, "key_id": principal.key_id}, ttl=STATE_TTL_SECONDS)
    query = urlencode(
        {
            "app_id": settings.zalo_app_id,
            "redirect_uri": _redirect_uri(request),
            "code_challenge": challenge,
            "state": state_token,
        }
    )
    raise web.HTTPFound(f"{settings.zalo_oauth_base_url.rstrip('/')}/v4/oa/permission?{query}")


async def callback(request: web.Request) -> web.StreamResponse:
    """`GET /dashboard/zalo/callback?code=…&state=…`: exchange the code, store the new tokens."""
    principal, _session = await require_session(request)
    app = request.app
    store = app[keys.STATE]
    state_token = request.query.get("state", "")
    key = store.keys.build("zalo-oauth", state_token[:64])
    saved = await store.get(key) if state_token else None
    await store.delete(key)  # one use, whatever happens next
    if not isinstance(saved, dict) or saved.get("key_id") != principal.key_id:
        raise web.HTTPBadRequest(text="Yêu cầu kết nối đã hết hạn hoặc không hợp lệ; xin thử lại từ đầu.")
    code = request.query.get("code", "")
    tokens = app.get(ZALO_TOKENS)
    settings = app[keys.SETTINGS]
    if not code or tokens is None or settings.zalo_app_secret is None or not settings.zalo_app_id:
        raise web.HTTPBadRequest(text="Zalo không trả về mã cấp quyền, hoặc chưa cấu hình Zalo OA.")
    form = {
        "app_id": settings.zalo_app_id,
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": str(saved["verifier"]),
    }
    url = settings.zalo_oauth_base_url.rstrip("/") + "/v4/oa/access_token"
    headers = {"secret_key": settings.zalo_app_secret.get_secret_value()}
    try:
        async with tokens.http.post(url, data=form, headers=headers) as response:
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("zalo: exchanging the authorization code failed: %s", type(exc).__name__)
        raise web.HTTPBadGateway(text="Không kết nối được tới Zalo; xin thử lại.") from None
    if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
        reason = body.get("error_name") or body.get("error") if isinstance(body, dict) else "not JSON"
        log.warning("zalo: the authorization code was refused (%s)", reason)
        raise web.HTTPBadRequest(text="Zalo từ chối mã cấp quyền; xin thử lại từ đầu.")
    try:
        lifetime = timedelta(seconds=int(body.get("expires_in", 90000)))
    except (TypeError, ValueError):
        lifetime = timedelta(seconds=90000)
    await tokens.grant(TokenPair(str(body["access_token"]), str(body["refresh_token"]), utcnow() + lifetime))
    log.info("zalo: access granted again by %s; new tokens stored", principal.name)
    raise web.HTTPSeeOther("/dashboard")


NOTICE_KINDS = {
    "receipt": "Biên nhận",
    "status": "Tình trạng hồ sơ",
    "postponed": "Hẹn lại",
    "reminder": "Nhắc lịch",
    "rating_request": "Mời đánh giá",
    "officer_alert": "Cảnh báo cán bộ",
}


async def delivery_page(request: web.Request) -> web.StreamResponse:
    """`GET /dashboard/delivery` (admin): the Zalo connection and the notices nobody could receive."""

    principal, session = await require_session(request)
    if principal.role != "admin":
        raise web.HTTPForbidden(text="Chỉ quản trị viên xem được trang này.")
    app = request.app
    async with app[keys.SESSIONMAKER]() as db:
        result = await db.execute(
            select(OutboxMessage, Dossier.code)
            .outerjoin(Dossier, Dossier.id == OutboxMessage.dossier_id)
            .where(OutboxMessage.status.in_(("undeliverable", "failed")))
            .order_by(OutboxMessage.id.desc())
            .limit(100)
        )
        rows = [
            {
                "created_at": row.created_at,
                "kind": row.kind,
                "channel": row.channel,
                "status": row.status,
                "code": code,
                "last_error": row.last_error,
            }
            for row, code in result.all()
        ]
    tokens = app.get(ZALO_TOKENS)
    context = {
        "principal": principal,
        "csrf": csrf_token(app[DASHBOARD_SECRET], session),
        "rows": rows,
        "kinds": NOTICE_KINDS,
        "zalo_configured": tokens is not None,
        "zalo_problem": tokens.dead if tokens is not None else None,
    }
    return _render(request, "dashboard/delivery.html", context)


def setup_zalo_connect(app: web.Application) -> None:
    app.router.add_get("/dashboard/zalo/connect", connect)
    app.router.add_get(CALLBACK_PATH, callback)
    app.router.add_get("/dashboard/delivery", delivery_page)


__all__ = ["pkce_pair", "setup_zalo_connect"]
