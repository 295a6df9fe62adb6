"""The web dashboard at `/dashboard`: the report's figures for management, server-rendered (Jinja2).

Sign-in exchanges an API key (admin or officer) for a session cookie: HTTP-only, SameSite=Lax, Secure unless
`SESSION_COOKIE_SECURE=false`, HMAC-signed with `SESSION_SECRET` (or a random per-process secret when unset:
then sessions end with the process and are not shared between replicas). The cookie holds only the key's id
and an expiry; each request checks that the key still exists and is not revoked, so revoking a key ends its
sessions. Signing out ends the session on every replica: its nonce is recorded as ended in the state store
(Redis when configured) until the cookie would have expired. Sign-in and sign-out are POST forms; cross-site
POSTs are refused (Origin / Sec-Fetch-Site) and sign-out also needs a token bound to the session.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.api.dossiers import render_dossiers
from bot.app import CLOCK
from bot.authguard import count_failure, locked_out
from bot.charts import Share, share_chart, trend_chart
from bot.report_text import vi_int, vi_percent
from bot.reports import (
    ReportQuery,
    dossier_export_response,
    load_overdue,
    load_summary,
    load_trend,
    overdue_file_response,
    report_query,
    summary_file_response,
)
from knowledge.review import check as kb_check
from knowledge.review import review as kb_review
from storage.apikeys import Principal, authenticate
from storage.errors import DomainError, Forbidden, NotFound
from storage.lifecycle import status_label
from storage.models import ApiKey, Department, Role
from storage.reports import DepartmentFigures, month_period, percent

log = logging.getLogger(__name__)

COOKIE = "motcua_session"
SESSION_TTL = timedelta(hours=8)
MAX_KEY_CHARS = 200
OVERDUE_SHOWN = 20
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
DASHBOARD_ROLES = (Role.ADMIN, Role.OFFICER)
SORTS = {
    "received": "Tiếp nhận",
    "on_time_rate": "Tỷ lệ đúng hạn",
    "satisfaction_rate": "Tỷ lệ hài lòng",
    "late": "Trễ hạn",
    "overdue": "Quá hạn",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

SECRET = web.AppKey("dashboard_secret", bytes)
JINJA = web.AppKey("dashboard_jinja", jinja2.Environment)


# --- the session cookie ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    key_id: int
    expires: int  # Unix time
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode("ascii"), hashlib.sha256).hexdigest()


def sign_session(secret: bytes, session: Session) -> str:
    """`<payload>.<hmac>`: the payload is base64url JSON of the key id, the expiry and a nonce."""
    payload = _b64(json.dumps({"k": session.key_id, "e": session.expires, "n": session.nonce}).encode("utf-8"))
    return f"{payload}.{_mac(secret, payload)}"


def read_session(secret: bytes, value: str, now: datetime) -> Session | None:
    """The session of a cookie with a valid signature that has not expired; None otherwise."""
    if len(value) > 512 or value.count(".") != 1:
        return None
    payload, mac = value.split(".")
    try:
        if not hmac.compare_digest(_mac(secret, payload), mac):
            return None
        data = json.loads(_unb64(payload))
        session = Session(key_id=int(data["k"]), expires=int(data["e"]), nonce=str(data["n"]))
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
        return None
    if session.expires <= now.timestamp():
        return None
    return session


def csrf_token(secret: bytes, session: Session) -> str:
    return _mac(secret, f"csrf:{session.nonce}")[:32]


def _ended_key(request: web.Request, session: Session) -> str:
    return request.app[keys.STATE].keys.build("dashboard", "ended", session.nonce)


async def end_session(request: web.Request, session: Session) -> None:
    """Record `session` as signed out, for every replica, until its cookie would have expired anyway."""
    remaining = session.expires - request.app[CLOCK]().timestamp()
    if remaining > 0:
        await request.app[keys.STATE].set(_ended_key(request, session), 1, ttl=remaining + 60)


async def _principal_of_session(request: web.Request) -> tuple[Principal, Session] | None:
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    session = read_session(request.app[SECRET], value, request.app[CLOCK]())
    if session is None:
        return None
    if await request.app[keys.STATE].get(_ended_key(request, session)) is not None:
        return None  # signed out
    async with request.app[keys.SESSIONMAKER]() as db:
        row = await db.get(ApiKey, session.key_id)
    if row is None or row.revoked_at is not None or row.role not in DASHBOARD_ROLES:
        return None
    principal = Principal(key_id=row.id, name=row.name, role=row.role, department_id=row.department_id)
    return principal, session


async def require_session(request: web.Request) -> tuple[Principal, Session]:
    """The signed-in principal, or a redirect to the sign-in page."""
    found = await _principal_of_session(request)
    if found is None:
        raise web.HTTPSeeOther("/dashboard/login")
    return found


async def require_session_for_file(request: web.Request) -> Principal:
    found = await _principal_of_session(request)
    if found is None:
        raise web.HTTPUnauthorized(reason="Sign in to the dashboard first")
    return found[0]


def _same_origin(request: web.Request) -> bool:
    """False for a POST a browser says comes from another site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    allowed = {request.host, urlsplit(request.app[keys.SETTINGS].public_base_url).netloc}
    return urlsplit(origin).netloc in allowed


# --- pages -----------------------------------------------------------------------------------------


def _render(request: web.Request, name: str, context: dict[str, Any], status: int = 200) -> web.Response:
    context.setdefault("centre_name", request.app[keys.SETTINGS].centre_name)
    context.setdefault("css_url", str(request.app.router["dashboard_static"].url_for(filename="dashboard.css")))
    response = aiohttp_jinja2.render_template(name, request, context, app_key=JINJA, status=status)
    response.headers.update(SECURITY_HEADERS)
    return response


async def login_page(request: web.Request) -> web.StreamResponse:
    if await _principal_of_session(request) is not None:
        raise web.HTTPSeeOther("/dashboard")
    return _render(request, "dashboard/login.html", {"error": None})


async def login(request: web.Request) -> web.StreamResponse:
    if not _same_origin(request):
        return _render(request, "dashboard/login.html", {"error": "Yêu cầu không hợp lệ (khác nguồn)."}, 403)
    wait = await locked_out(request)
    if wait is not None:
        minutes = max(1, (wait + 59) // 60)
        error = f"Đã nhập sai khóa truy cập quá nhiều lần. Vui lòng thử lại sau {minutes} phút."
        response = _render(request, "dashboard/login.html", {"error": error}, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    form = await request.post()
    secret = str(form.get("api_key", "")).strip()
    principal = None
    if 0 < len(secret) <= MAX_KEY_CHARS:
        async with request.app[keys.SESSIONMAKER].begin() as db:
            principal = await authenticate(db, secret, now=request.app[CLOCK]())
    if principal is None:
        await count_failure(request)
        return _render(request, "dashboard/login.html", {"error": "Khóa truy cập không đúng hoặc đã bị thu hồi."}, 401)
    if principal.role not in DASHBOARD_ROLES:
        return _render(
            request,
            "dashboard/login.html",
            {"error": "Khóa tích hợp không dùng để đăng nhập; hãy dùng khóa quản trị hoặc khóa cán bộ."},
            403,
        )
    settings = request.app[keys.SETTINGS]
    expires = request.app[CLOCK]() + SESSION_TTL
    session = Session(key_id=principal.key_id, expires=int(expires.timestamp()), nonce=secrets.token_urlsafe(12))
    response = _see_other("/dashboard")
    response.set_cookie(
        COOKIE,
        sign_session(request.app[SECRET], session),
        max_age=int(SESSION_TTL.total_seconds()),
        path="/dashboard",
        httponly=True,
        secure=settings.session_cookie_secure,
        samesite="Lax",
    )
    log.info("dashboard sign-in: key %s (%s)", principal.key_id, principal.role)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    found = await _principal_of_session(request)
    form = await request.post()
    if found is not None:
        expected = csrf_token(request.app[SECRET], found[1])
        if not _same_origin(request) or not hmac.compare_digest(str(form.get("csrf", "")), expected):
            raise web.HTTPForbidden(reason="Cross-site sign-out refused")
        await end_session(request, found[1])
        log.info("dashboard sign-out: key %s", found[0].key_id)
    response = _see_other("/dashboard/login")
    response.del_cookie(COOKIE, path="/dashboard")
    return response


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


@dataclass(frozen=True)
class Preset:
    label: str
    start: date
    end: date


def presets(today: date) -> list[Preset]:
    this_month = month_period(today)
    last_month = month_period(this_month.start - timedelta(days=1))
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    year_ago = (today.replace(day=1) - timedelta(days=330)).replace(day=1)
    return [
        Preset("Tháng này", this_month.start, today),
        Preset("Tháng trước", last_month.start, last_month.end),
        Preset("Quý này", quarter_start, today),
        Preset("Năm nay", date(today.year, 1, 1), today),
        Preset("12 tháng", year_ago, today),
    ]


def _sort_departments(rows: list[DepartmentFigures], key: str, descending: bool) -> list[DepartmentFigures]:
    def value(row: DepartmentFigures) -> float:
        counts = row.counts
        raw: float | None = {
            "received": counts.received,
            "on_time_rate": counts.on_time_rate,
            "satisfaction_rate": counts.satisfaction_rate,
            "late": counts.late,
            "overdue": counts.overdue,
        }[key]
        return float(raw) if raw is not None else float("-inf")

    ordered = sorted(rows, key=lambda r: r.name)
    ordered.sort(key=value, reverse=descending)
    if descending:
        return ordered
    # Ascending: departments without a rate go last, not first.
    return [r for r in ordered if value(r) != float("-inf")] + [r for r in ordered if value(r) == float("-inf")]


def _link(base: str, params: dict[str, str | None]) -> str:
    clean = {k: v for k, v in params.items() if v}
    return f"{base}?{urlencode(clean)}" if clean else base


async def index(request: web.Request) -> web.StreamResponse:
    principal, session = await require_session(request)
    app = request.app
    tz = ZoneInfo(app[keys.SETTINGS].timezone)
    today = app[CLOCK]().astimezone(tz).date()
    context: dict[str, Any] = {
        "principal": principal,
        "csrf": csrf_token(app[SECRET], session),
        "presets": presets(today),
        "departments": await _departments(request, principal),
        "error": None,
        "q": {k: request.query.get(k, "") for k in ("from", "to", "department")},
    }
    try:
        rq = report_query(app, request.query, principal)
        summary = await load_summary(app, rq)
        trend = await load_trend(app, rq, minimum=12)
        overdue, overdue_total = await load_overdue(app, rq.department_id, limit=OVERDUE_SHOWN)
    except DomainError as exc:
        context["error"] = exc.message
        return _render(request, "dashboard/index.html", context, exc.status)
    sort = request.query.get("sort", "received")
    sort = sort if sort in SORTS else "received"
    descending = request.query.get("order", "desc") != "asc"
    base = {"from": rq.period.start.isoformat(), "to": rq.period.end.isoformat(), "department": rq.department_id}
    totals = summary.totals
    channels = [
        Share("Trực tiếp", totals.direct, "#2563eb"),
        Share("Trực tuyến", totals.online, "#7c3aed"),
        Share("Bưu chính công ích", totals.postal, "#f59e0b"),
    ]
    received_to = (rq.period.end + timedelta(days=1)).isoformat()
    period_dossiers = {**base, "received_from": base["from"], "received_to": received_to}
    period_dossiers.pop("from")
    period_dossiers.pop("to")
    context.update(
        {
            "rq": rq,
            "summary": summary,
            "totals": totals,
            "q": {"from": base["from"], "to": base["to"], "department": rq.department_id or ""},
            "trend_svg": trend_chart(trend),
            # A phone gets the last six months, drawn narrow so the labels stay legible.
            "trend_svg_phone": trend_chart(trend[-6:], width=360, height=240),
            "trend": trend,
            "channels": [(s, percent(s.value, totals.new)) for s in channels],
            "channel_svg": share_chart(channels),
            "department_rows": _sort_departments(summary.departments, sort, descending),
            "sort": sort,
            "descending": descending,
            "sort_links": {
                key: _link(
                    "/dashboard",
                    {**base, "sort": key, "order": "asc" if key == sort and descending else "desc"},
                )
                for key in SORTS
            },
            "sorts": SORTS,
            "overdue": overdue,
            "overdue_total": overdue_total,
            "exports": {
                "summary_csv": _link("/dashboard/export/summary.csv", base),
                "summary_xlsx": _link("/dashboard/export/summary.xlsx", base),
                "summary_txt": _link("/dashboard/export/summary.txt", base),
                "dossiers_csv": _link("/dashboard/export/dossiers.csv", period_dossiers),
                "dossiers_xlsx": _link("/dashboard/export/dossiers.xlsx", period_dossiers),
                "overdue_csv": _link("/dashboard/export/overdue.csv", {"department": rq.department_id}),
                "overdue_xlsx": _link("/dashboard/export/overdue.xlsx", {"department": rq.department_id}),
            },
            "as_of": summary.as_of.astimezone(tz) if summary.as_of else None,
            # In progress is counted at the period's end, or now when it has not ended (as_of is the earlier).
            "period_ended": summary.as_of is not None and summary.as_of >= rq.period.bounds(tz)[1],
        }
    )
    return _render(request, "dashboard/index.html", context)


async def _departments(request: web.Request, principal: Principal) -> list[tuple[str, str]]:
    """The departments an admin can pick (an officer sees only their own)."""
    async with request.app[keys.SESSIONMAKER]() as db:
        query = select(Department.id, Department.name).where(Department.active.is_(True)).order_by(Department.name)
        if principal.role == Role.OFFICER:
            query = select(Department.id, Department.name).where(Department.id == principal.department_id)
        return [(dept, name) for dept, name in (await db.execute(query)).all()]


async def dossier_page(request: web.Request) -> web.StreamResponse:
    principal, session = await require_session(request)
    app = request.app
    tz = ZoneInfo(app[keys.SETTINGS].timezone)
    context: dict[str, Any] = {"principal": principal, "csrf": csrf_token(app[SECRET], session)}
    code = request.match_info["code"]
    async with app[keys.SESSIONMAKER]() as db:
        try:
            dossier = await app[keys.DOSSIERS].get(db, code)
        except NotFound:
            dossier = None
        # Another department's dossier reads as missing: an officer cannot probe which codes exist.
        if dossier is None or not principal.sees_department(dossier.department_id):
            context["error"] = f"Không tìm thấy hồ sơ có mã {code}."
            return _render(request, "dashboard/dossier.html", context, 404)
        (view,) = await render_dossiers(db, [dossier], tz)
        events = await app[keys.DOSSIERS].events(db, dossier.id)
    context.update(
        {
            "error": None,
            "d": view,
            "events": [
                {
                    "at": e.at.astimezone(tz),
                    "status": status_label(e.to_status),
                    "changed": e.from_status != e.to_status,
                    "note": e.note,
                }
                for e in events
            ],
        }
    )
    return _render(request, "dashboard/dossier.html", context)


# --- knowledge base review ("Nội dung cần rà soát") -----------------------------------------------


async def kb_review_page(request: web.Request) -> web.StreamResponse:
    """For officers: what the knowledge base says that is out of date or not yet confirmed (never shown to
    citizens): errors and warnings of `motcua kb check` on today, then the editorial notes per procedure."""
    principal, session = await require_session(request)
    app = request.app
    kb = app[keys.KB]
    today = app[CLOCK]().astimezone(ZoneInfo(app[keys.SETTINGS].timezone)).date()
    findings = kb_check(kb, today)
    titles = {f"procedures/{p.id}.yaml": p.title for p in kb.procedures}
    context: dict[str, Any] = {
        "principal": principal,
        "csrf": csrf_token(app[SECRET], session),
        "today": today,
        "errors": [(titles.get(f.file, f.file), f) for f in findings if f.level == "error"],
        "warnings": [(titles.get(f.file, f.file), f) for f in findings if f.level == "warning"],
        "procedures": kb_review(kb),
    }
    return _render(request, "dashboard/kb_review.html", context)


# --- files -----------------------------------------------------------------------------------------


async def export_summary(request: web.Request) -> web.StreamResponse:
    principal = await require_session_for_file(request)
    rq: ReportQuery = report_query(request.app, request.query, principal)
    return await summary_file_response(request.app, rq, request.match_info["fmt"])


async def export_dossiers(request: web.Request) -> web.StreamResponse:
    principal = await require_session_for_file(request)
    return await dossier_export_response(request, principal, request.match_info["fmt"])


async def export_overdue(request: web.Request) -> web.StreamResponse:
    principal = await require_session_for_file(request)
    department = (request.query.get("department") or "").strip() or None
    if principal.role == Role.OFFICER:
        if department is not None and department != principal.department_id:
            raise Forbidden("This key belongs to another department", code="wrong_department")
        department = principal.department_id
    return await overdue_file_response(request.app, department, request.match_info["fmt"])


# --- wiring ----------------------------------------------------------------------------------------


def local_time_filter(tz: ZoneInfo) -> Any:
    """A template filter: an aware time (or its ISO text) shown in local time."""

    def local(value: datetime | str | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
        if value is None:
            return ""
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(tz).strftime(fmt)

    return local


def setup_dashboard(app: web.Application) -> None:
    """Add `/dashboard` (pages, files, static assets) to the app."""
    settings = app[keys.SETTINGS]
    if settings.session_secret is not None:
        app[SECRET] = settings.session_secret.get_secret_value().encode("utf-8")
    else:
        # Sessions then end with the process and are not shared between replicas: set SESSION_SECRET.
        app[SECRET] = secrets.token_bytes(32)
        log.info("dashboard: SESSION_SECRET is not set; using a per-process secret")
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        app_key=JINJA,
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        default_helpers=False,
    )
    local = local_time_filter(ZoneInfo(settings.timezone))
    env.filters.update({"vi_int": vi_int, "vi_percent": vi_percent, "local": local})
    app.router.add_get("/dashboard", index)
    app.router.add_get("/dashboard/login", login_page)
    app.router.add_post("/dashboard/login", login)
    app.router.add_post("/dashboard/logout", logout)
    app.router.add_get("/dashboard/dossiers/{code}", dossier_page)
    app.router.add_get("/dashboard/ra-soat", kb_review_page)
    app.router.add_get(r"/dashboard/export/summary.{fmt:csv|xlsx|txt}", export_summary)
    app.router.add_get(r"/dashboard/export/dossiers.{fmt:csv|xlsx}", export_dossiers)
    app.router.add_get(r"/dashboard/export/overdue.{fmt:csv|xlsx}", export_overdue)
    app.router.add_static("/dashboard/static/", STATIC, name="dashboard_static", append_version=True)


__all__ = ["COOKIE", "Session", "read_session", "setup_dashboard", "sign_session"]
