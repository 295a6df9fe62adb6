"""Domain errors with a stable code (the HTTP layer maps them to 4xx JSON bodies), and what counts as a
backing service being unavailable (a 503 for the HTTP layer, a retry that costs no attempt for the workers)."""

from __future__ import annotations

from redis import exceptions as redis_errors
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# Errors that mean "the database, Redis or their network is not there right now".
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    ConnectionError,
    TimeoutError,
    OSError,
)


# SQLSTATEs of a server that is going away or not there yet: class 08 (connection exception), and
# admin_shutdown, crash_shutdown, cannot_connect_now (a restart in progress).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")
_UNAVAILABLE_NAMES = {"CannotConnectNowError", "ConnectionDoesNotExistError", "ConnectionRefusedError"}


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` says a backing service is down or unreachable, not that the request is wrong.

    Looks through SQLAlchemy's wrapper (`.orig`) and the chained cause: asyncpg's "the database system is
    shutting down" arrives as a plain `DBAPIError` around `CannotConnectNowError`.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, UNAVAILABLE_ERRORS) or type(current).__name__ in _UNAVAILABLE_NAMES:
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False


class DomainError(Exception):
    """A request the domain refuses; `code` is stable, `message` is for people."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
