"""Wiring of the citizen journeys into the app: the notification hook, the printable receipt,
the subscribe links in the dossier view, and the ratings API."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keys
from bot.api.dossiers import DOSSIER_VIEW_EXTENSIONS, load_visible_dossier
from bot.app import CLOCK
from bot.http import int_param, json_response, parse_time, principal_of, require_department
from bot.receipt import ReceiptData, SubscribeLink, dossier_links, render_receipt
from handlers.notifications import create_notification_hook
from storage.errors import InvalidInput
from storage.models import Department, Dossier, Procedure, Role
from storage.ratings import LEVELS, RatingFilter, list_ratings

MAX_PAGE = 500
ALL_LEVELS = sorted({level for scale in LEVELS.values() for level in scale.values()})


def setup_journeys(app: web.Application) -> None:
    """Add the journeys' hook, routes and OpenAPI descriptions to the app (template messages are sent by the
    Zalo channel's `zns` sender, with its token store)."""
    settings = app[keys.SETTINGS]
    app[keys.DOSSIER_HOOKS].append(create_notification_hook(settings, app[keys.CALENDAR], app[CLOCK]))

    app.setdefault(DOSSIER_VIEW_EXTENSIONS, [])
    app[DOSSIER_VIEW_EXTENSIONS].append(add_subscribe_links)
    app.router.add_get("/api/v1/dossiers/{code}/receipt.pdf", receipt_pdf)
    app.router.add_get("/api/v1/ratings", ratings_route)
    _openapi(app)


async def _new_links(request: web.Request, dossier: Dossier, session: AsyncSession) -> tuple[dict[str, str], datetime]:
    """The dossier's live subscription token (issued when it has none), as deep links, and when they expire."""
    return await dossier_links(request.app, session, dossier.id, now=request.app[CLOCK]())


async def add_subscribe_links(request: web.Request, dossier: Dossier, view: dict[str, Any]) -> None:
    """`subscribe_links` in the dossier view: the deep links officers can send by other means."""
    tz = ZoneInfo(request.app[keys.SETTINGS].timezone)
    async with request.app[keys.SESSIONMAKER].begin() as session:
        links, expires_at = await _new_links(request, dossier, session)
    view["subscribe_links"] = {
        "telegram": links["telegram"],
        "zalo": links.get("zalo"),
        "expires_at": expires_at.astimezone(tz).isoformat(),
    }


async def receipt_pdf(request: web.Request) -> web.Response:
    """`GET /api/v1/dossiers/{code}/receipt.pdf`: the printable receipt with a QR code that subscribes."""
    app = request.app
    principal = principal_of(request)
    settings = app[keys.SETTINGS]
    tz = ZoneInfo(settings.timezone)
    async with app[keys.SESSIONMAKER].begin() as session:
        dossier = await load_visible_dossier(request, session, principal)
        procedure = await session.get(Procedure, dossier.procedure_id)
        department = await session.get(Department, dossier.department_id)
        links, expires_at = await _new_links(request, dossier, session)
    platforms = [("zalo", "Zalo"), ("telegram", "Telegram")]
    data = ReceiptData(
        code=dossier.code,
        applicant_name=dossier.applicant_name,
        applicant_phone=dossier.applicant_phone,
        applicant_id_number=dossier.applicant_id_number,
        procedure=procedure.title if procedure else dossier.procedure_id,
        department=department.name if department else dossier.department_id,
        processing_days=procedure.processing_days if procedure else None,
        channel=dossier.channel,
        return_method=dossier.return_method,
        received_at=dossier.received_at,
        due_at=dossier.due_at,
        fees=dossier.fees,
        documents=list(dossier.documents or []),
        links=[SubscribeLink(label, links[key]) for key, label in platforms if key in links],
        links_expire_at=expires_at,
    )
    loop = asyncio.get_running_loop()
    # Rendering is CPU work (tens of milliseconds): keep it off the event loop.
    pdf = await loop.run_in_executor(None, render_receipt, data, settings, tz, app[CLOCK]())
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", dossier.code) + ".pdf"
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"},
    )


async def ratings_route(request: web.Request) -> web.Response:
    """`GET /api/v1/ratings`: ratings with their comments; an officer sees their own department only."""
    principal = principal_of(request)
    tz = ZoneInfo(request.app[keys.SETTINGS].timezone)
    query = request.query
    department = query.get("department") or None
    if principal.role == Role.OFFICER:
        if department is not None:
            require_department(principal, department)
        department = principal.department_id
    levels = [level for level in query.get("level", "").split(",") if level]
    for level in levels:
        if level not in ALL_LEVELS:
            raise InvalidInput(f"level must be one of {', '.join(ALL_LEVELS)}", code="invalid_parameter")
    flt = RatingFilter(
        department_id=department,
        levels=levels,
        since=parse_time(query["since"], tz, "since") if query.get("since") else None,
        until=parse_time(query["until"], tz, "until") if query.get("until") else None,
        with_comment=query.get("with_comment") in ("1", "true", "yes"),
    )
    limit = int_param(request, "limit", 50, 1, MAX_PAGE)
    offset = int_param(request, "offset", 0, 0, 10**9)
    async with request.app[keys.SESSIONMAKER]() as session:
        rows, total = await list_ratings(session, flt, limit=limit, offset=offset)
    items = [
        {
            "dossier_code": dossier.code,
            "department": rating.department_id,
            "procedure_id": dossier.procedure_id,
            "dossier_channel": dossier.channel,
            "channel": rating.channel,
            "level": rating.level,
            "score": rating.score,
            "comment": rating.comment,
            "created_at": rating.created_at.astimezone(tz).isoformat(),
            "updated_at": rating.updated_at.astimezone(tz).isoformat(),
        }
        for rating, dossier in rows
    ]
    return json_response({"items": items, "total": total, "limit": limit, "offset": offset})


def _openapi(app: web.Application) -> None:
    from bot.api.openapi import add_paths, error_responses, ok

    code_param = {"name": "code", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 80}}
    rating = {
        "type": "object",
        "required": ["dossier_code", "department", "level", "score", "created_at"],
        "properties": {
            "dossier_code": {"type": "string"},
            "department": {"type": "string"},
            "procedure_id": {"type": "string"},
            "dossier_channel": {"type": "string", "enum": ["direct", "online", "postal"]},
            "channel": {"type": "string", "description": "where the rating was given (telegram, zalo, console)"},
            "level": {"type": "string", "enum": ALL_LEVELS},
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "comment": {"type": "string", "nullable": True},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    }
    add_paths(
        app,
        {
            "/api/v1/dossiers/{code}/receipt.pdf": {
                "get": {
                    "summary": "The printable receipt (Giấy tiếp nhận hồ sơ và hẹn trả kết quả) with a subscribe QR",
                    "description": "Each call issues a new subscription token (valid SUBSCRIBE_TOKEN_TTL_DAYS days).",
                    "parameters": [code_param],
                    "responses": {
                        "200": {
                            "description": "PDF",
                            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                        },
                        **error_responses(401, 403, 404),
                    },
                }
            },
            "/api/v1/ratings": {
                "get": {
                    "summary": "Satisfaction ratings (newest first); an officer's key sees its own department",
                    "parameters": [
                        {"name": "department", "in": "query", "schema": {"type": "string"}},
                        {"name": "level", "in": "query", "schema": {"type": "string"}, "description": "comma list"},
                        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                        {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                        {"name": "with_comment", "in": "query", "schema": {"type": "boolean"}},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                        },
                        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                    ],
                    "responses": {
                        **ok(
                            {
                                "type": "object",
                                "required": ["items", "total"],
                                "properties": {
                                    "items": {"type": "array", "items": rating},
                                    "total": {"type": "integer"},
                                    "limit": {"type": "integer"},
                                    "offset": {"type": "integer"},
                                },
                            }
                        ),
                        **error_responses(401, 403, 422),
                    },
                }
            },
        },
    )
