"""`/api/v1/recipients`: who gets each department's daily due-date alert (admin, or an officer for their own)."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot import keys
from bot.api.openapi import add_paths, error_responses, json_body, ok
from bot.http import json_response, read_model, require_department, require_role
from storage.errors import DomainError, NotFound
from storage.models import OfficerRecipient, Role
from storage.recipients import NewRecipient, add_recipient, deactivate_recipient, list_recipients

ROLES = (Role.ADMIN, Role.OFFICER)


class CreateRecipient(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    channel: Literal["sms", "telegram", "zalo"]
    phone: str | None = Field(default=None, max_length=32)
    telegram_chat_id: str | None = Field(default=None, max_length=32)
    zalo_user_id: str | None = Field(default=None, max_length=64)


def recipient_json(row: OfficerRecipient) -> dict[str, Any]:
    return {
        "id": row.id,
        "department_id": row.department_id,
        "name": row.name,
        "channel": row.channel,
        "phone": row.phone,
        "telegram_chat_id": row.telegram_chat_id,
        "zalo_user_id": row.zalo_user_id,
        "active": row.active,
        "created_at": row.created_at.isoformat(),
    }


async def list_handler(request: web.Request) -> web.Response:
    principal = require_role(request, *ROLES)
    department = request.query.get("department") or None
    if principal.role == Role.OFFICER:
        department = department or principal.department_id
    if department is not None:
        require_department(principal, department)
    include_inactive = request.query.get("include_inactive", "").lower() in ("1", "true", "yes")
    async with request.app[keys.SESSIONMAKER]() as session:
        rows = await list_recipients(session, department_id=department, include_inactive=include_inactive)
    return json_response({"items": [recipient_json(r) for r in rows]})


async def create_handler(request: web.Request) -> web.Response:
    principal = require_role(request, *ROLES)
    body = await read_model(request, CreateRecipient)
    require_department(principal, body.department_id)
    async with request.app[keys.SESSIONMAKER].begin() as session:
        row = await add_recipient(session, NewRecipient(**body.model_dump()))
    return json_response(recipient_json(row), status=201)


async def delete_handler(request: web.Request) -> web.Response:
    principal = require_role(request, *ROLES)
    try:
        recipient_id = int(request.match_info["id"])
    except ValueError:
        raise DomainError("recipient id must be a number", code="invalid_id") from None
    if not 0 < recipient_id < 2**63:  # beyond BIGINT the database would fail, not say "not found"
        raise NotFound(f"No recipient {recipient_id}", code="recipient_not_found")
    scope = principal.department_id if principal.role == Role.OFFICER else None
    async with request.app[keys.SESSIONMAKER].begin() as session:
        row = await deactivate_recipient(session, recipient_id, department_scope=scope)
    return json_response(recipient_json(row))


RECIPIENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "department_id": {"type": "string"},
        "name": {"type": "string"},
        "channel": {"type": "string", "enum": ["sms", "telegram", "zalo"]},
        "phone": {"type": "string", "nullable": True},
        "telegram_chat_id": {"type": "string", "nullable": True},
        "zalo_user_id": {"type": "string", "nullable": True},
        "active": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
NEW_RECIPIENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["department_id", "name", "channel"],
    "properties": {
        "department_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "channel": {"type": "string", "enum": ["sms", "telegram", "zalo"]},
        "phone": {"type": "string", "maxLength": 32, "nullable": True},
        "telegram_chat_id": {"type": "string", "maxLength": 32, "nullable": True},
        "zalo_user_id": {"type": "string", "maxLength": 64, "nullable": True},
    },
}
REF = {"$ref": "#/components/schemas/Recipient"}

PATHS: dict[str, Any] = {
    "/api/v1/recipients": {
        "get": {
            "summary": "List the officer recipients of the daily alert (an officer sees their department)",
            "tags": ["recipients"],
            "parameters": [
                {"name": "department", "in": "query", "schema": {"type": "string", "maxLength": 64}},
                {"name": "include_inactive", "in": "query", "schema": {"type": "boolean"}},
            ],
            "responses": {
                **ok({"type": "object", "properties": {"items": {"type": "array", "items": REF}}}),
                **error_responses(401, 403, 503),
            },
        },
        "post": {
            "summary": "Register an officer to receive a department's daily alert (SMS, Telegram or Zalo)",
            "tags": ["recipients"],
            "requestBody": json_body({"$ref": "#/components/schemas/NewRecipient"}),
            "responses": {**ok(REF, 201, "Created"), **error_responses(400, 401, 403, 413, 422, 503)},
        },
    },
    "/api/v1/recipients/{id}": {
        "delete": {
            "summary": "Stop the alerts to a recipient (the record is kept, inactive)",
            "tags": ["recipients"],
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {**ok(REF), **error_responses(400, 401, 403, 404, 503)},
        }
    },
}


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/recipients", list_handler)
    app.router.add_post("/api/v1/recipients", create_handler)
    app.router.add_delete("/api/v1/recipients/{id}", delete_handler)
    add_paths(app, PATHS, {"Recipient": RECIPIENT_SCHEMA, "NewRecipient": NEW_RECIPIENT_SCHEMA})
