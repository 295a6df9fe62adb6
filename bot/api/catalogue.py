"""`/api/v1/departments` and `/api/v1/procedures`: what dossiers can point at."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.api.openapi import add_paths, error_responses, ok
from bot.http import json_response
from storage.models import Department, Procedure


async def list_departments(request: web.Request) -> web.Response:
    async with request.app[keys.SESSIONMAKER].begin() as session:
        rows = (await session.execute(select(Department).order_by(Department.id))).scalars().all()
    items = [
        {"id": d.id, "name": d.name, "short_name": d.short_name, "level": d.level, "active": d.active} for d in rows
    ]
    return json_response({"items": items})


async def list_procedures(request: web.Request) -> web.Response:
    department = request.query.get("department")
    query = select(Procedure).order_by(Procedure.id)
    if department:
        query = query.where(Procedure.department_id == department)
    async with request.app[keys.SESSIONMAKER].begin() as session:
        rows = (await session.execute(query)).unique().scalars().all()
    items = [
        {
            "id": p.id,
            "code": p.code,
            "title": p.title,
            "department": p.department_id,
            "processing_days": p.processing_days,
            "active": p.active,
        }
        for p in rows
    ]
    return json_response({"items": items})


_LIST = {
    "type": "object",
    "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"type": "object"}}},
}


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/departments", list_departments)
    app.router.add_get("/api/v1/procedures", list_procedures)
    add_paths(
        app,
        {
            "/api/v1/departments": {
                "get": {"summary": "List departments", "responses": {**ok(_LIST), **error_responses(401)}}
            },
            "/api/v1/procedures": {
                "get": {
                    "summary": "List procedures (from the knowledge base)",
                    "parameters": [{"name": "department", "in": "query", "schema": {"type": "string"}}],
                    "responses": {**ok(_LIST), **error_responses(401)},
                }
            },
        },
    )
