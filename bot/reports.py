"""`/api/v1/reports/*` and `/api/v1/exports/*`: the summary, its CSV/XLSX/text files, the dossier exports.

The export routes live under `/api/v1/exports/` so they never meet `/api/v1/dossiers/{code}`. The dashboard
serves the same files with its session cookie through the `*_response` functions below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot import keys
from bot.api.dossiers import dossier_filter_from_query, dossier_filter_params, render_dossiers
from bot.app import CLOCK
from bot.http import json_response, parse_date, principal_of, require_department
from bot.report_files import (
    CSV_MEDIA_TYPE,
    DOSSIER_COLUMNS,
    OVERDUE_COLUMNS,
    XLSX_MEDIA_TYPE,
    XlsxBuilder,
    csv_rows,
    flatten_dossier,
    summary_csv,
    summary_xlsx,
    write_csv,
)
from storage.apikeys import Principal
from storage.errors import InvalidInput
from storage.lifecycle import status_label
from storage.models import Role
from storage.reports import (
    MonthFigures,
    OverdueDossier,
    Period,
    Summary,
    compute_summary,
    monthly_trend,
    overdue_dossiers,
    trend_months,
)

EXPORT_MAX_ROWS = 100_000
EXPORT_BATCH = 1_000
OVERDUE_EXPORT_MAX = 10_000


@dataclass(frozen=True)
class ReportQuery:
    period: Period
    department_id: str | None


def report_query(app: web.Application, query: Mapping[str, str], principal: Principal) -> ReportQuery:
    """The period and department of a report request; officers are held to their own department.

    Without `from`/`to` the period is the current month up to today (local time).
    """
    tz = ZoneInfo(app[keys.SETTINGS].timezone)
    today = app[CLOCK]().astimezone(tz).date()
    raw_from, raw_to = query.get("from", "").strip(), query.get("to", "").strip()
    start = parse_date(raw_from, "from") if raw_from else None
    end = parse_date(raw_to, "to") if raw_to else None
    if start is None and end is None:
        start, end = today.replace(day=1), today
    elif start is None:
        assert end is not None
        start = end.replace(day=1)
    elif end is None:
        end = max(start, min(today, _month_end(start)))
    period = Period.create(start, end)
    department = (query.get("department") or "").strip() or None
    if department is not None and len(department) > 64:
        raise InvalidInput("department is longer than 64 characters", code="invalid_parameter")
    if principal.role == Role.OFFICER:
        if department is not None:
            require_department(principal, department)
        department = principal.department_id
    return ReportQuery(period, department)


def _month_end(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


async def load_summary(app: web.Application, rq: ReportQuery) -> Summary:
    tz = ZoneInfo(app[keys.SETTINGS].timezone)
    async with app[keys.SESSIONMAKER]() as session:
        return await compute_summary(session, rq.period, tz=tz, now=app[CLOCK](), department_id=rq.department_id)


async def load_trend(app: web.Application, rq: ReportQuery, *, minimum: int = 1) -> list[MonthFigures]:
    tz = ZoneInfo(app[keys.SETTINGS].timezone)
    async with app[keys.SESSIONMAKER]() as session:
        return await monthly_trend(
            session, trend_months(rq.period, minimum=minimum), tz=tz, department_id=rq.department_id
        )


def _filename(rq: ReportQuery, stem: str, ext: str) -> str:
    scope = f"-{rq.department_id}" if rq.department_id else ""
    return f"{stem}{scope}-{rq.period.start.isoformat()}-{rq.period.end.isoformat()}.{ext}"


def _attachment(body: bytes | str, media_type: str, filename: str) -> web.Response:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return web.Response(
        body=data,
        headers={
            "Content-Type": media_type,
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


# --- the report files (shared with the dashboard) --------------------------------------------------


async def summary_file_response(app: web.Application, rq: ReportQuery, fmt: str) -> web.Response:
    """The report as csv, xlsx or txt."""
    summary = await load_summary(app, rq)
    settings = app[keys.SETTINGS]
    if fmt == "csv":
        return _attachment(summary_csv(summary), CSV_MEDIA_TYPE, _filename(rq, "bao-cao", "csv"))
    if fmt == "xlsx":
        trend = await load_trend(app, rq)
        body = summary_xlsx(summary, tz=ZoneInfo(settings.timezone), centre_name=settings.centre_name, trend=trend)
        return _attachment(body, XLSX_MEDIA_TYPE, _filename(rq, "bao-cao", "xlsx"))
    from bot.report_text import report_text

    text = report_text(summary, centre_name=settings.centre_name)
    return web.Response(
        text=text,
        content_type="text/plain",
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{_filename(rq, "bao-cao", "txt")}"'},
    )


async def dossier_export_response(request: web.Request, principal: Principal, fmt: str) -> web.StreamResponse:
    """The dossiers matching the list filters (`GET /api/v1/dossiers` parameters) as csv or xlsx."""
    app = request.app
    tz = ZoneInfo(app[keys.SETTINGS].timezone)
    flt = dossier_filter_from_query(request, principal)
    service = app[keys.DOSSIERS]
    async with app[keys.SESSIONMAKER]() as session:
        rows, total = await service.list(session, flt, limit=EXPORT_BATCH, offset=0)
        if total > EXPORT_MAX_ROWS:
            raise InvalidInput(
                f"{total} dossiers match; an export holds at most {EXPORT_MAX_ROWS}: narrow the filters",
                code="export_too_large",
            )
        stamp = app[CLOCK]().astimezone(tz).strftime("%Y%m%d-%H%M")
        filename = f"ho-so-{stamp}.{fmt}"
        if fmt == "csv":
            response = web.StreamResponse(
                headers={
                    "Content-Type": CSV_MEDIA_TYPE,
                    "Content-Disposition": f'attachment; filename="{filename}"',
                    "Cache-Control": "no-store",
                }
            )
            await response.prepare(request)
            await response.write(write_csv(DOSSIER_COLUMNS, []).encode("utf-8"))
            offset = 0
            while rows:
                views = await render_dossiers(session, rows, tz)
                await response.write(csv_rows(DOSSIER_COLUMNS, map(flatten_dossier, views)).encode("utf-8"))
                offset += len(rows)
                if offset >= total:
                    break
                rows, _ = await service.list(session, flt, limit=EXPORT_BATCH, offset=offset)
            await response.write_eof()
            return response
        builder = XlsxBuilder(tz)
        sheet = builder.sheet("Hồ sơ", DOSSIER_COLUMNS)
        offset = 0
        while rows:
            for view in await render_dossiers(session, rows, tz):
                builder.append(sheet, DOSSIER_COLUMNS, flatten_dossier(view))
            offset += len(rows)
            if offset >= total:
                break
            rows, _ = await service.list(session, flt, limit=EXPORT_BATCH, offset=offset)
    return _attachment(builder.save(), XLSX_MEDIA_TYPE, filename)


async def load_overdue(
    app: web.Application, department_id: str | None, *, limit: int
) -> tuple[list[OverdueDossier], int]:
    tz = ZoneInfo(app[keys.SETTINGS].timezone)
    async with app[keys.SESSIONMAKER]() as session:
        return await overdue_dossiers(session, tz=tz, now=app[CLOCK](), department_id=department_id, limit=limit)


def overdue_row(item: OverdueDossier) -> dict[str, Any]:
    return {
        "code": item.code,
        "procedure_title": item.procedure_title,
        "department_name": item.department_name,
        "status_label": status_label(item.status),
        "received_at": item.received_at,
        "original_due_at": item.original_due_at,
        "due_at": item.due_at,
        "days_overdue": item.days_overdue,
    }


async def overdue_file_response(app: web.Application, department_id: str | None, fmt: str) -> web.Response:
    """The overdue list (original appointment day passed, still open) as csv or xlsx."""
    items, _total = await load_overdue(app, department_id, limit=OVERDUE_EXPORT_MAX)
    tz = ZoneInfo(app[keys.SETTINGS].timezone)
    stamp = app[CLOCK]().astimezone(tz).strftime("%Y%m%d")
    scope = f"-{department_id}" if department_id else ""
    filename = f"ho-so-qua-han{scope}-{stamp}.{fmt}"
    rows = [overdue_row(i) for i in items]
    if fmt == "csv":
        return _attachment(write_csv(OVERDUE_COLUMNS, rows), CSV_MEDIA_TYPE, filename)
    builder = XlsxBuilder(tz)
    sheet = builder.sheet("Hồ sơ quá hạn", OVERDUE_COLUMNS)
    for row in rows:
        builder.append(sheet, OVERDUE_COLUMNS, row)
    return _attachment(builder.save(), XLSX_MEDIA_TYPE, filename)


# --- API routes ------------------------------------------------------------------------------------


async def get_summary(request: web.Request) -> web.Response:
    rq = report_query(request.app, request.query, principal_of(request))
    return json_response((await load_summary(request.app, rq)).as_dict())


async def get_summary_file(request: web.Request) -> web.Response:
    rq = report_query(request.app, request.query, principal_of(request))
    return await summary_file_response(request.app, rq, request.match_info["fmt"])


async def get_trend(request: web.Request) -> web.Response:
    rq = report_query(request.app, request.query, principal_of(request))
    months = await load_trend(request.app, rq)
    return json_response(
        {
            "from": rq.period.start.isoformat(),
            "to": rq.period.end.isoformat(),
            "department": rq.department_id,
            "months": [m.as_dict() for m in months],
        }
    )


async def get_overdue_file(request: web.Request) -> web.Response:
    principal = principal_of(request)
    department = (request.query.get("department") or "").strip() or None
    if principal.role == Role.OFFICER:
        if department is not None:
            require_department(principal, department)
        department = principal.department_id
    return await overdue_file_response(request.app, department, request.match_info["fmt"])


async def get_dossier_export(request: web.Request) -> web.StreamResponse:
    return await dossier_export_response(request, principal_of(request), request.match_info["fmt"])


# --- OpenAPI ---------------------------------------------------------------------------------------

_INT = {"type": "integer"}
_RATE = {"type": "number", "nullable": True, "description": "percent, 2 decimals; null when the denominator is 0"}
_COUNTS_PROPERTIES: dict[str, Any] = {
    "received": {
        "type": "object",
        "properties": {
            "total": _INT,
            "carried_over": _INT,
            "new": _INT,
            "by_channel": {
                "type": "object",
                "properties": {"direct": _INT, "online": _INT, "postal": _INT},
            },
        },
    },
    "resolved": {
        "type": "object",
        "properties": {"total": _INT, "early": _INT, "on_time": _INT, "late": _INT},
    },
    "in_progress": {"type": "object", "properties": {"total": _INT, "overdue": _INT}},
    "returned_by_post": _INT,
    "satisfaction": {
        "type": "object",
        "properties": {"very_satisfied": _INT, "satisfied": _INT, "not_satisfied": _INT},
    },
}
SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "from",
        "to",
        "received",
        "resolved",
        "in_progress",
        "returned_by_post",
        "satisfaction",
        "departments",
        "top_procedures",
    ],
    "properties": {
        "from": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "date"},
        **_COUNTS_PROPERTIES,
        "departments": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    **_COUNTS_PROPERTIES,
                    "on_time_rate": _RATE,
                    "satisfaction_rate": _RATE,
                },
            },
        },
        "top_procedures": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "received": _INT},
            },
        },
    },
}
_PERIOD_PARAMS = [
    {
        "name": "from",
        "in": "query",
        "schema": {"type": "string", "format": "date"},
        "description": "first local day (default: first day of the current month)",
    },
    {
        "name": "to",
        "in": "query",
        "schema": {"type": "string", "format": "date"},
        "description": "last local day, included (default: today); at most 5 years after from",
    },
    {
        "name": "department",
        "in": "query",
        "schema": {"type": "string", "maxLength": 64},
        "description": "one department (officers: their own only)",
    },
]


def _file_content(*media_types: str) -> dict[str, Any]:
    return {"200": {"description": "The file", "content": {m: {"schema": {"type": "string"}} for m in media_types}}}


def _openapi(app: web.Application) -> None:
    from bot.api.openapi import add_paths, error_responses, ok

    fmt_param = {"name": "fmt", "in": "path", "required": True, "schema": {"type": "string", "enum": ["csv", "xlsx"]}}
    dossier_filters = dossier_filter_params()
    add_paths(
        app,
        {
            "/api/v1/reports/summary": {
                "get": {
                    "summary": "The period's report: received, resolved early/on time/late, in progress, "
                    "returned by post, satisfaction, by department, top procedures (see docs/reports.md)",
                    "parameters": _PERIOD_PARAMS,
                    "responses": {
                        **ok({"$ref": "#/components/schemas/ReportSummary"}),
                        **error_responses(400, 401, 403, 422),
                    },
                }
            },
            "/api/v1/reports/summary.{fmt}": {
                "get": {
                    "summary": "The report as CSV (one row per department and a total), XLSX, or the Vietnamese "
                    "text paragraph (txt)",
                    "parameters": [
                        {**fmt_param, "schema": {"type": "string", "enum": ["csv", "xlsx", "txt"]}},
                        *_PERIOD_PARAMS,
                    ],
                    "responses": {
                        **_file_content(CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, "text/plain"),
                        **error_responses(400, 401, 403, 422),
                    },
                }
            },
            "/api/v1/reports/trend": {
                "get": {
                    "summary": "Received, resolved and late dossiers per local month of the period",
                    "parameters": _PERIOD_PARAMS,
                    "responses": {
                        **ok(
                            {
                                "type": "object",
                                "properties": {
                                    "from": {"type": "string"},
                                    "to": {"type": "string"},
                                    "department": {"type": "string", "nullable": True},
                                    "months": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "month": {"type": "string"},
                                                "received": _INT,
                                                "resolved": _INT,
                                                "late": _INT,
                                            },
                                        },
                                    },
                                },
                            }
                        ),
                        **error_responses(400, 401, 403, 422),
                    },
                }
            },
            "/api/v1/exports/dossiers.{fmt}": {
                "get": {
                    "summary": f"The dossiers matching the list filters as CSV or XLSX (at most {EXPORT_MAX_ROWS})",
                    "parameters": [fmt_param, *dossier_filters],
                    "responses": {
                        **_file_content(CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE),
                        **error_responses(401, 403, 422),
                    },
                }
            },
            "/api/v1/exports/overdue.{fmt}": {
                "get": {
                    "summary": "Open dossiers past their original appointment day, oldest first, as CSV or XLSX",
                    "parameters": [fmt_param, _PERIOD_PARAMS[2]],
                    "responses": {
                        **_file_content(CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE),
                        **error_responses(401, 403, 422),
                    },
                }
            },
        },
        {"ReportSummary": SUMMARY_SCHEMA},
    )


def setup_reports(app: web.Application) -> None:
    """Add the report and export routes."""
    _openapi(app)
    app.router.add_get("/api/v1/reports/summary", get_summary)
    app.router.add_get(r"/api/v1/reports/summary.{fmt:csv|xlsx|txt}", get_summary_file)
    app.router.add_get("/api/v1/reports/trend", get_trend)
    app.router.add_get(r"/api/v1/exports/dossiers.{fmt:csv|xlsx}", get_dossier_export)
    app.router.add_get(r"/api/v1/exports/overdue.{fmt:csv|xlsx}", get_overdue_file)


__all__ = [
    "ReportQuery",
    "dossier_export_response",
    "load_overdue",
    "load_summary",
    "load_trend",
    "overdue_file_response",
    "report_query",
    "setup_reports",
    "summary_file_response",
]
