"""The OpenAPI 3 document of `/api/v1`, assembled from the path descriptions of each API module."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.http import json_response

ERROR = {"$ref": "#/components/schemas/Error"}


def error_responses(*codes: int) -> dict[str, Any]:
    text = {
        400: "Bad request",
        401: "Missing or wrong API key",
        403: "Wrong role or department",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        422: "Invalid field",
        429: "Too many wrong API keys from this client (see Retry-After)",
        503: "Unavailable",
    }
    return {
        str(code): {"description": text.get(code, "Error"), "content": {"application/json": {"schema": ERROR}}}
        for code in codes
    }


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def ok(schema: dict[str, Any], status: int = 200, description: str = "OK") -> dict[str, Any]:
    return {str(status): {"description": description, "content": {"application/json": {"schema": schema}}}}


BASE_COMPONENTS: dict[str, Any] = {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}},
                }
            },
        }
    },
}


def with_common_errors(paths: dict[str, Any]) -> dict[str, Any]:
    """Add the errors the middlewares can give on any operation, so no module has to remember them.

    Every route can answer 400 (bad parameters), 401 (no key), 429 (too many wrong keys) and 503 (a backing
    service down); a route with a path parameter can answer 404, one with a body 413.
    """
    result: dict[str, Any] = {}
    for path, ops in paths.items():
        result[path] = {}
        for method, op in ops.items():
            codes = [400, 401, 429, 503]
            if "{" in path:
                codes.append(404)
            if "requestBody" in op:
                codes.append(413)
            common = error_responses(*codes)
            result[path][method] = {**op, "responses": {**common, **op.get("responses", {})}}
    return result


def build_document(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    components = {
        "securitySchemes": BASE_COMPONENTS["securitySchemes"],
        "schemas": {**BASE_COMPONENTS["schemas"], **schemas},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "motcua-bot API",
            "version": "1",
            "description": "Dossier store, imports, ratings and reports of the Public Administration Service Centre.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": with_common_errors(paths),
        "components": components,
    }


OPENAPI_PATHS = web.AppKey("openapi_paths", dict[str, Any])
OPENAPI_SCHEMAS = web.AppKey("openapi_schemas", dict[str, Any])


def add_paths(app: web.Application, paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> None:
    """Register the description of some routes (each API module calls this in its setup)."""
    app.setdefault(OPENAPI_PATHS, {})
    app.setdefault(OPENAPI_SCHEMAS, {})
    for path, ops in paths.items():
        app[OPENAPI_PATHS].setdefault(path, {}).update(ops)
    app[OPENAPI_SCHEMAS].update(schemas or {})


async def openapi_document(request: web.Request) -> web.Response:
    app = request.app
    return json_response(build_document(app.get(OPENAPI_PATHS, {}), app.get(OPENAPI_SCHEMAS, {})))


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/openapi.json", openapi_document)
