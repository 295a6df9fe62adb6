"""HTTP plumbing shared by every route: JSON errors, body parsing, API-key authentication, metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from aiohttp import ClientPayloadError, web
from aiohttp.base_protocol import BaseProtocol
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import MultipartReader
from aiohttp.streams import StreamReader
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DataError, DBAPIError

from bot import keys
from bot.authguard import count_failure, locked_out
from storage.apikeys import Principal, authenticate
from storage.calendar import EARLIEST_DATE, LATEST_DATE, in_supported_range
from storage.errors import DomainError, Forbidden, InvalidInput, PayloadTooLarge, is_unavailable

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)


def error_response(status: int, code: str, message: str, details: Any = None) -> web.Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return web.json_response(body, status=status, dumps=dumps)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def _is_data_error(exc: BaseException) -> bool:
    """SQLSTATE class 22 (data exception), however the driver's error was wrapped."""
    if isinstance(exc, DataError):
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, DBAPIError) and isinstance(sqlstate, str) and sqlstate.startswith("22")


CLIENT_CLOSED = 499  # the metrics' status for a client that hung up first (nginx's convention)


def _client_gone(request: web.Request, exc: BaseException | None = None) -> bool:
    """True when the client closed the connection: a reset while reading its body, or a transport closed."""
    if isinstance(exc, ClientPayloadError):  # the body ended early: the connection was lost
        return True
    transport = request.transport
    return transport is None or transport.is_closing()


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a JSON error; nobody sees a stack trace."""
    started = time.perf_counter()
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    status = 500
    try:
        if request.can_read_body:
            # Read the whole body first, within a time limit: complete headers followed by a trickle (or no
            # body at all) held a socket open indefinitely. Handlers then read the buffered bytes.
            timeout = request.app[keys.SETTINGS].body_read_timeout_seconds
            try:
                async with asyncio.timeout(timeout):
                    await request.read()
            except TimeoutError:
                status = 408
                late = error_response(408, "request_timeout", f"The request body did not arrive within {timeout:g} s")
                late.force_close()
                request.content.feed_eof()  # give up on the rest: no lingering read before the socket closes
                return late
        response = await handler(request)
        status = response.status
        return response
    except asyncio.CancelledError:
        if _client_gone(request):
            status = CLIENT_CLOSED
            log.info("client closed the connection on %s", route)
        raise
    except DomainError as exc:
        status = exc.status
        return error_response(exc.status, exc.code, exc.message, exc.details)
    except web.HTTPException as exc:
        status = exc.status
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        code = {
            400: "bad_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
            415: "unsupported_media_type",
        }.get(exc.status, "http_error")
        response = error_response(exc.status, code, exc.reason, None)
        if "Allow" in exc.headers:  # a 405 names the methods the route has (RFC 9110)
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except HttpProcessingError as exc:
        # aiohttp's parser refused part of the body (a multipart header line without a colon…): the client's fault.
        status = 400
        return error_response(400, "bad_request", f"The request body is malformed: {exc.message}")
    except Exception as exc:
        if _client_gone(request, exc):
            # The client hung up mid-request: not a backing service down, nothing to answer.
            status = CLIENT_CLOSED
            log.info("client closed the connection on %s", route)
            return error_response(400, "client_closed", "The client closed the connection")
        if _is_data_error(exc):
            # The database refused a value (a NUL character, a number out of range): the request's fault.
            status = 400
            log.info("value refused by the database on %s", route)
            return error_response(400, "invalid_value", "A value in the request cannot be stored (control character?)")
        if is_unavailable(exc):
            status = 503
            log.warning("service unavailable on %s: %s", route, type(exc).__name__)
            return error_response(503, "unavailable", "A backing service is unavailable; retry later.")
        log.exception("unhandled error on %s", route)
        return error_response(500, "internal_error", "Internal error; it has been logged.")
    finally:
        metrics = request.app.get(keys.METRICS)
        if metrics is not None:
            metrics.http_requests.labels(route=route, status=str(status)).inc()
            metrics.http_latency.labels(route=route).observe(time.perf_counter() - started)


async def drop_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """No `Server: Python/3.x aiohttp/3.x` on any response: versions help an attacker pick an exploit."""
    response.headers.popall("Server", None)


MAX_JSON_DEPTH = 32


def loads_json(raw: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON no deeper than `max_depth` containers; ValueError otherwise (never RecursionError)."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ValueError(f"JSON is nested deeper than {max_depth} levels") from None
    # Walk with an explicit stack (no recursion): every container, with its depth.
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > max_depth:
            raise ValueError(f"JSON is nested deeper than {max_depth} levels")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return data


async def multipart_of(request: web.Request) -> MultipartReader:
    """The body as multipart, from the bytes the error middleware has already read (within its time limit)."""
    raw = await request.read()
    stream = StreamReader(BaseProtocol(asyncio.get_running_loop()), limit=max(len(raw), 2**16))
    stream.feed_data(raw)
    stream.feed_eof()
    return MultipartReader(request.headers, stream)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or a 400 with a clear message."""
    if request.content_length is not None and request.content_length > request.app[keys.SETTINGS].max_body_bytes:
        raise PayloadTooLarge("Request body is larger than the limit (1 MiB)")
    raw = await request.read()
    if not raw:
        raise DomainError("Request body is empty; send a JSON object", code="invalid_json")
    try:
        return loads_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DomainError(f"Request body is not valid JSON: {exc}", code="invalid_json") from None


async def read_model(request: web.Request, model: type[M]) -> M:
    """Parse and validate the JSON body into `model` (unknown fields refused)."""
    data = await read_json(request)
    if not isinstance(data, dict):
        raise DomainError("Request body must be a JSON object", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()]
        first = details[0]
        raise DomainError(
            f"Invalid field {first['field']!r}: {first['message']}", code="invalid_field", details=details
        ) from None


def _check_range(day: date, value: str, field: str) -> None:
    if not in_supported_range(day):
        raise DomainError(
            f"{field}: {value!r} is outside the supported dates "
            f"({EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()})",
            code="invalid_date",
        )


def parse_time(value: str, tz: ZoneInfo, field: str) -> datetime:
    """ISO 8601; a time without offset is local time; a bare date is local midnight; within the supported dates."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DomainError(f"{field}: {value!r} is not an ISO 8601 date or time", code="invalid_date") from None
    _check_range(parsed.date(), value, field)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def parse_date(value: str, field: str) -> date:
    """A YYYY-MM-DD date within the supported dates (storage.calendar.EARLIEST_DATE…LATEST_DATE)."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise DomainError(f"{field}: {value!r} is not a date (YYYY-MM-DD)", code="invalid_date") from None
    _check_range(day, value, field)
    return day


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`/api/v1/*` (except the OpenAPI document) needs `Authorization: Bearer <key>`."""
    path = request.path
    if not path.startswith("/api/v1/") or path == "/api/v1/openapi.json":
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return error_response(401, "unauthorized", "Send an API key as 'Authorization: Bearer <key>'")
    wait = await locked_out(request)
    if wait is not None:
        response = error_response(429, "too_many_attempts", f"Too many wrong API keys; try again in {wait} s")
        response.headers["Retry-After"] = str(wait)
        return response
    async with request.app[keys.SESSIONMAKER].begin() as session:
        principal = await authenticate(session, secret.strip())
    if principal is None:
        await count_failure(request)
        return error_response(401, "unauthorized", "The API key is unknown or revoked")
    request[keys.PRINCIPAL] = principal
    return await handler(request)


def principal_of(request: web.Request) -> Principal:
    principal: Principal = request[keys.PRINCIPAL]
    return principal


def require_role(request: web.Request, *roles: str) -> Principal:
    principal = principal_of(request)
    if principal.role not in roles:
        raise Forbidden(
            f"This action needs the role {' or '.join(roles)}; this key is {principal.role}", code="wrong_role"
        )
    return principal


def require_department(principal: Principal, department_id: str) -> None:
    if not principal.sees_department(department_id):
        raise Forbidden("This key belongs to another department", code="wrong_department")


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high], or a 422 naming it."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer", code="invalid_parameter") from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}", code="invalid_parameter")
    return value
