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


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` says a backing service is down or unreachable, not that the request is wrong."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return True
    # asyncpg failures that arrive unwrapped
    return type(exc).__name__ in {"CannotConnectNowError", "ConnectionDoesNotExistError", "ConnectionRefusedError"}


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
