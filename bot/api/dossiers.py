"""`/api/v1/dossiers`: create, read, change status, list/filter, import CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keys
from bot.http import (
    int_param,
    json_response,
    multipart_of,
    parse_time,
    principal_of,
    read_model,
    require_department,
    require_role,
)
from storage.apikeys import Principal
from storage.dossiers import STATUSES, DossierFilter, NewDossier
from storage.errors import DomainError, InvalidInput, NotFound
from storage.importer import import_dossiers
from storage.lifecycle import national_status_code, status_label
from storage.models import Department, Dossier, Procedure, Role

WRITE_ROLES = (Role.ADMIN, Role.OFFICER, Role.INTEGRATION)
MAX_PAGE = 500


class Applicant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    id_number: str | None = Field(default=None, max_length=20)


class CreateDossier(BaseModel):
    model_config = ConfigDict(extra="forbid")
    procedure_id: str = Field(min_length=1, max_length=96)
    applicant: Applicant
    channel: Literal["direct", "online", "postal"]
    code: str | None = Field(default=None, min_length=1, max_length=40)
    received_at: str | None = Field(default=None, max_length=40)
    department_id: str | None = Field(default=None, max_length=64)
    return_method: Literal["counter", "postal"] = "counter"
    fees: int | None = Field(default=None, ge=0, le=10**12)
    documents: list[str] | None = Field(default=None, max_length=100)


class ChangeDossier(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=2000)
    new_due_at: str | None = Field(default=None, max_length=40)
    supplement_deadline: str | None = Field(default=None, max_length=40)
    amount: int | None = Field(default=None, ge=0, le=10**12)
    reason: str | None = Field(default=None, max_length=2000)


def dossier_json(
    dossier: Dossier, department: Department | None, procedure: Procedure | None, tz: ZoneInfo
) -> dict[str, Any]:
    """The officer's view of a dossier (personal data included: the API is for staff and integrations)."""

    def local(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat() if value else None

    return {
        "code": dossier.code,
        "status": dossier.status,
        "status_label": status_label(dossier.status),
        "national_status_code": national_status_code(dossier.status),
        "procedure_id": dossier.procedure_id,
        "procedure_title": procedure.title if procedure else None,
        "department": dossier.department_id,
        "department_name": department.name if department else None,
        "applicant": {
            "name": dossier.applicant_name,
            "phone": dossier.applicant_phone,
            "id_number": dossier.applicant_id_number,
        },
        "channel": dossier.channel,
        "return_method": dossier.return_method,
        "received_at": local(dossier.received_at),
        "due_at": local(dossier.due_at),
        "original_due_at": local(dossier.original_due_at),
        "postponed": dossier.due_at != dossier.original_due_at,
        "resolved_at": local(dossier.resolved_at),
        "returned_at": local(dossier.returned_at),
        "supplement_deadline": local(dossier.supplement_deadline),
        "fees": dossier.fees,
        "documents": dossier.documents or [],
    }


async def _names(session: AsyncSession, dossiers: list[Dossier]) -> tuple[dict[str, Department], dict[str, Procedure]]:
    dept_ids = {d.department_id for d in dossiers}
    proc_ids = {d.procedure_id for d in dossiers}
    departments = {
        d.id: d for d in (await session.execute(select(Department).where(Department.id.in_(dept_ids)))).scalars()
    }
    procedures = {
        p.id: p for p in (await session.execute(select(Procedure).where(Procedure.id.in_(proc_ids)))).unique().scalars()
    }
    return departments, procedures


async def render_dossiers(session: AsyncSession, dossiers: list[Dossier], tz: ZoneInfo) -> list[dict[str, Any]]:
    departments, procedures = await _names(session, dossiers)
    return [dossier_json(d, departments.get(d.department_id), procedures.get(d.procedure_id), tz) for d in dossiers]


async def load_visible_dossier(request: web.Request, session: AsyncSession, principal: Principal) -> Dossier:
    """The dossier of the path's `{code}`, if this key may see it; another department's dossier is "not found"
    exactly like a missing one, so that an officer's key cannot probe which codes exist."""
    code = request.match_info["code"]
    try:
        dossier = await request.app[keys.DOSSIERS].get(session, code)
    except NotFound:
        raise NotFound(f"No dossier with code {code!r}", code="dossier_not_found") from None
    if not principal.sees_department(dossier.department_id):
        raise NotFound(f"No dossier with code {code!r}", code="dossier_not_found")
    return dossier


async def create_dossier(request: web.Request) -> web.Response:
    principal = require_role(request, *WRITE_ROLES)
    body = await read_model(request, CreateDossier)
    settings = request.app[keys.SETTINGS]
    tz = ZoneInfo(settings.timezone)
    new = NewDossier(
        procedure_id=body.procedure_id,
        applicant_name=body.applicant.name,
        applicant_phone=body.applicant.phone,
        applicant_id_number=body.applicant.id_number,
        channel=body.channel,
        code=body.code,
        received_at=parse_time(body.received_at, tz, "received_at") if body.received_at else None,
        department_id=body.department_id,
        return_method=body.return_method,
        fees=body.fees,
        documents=body.documents,
    )
    scope = principal.department_id if principal.role == Role.OFFICER else None
    async with request.app[keys.SESSIONMAKER].begin() as session:
        dossier = await request.app[keys.DOSSIERS].create(session, new, actor=principal.actor, department_scope=scope)
        (view,) = await render_dossiers(session, [dossier], tz)
    request.app[keys.METRICS].dossiers_created.labels(channel=dossier.channel).inc()
    return json_response(view, status=201)


async def get_dossier(request: web.Request) -> web.Response:
    principal = principal_of(request)
    tz = ZoneInfo(request.app[keys.SETTINGS].timezone)
    async with request.app[keys.SESSIONMAKER].begin() as session:
        dossier = await load_visible_dossier(request, session, principal)
        (view,) = await render_dossiers(session, [dossier], tz)
        events = await request.app[keys.DOSSIERS].events(session, dossier.id)
    view["events"] = [
        {
            "at": e.at.astimezone(tz).isoformat(),
            "from_status": e.from_status,
            "to_status": e.to_status,
            "actor": e.actor,
            "note": e.note,
            "data": e.data,
        }
        for e in events
    ]
    for extend in request.app.get(DOSSIER_VIEW_EXTENSIONS, []):
        await extend(request, dossier, view)
    return json_response(view)


async def change_dossier(request: web.Request) -> web.Response:
    principal = require_role(request, *WRITE_ROLES)
    body = await read_model(request, ChangeDossier)
    tz = ZoneInfo(request.app[keys.SETTINGS].timezone)
    if body.status is not None and body.status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", code="invalid_status")
    new_due_at = parse_time(body.new_due_at, tz, "new_due_at") if body.new_due_at else None
    extra: dict[str, Any] = {}
    if body.supplement_deadline:
        extra["supplement_deadline"] = parse_time(body.supplement_deadline, tz, "supplement_deadline")
    if body.amount is not None:
        extra["amount"] = body.amount
    if body.reason:
        extra["reason"] = body.reason
    request_key = request.headers.get("Idempotency-Key")
    if request_key is not None and not (0 < len(request_key) <= 128):
        raise InvalidInput("Idempotency-Key must be 1–128 characters", code="invalid_idempotency_key")
    async with request.app[keys.SESSIONMAKER].begin() as session:
        dossier = await load_visible_dossier(request, session, principal)
        dossier, changed = await request.app[keys.DOSSIERS].change(
            session,
            dossier,
            actor=principal.actor,
            status=body.status,
            note=body.note,
            new_due_at=new_due_at,
            request_key=request_key,
            extra=extra,
        )
        (view,) = await render_dossiers(session, [dossier], tz)
    if changed and body.status:
        request.app[keys.METRICS].dossier_changes.labels(status=body.status).inc()
    view["changed"] = changed
    return json_response(view)


def dossier_filter_from_query(request: web.Request, principal: Principal) -> DossierFilter:
    """Filters shared by the list and its exports."""
    tz = ZoneInfo(request.app[keys.SETTINGS].timezone)
    query = request.query
    statuses = [s for s in query.get("status", "").split(",") if s]
    for status in statuses:
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", code="invalid_parameter")
    department = query.get("department") or None
    if principal.role == Role.OFFICER:
        if department is not None:
            require_department(principal, department)
        department = principal.department_id
    flt = DossierFilter(status=statuses, department_id=department, procedure_id=query.get("procedure") or None)
    channel = query.get("channel")
    if channel:
        if channel not in ("direct", "online", "postal"):
            raise InvalidInput("channel must be direct, online or postal", code="invalid_parameter")
        flt.channel = channel
    for name in TIME_FILTERS:
        if query.get(name):
            setattr(flt, name, parse_time(query[name], tz, name))
    if query.get("overdue") in ("1", "true", "yes"):
        from storage.models import utcnow

        flt.overdue_at = utcnow()
    return flt


async def list_dossiers(request: web.Request) -> web.Response:
    principal = principal_of(request)
    tz = ZoneInfo(request.app[keys.SETTINGS].timezone)
    flt = dossier_filter_from_query(request, principal)
    limit = int_param(request, "limit", 50, 1, MAX_PAGE)
    offset = int_param(request, "offset", 0, 0, 10**9)
    async with request.app[keys.SESSIONMAKER].begin() as session:
        rows, total = await request.app[keys.DOSSIERS].list(session, flt, limit=limit, offset=offset)
        items = await render_dossiers(session, rows, tz)
    return json_response({"items": items, "total": total, "limit": limit, "offset": offset})


async def import_dossiers_route(request: web.Request) -> web.Response:
    principal = require_role(request, *WRITE_ROLES)
    settings = request.app[keys.SETTINGS]
    if request.content_type.startswith("multipart/"):
        try:
            reader = await multipart_of(request)
            part = await reader.next()
            while part is not None and getattr(part, "name", None) != "file":
                part = await reader.next()
            if part is None:
                raise InvalidInput("multipart body needs a 'file' part with the CSV", code="invalid_csv")
            raw = await part.read(decode=True)  # type: ignore[union-attr]
        except (ValueError, RuntimeError) as exc:  # no boundary, broken parts, unknown encodings
            raise InvalidInput(f"The multipart body is malformed: {exc}", code="invalid_csv") from None
        except HttpProcessingError as exc:  # a part's header line without a colon, an oversized header
            raise InvalidInput(f"The multipart body is malformed: {exc.message}", code="invalid_csv") from None
    else:
        raw = await request.read()
    if not raw:
        raise InvalidInput(
            "Send the CSV file as the request body (text/csv) or as multipart 'file'", code="invalid_csv"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("The CSV file must be UTF-8", code="invalid_csv") from None
    scope = principal.department_id if principal.role == Role.OFFICER else None
    report = await import_dossiers(
        request.app[keys.SESSIONMAKER],
        request.app[keys.DOSSIERS],
        text,
        tz=ZoneInfo(settings.timezone),
        actor=principal.actor,
        department_scope=scope,
    )
    return json_response(report.as_dict(), status=200)


async def rotate_subscribe_links(request: web.Request) -> web.Response:
    """New subscribe links for the dossier; every earlier link stops working (a receipt lost or shared)."""
    from bot.app import CLOCK
    from bot.receipt import dossier_links

    principal = require_role(request, *WRITE_ROLES)
    tz = ZoneInfo(request.app[keys.SETTINGS].timezone)
    async with request.app[keys.SESSIONMAKER].begin() as session:
        dossier = await load_visible_dossier(request, session, principal)
        links, expires_at = await dossier_links(request.app, session, dossier.id, now=request.app[CLOCK](), rotate=True)
    return json_response(
        {
            "code": dossier.code,
            "subscribe_links": {
                "telegram": links["telegram"],
                "zalo": links.get("zalo"),
                "expires_at": expires_at.astimezone(tz).isoformat(),
            },
        }
    )


# Other features add fields to the dossier view (e.g. subscribe links) without touching this module.
DossierViewExtension = Any
DOSSIER_VIEW_EXTENSIONS = web.AppKey("dossier_view_extensions", list[DossierViewExtension])


_NULLABLE_STR = {"type": "string", "nullable": True}
_TIME = {"type": "string", "format": "date-time", "nullable": True}
DOSSIER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "status", "received_at", "due_at", "department"],
    "properties": {
        "code": {"type": "string"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "status_label": {"type": "string"},
        "national_status_code": {
            "type": "integer",
            "minimum": 1,
            "maximum": 10,
            "description": "The status in the national public-service portal's list (1–10)",
        },
        "procedure_id": {"type": "string"},
        "procedure_title": _NULLABLE_STR,
        "department": {"type": "string"},
        "department_name": _NULLABLE_STR,
        "applicant": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "phone": _NULLABLE_STR, "id_number": _NULLABLE_STR},
        },
        "channel": {"type": "string", "enum": ["direct", "online", "postal"]},
        "return_method": {"type": "string", "enum": ["counter", "postal"]},
        "received_at": _TIME,
        "due_at": _TIME,
        "original_due_at": _TIME,
        "postponed": {"type": "boolean"},
        "resolved_at": _TIME,
        "returned_at": _TIME,
        "supplement_deadline": _TIME,
        "fees": {"type": "integer", "nullable": True},
        "documents": {"type": "array", "items": {"type": "string"}},
        "events": {"type": "array", "items": {"type": "object"}},
        "changed": {"type": "boolean"},
        "subscribe_links": {"$ref": "#/components/schemas/SubscribeLinks"},
    },
}
SUBSCRIBE_LINKS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "telegram": {"type": "string"},
        "zalo": {"type": ["string", "null"]},
        "expires_at": {"type": "string", "format": "date-time"},
    },
}


TIME_FILTERS = ("due_before", "due_after", "received_from", "received_to")


def dossier_filter_params() -> list[dict[str, Any]]:
    """The list filters as OpenAPI parameters (the times as date-time, so fuzzers try the calendar's edges)."""
    return (
        [
            {"name": name, "in": "query", "schema": {"type": "string"}}
            for name in ("status", "department", "procedure", "channel")
        ]
        + [
            {
                "name": name,
                "in": "query",
                "schema": {"type": "string", "format": "date-time"},
                "description": "ISO 8601 time or date (local time without offset), 1901-01-01 to 2099-12-31",
            }
            for name in TIME_FILTERS
        ]
        + [{"name": "overdue", "in": "query", "schema": {"type": "string", "enum": ["1", "true", "yes", "0", "false"]}}]
    )


def _openapi(app: web.Application) -> None:
    from bot.api.openapi import add_paths, error_responses, json_body, ok

    ref = {"$ref": "#/components/schemas/Dossier"}
    code_param = {"name": "code", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 80}}
    query_params = dossier_filter_params() + [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    ]
    add_paths(
        app,
        {
            "/api/v1/dossiers": {
                "post": {
                    "summary": "Record a received dossier (computes the appointment date and the code)",
                    "requestBody": json_body(
                        CreateDossier.model_json_schema(ref_template="#/components/schemas/{model}")
                    ),
                    "responses": {**ok(ref, 201, "Created"), **error_responses(400, 401, 403, 409, 413, 422, 503)},
                },
                "get": {
                    "summary": "List dossiers (filters, paginated, newest first)",
                    "parameters": query_params,
                    "responses": {
                        **ok(
                            {
                                "type": "object",
                                "required": ["items", "total"],
                                "properties": {
                                    "items": {"type": "array", "items": ref},
                                    "total": {"type": "integer"},
                                    "limit": {"type": "integer"},
                                    "offset": {"type": "integer"},
                                },
                            }
                        ),
                        **error_responses(401, 403, 422),
                    },
                },
            },
            "/api/v1/dossiers/import": {
                "post": {
                    "summary": "Import dossiers from CSV (text/csv body or multipart 'file')",
                    "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}},
                    "responses": {
                        **ok(
                            {
                                "type": "object",
                                "properties": {
                                    "accepted": {"type": "integer"},
                                    "unchanged": {"type": "integer"},
                                    "rejected": {"type": "array", "items": {"type": "object"}},
                                },
                            }
                        ),
                        **error_responses(401, 403, 413, 422),
                    },
                }
            },
            "/api/v1/dossiers/{code}": {
                "get": {
                    "summary": "A dossier with its history",
                    "parameters": [code_param],
                    "responses": {**ok(ref), **error_responses(401, 403, 404)},
                },
                "patch": {
                    "summary": "Change status and/or postpone (keeps original_due_at); Idempotency-Key header honoured",
                    "parameters": [
                        code_param,
                        {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 128}},
                    ],
                    "requestBody": json_body(ChangeDossier.model_json_schema()),
                    "responses": {**ok(ref), **error_responses(400, 401, 403, 404, 409, 422)},
                },
            },
            "/api/v1/dossiers/{code}/subscribe-links": {
                "post": {
                    "summary": "New subscribe links (receipt QR / deep links) for the dossier; the earlier ones stop "
                    "working. Reads of the dossier show its one live link and never issue another.",
                    "parameters": [code_param],
                    "responses": {
                        **ok(
                            {
                                "type": "object",
                                "required": ["code", "subscribe_links"],
                                "properties": {
                                    "code": {"type": "string"},
                                    "subscribe_links": {"$ref": "#/components/schemas/SubscribeLinks"},
                                },
                            }
                        ),
                        **error_responses(401, 403, 404),
                    },
                }
            },
        },
        {
            "Dossier": DOSSIER_SCHEMA,
            "Applicant": Applicant.model_json_schema(),
            "SubscribeLinks": SUBSCRIBE_LINKS_SCHEMA,
        },
    )


def setup_routes(app: web.Application) -> None:
    from bot.receipt import setup_token_key

    _openapi(app)
    setup_token_key(app)
    app.setdefault(DOSSIER_VIEW_EXTENSIONS, [])
    app.router.add_post("/api/v1/dossiers", create_dossier)
    app.router.add_get("/api/v1/dossiers", list_dossiers)
    app.router.add_post("/api/v1/dossiers/import", import_dossiers_route)
    app.router.add_get("/api/v1/dossiers/{code}", get_dossier)
    app.router.add_patch("/api/v1/dossiers/{code}", change_dossier)
    app.router.add_post("/api/v1/dossiers/{code}/subscribe-links", rotate_subscribe_links)


__all__ = ["DOSSIER_VIEW_EXTENSIONS", "DomainError", "dossier_filter_from_query", "render_dossiers", "setup_routes"]
