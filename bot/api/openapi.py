"""The OpenAPI 3.1 document of `/api/v1`, assembled from the path descriptions of each API module.

Modules describe their schemas in JSON Schema 2020-12 (what OpenAPI 3.1 and pydantic v2 speak). The assembly
keeps the document valid whatever a module wrote: an OpenAPI 3.0 `nullable: true` becomes a `"null"` type,
pydantic's `$defs` move to `components/schemas` (their `$ref`s follow), and an operation without an
`operationId` gets one from its method and path. tests/api/test_openapi.py checks the result with
openapi-spec-validator.
"""

from __future__ import annotations

import re
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


def _to_json_schema(value: Any, defs: dict[str, Any]) -> Any:
    """A copy of `value` with 3.0 `nullable` turned into a `"null"` type and `$defs` collected into `defs`."""
    if isinstance(value, list):
        return [_to_json_schema(item, defs) for item in value]
    if not isinstance(value, dict):
        return value
    result = {key: _to_json_schema(item, defs) for key, item in value.items() if key not in ("$defs", "nullable")}
    for name, schema in value.get("$defs", {}).items():
        defs[name] = _to_json_schema(schema, defs)
    if isinstance(result.get("$ref"), str) and result["$ref"].startswith("#/$defs/"):
        result["$ref"] = "#/components/schemas/" + result["$ref"].removeprefix("#/$defs/")
    if value.get("nullable") is True:
        kind = result.get("type")
        if isinstance(kind, str):
            result["type"] = [kind, "null"]
            if "enum" in result and None not in result["enum"]:
                result["enum"] = [*result["enum"], None]
        elif isinstance(kind, list):
            result["type"] = kind if "null" in kind else [*kind, "null"]
        else:
            result = {"anyOf": [result, {"type": "null"}]}
    return result


def operation_id(method: str, path: str) -> str:
    """`get` `/api/v1/dossiers/{code}/receipt.pdf` → `get_dossiers_code_receipt_pdf`."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", path.removeprefix("/api/v1/")) if w]
    return "_".join([method.lower(), *words])


def build_document(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    all_paths = _to_json_schema(with_common_errors(paths), defs)
    for path, ops in all_paths.items():
        for method, op in ops.items():
            op.setdefault("operationId", operation_id(method, path))
    components = {
        "securitySchemes": BASE_COMPONENTS["securitySchemes"],
        "schemas": {**defs, **_to_json_schema({**BASE_COMPONENTS["schemas"], **schemas}, defs)},
    }
    components["schemas"] = {**defs, **components["schemas"]}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "motcua-bot API",
            "version": "1",
            "description": "Dossier store, imports, ratings and reports of the Public Administration Service Centre.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": all_paths,
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
