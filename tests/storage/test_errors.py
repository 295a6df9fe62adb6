"""What counts as a backing service being unavailable (503 for HTTP, no attempt counted by the workers)."""

from __future__ import annotations

import asyncpg
import pytest
from redis import exceptions as redis_errors
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from storage.errors import InvalidInput, is_unavailable


def wrapped(orig: Exception) -> DBAPIError:
    """How SQLAlchemy hands a driver's error to us: a generic DBAPIError around it."""
    return DBAPIError("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    "exc",
    [
        # Found by benchmarks/resilience.py: during a PostgreSQL restart the webhook answered 500 to this one.
        wrapped(asyncpg.exceptions.CannotConnectNowError("the database system is shutting down")),
        wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command")),
        wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")),
        OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly")),
        ConnectionRefusedError(111, "Connect call failed"),
        redis_errors.ConnectionError("Error 111 connecting to 127.0.0.1:6379"),
        redis_errors.TimeoutError("Timeout reading from socket"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_outages_are_unavailable(exc: Exception) -> None:
    assert is_unavailable(exc)


def test_an_outage_is_recognised_through_a_chain_of_causes() -> None:
    try:
        try:
            raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
        except Exception as inner:
            raise RuntimeError("could not store the update") from inner
    except RuntimeError as outer:
        assert is_unavailable(outer)


@pytest.mark.parametrize(
    "exc",
    [
        IntegrityError("INSERT", {}, Exception("duplicate key value violates unique constraint")),
        wrapped(asyncpg.exceptions.StringDataRightTruncationError("value too long")),
        InvalidInput("bad phone number"),
        ValueError("not a number"),
        redis_errors.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_faults_of_the_request_are_not_outages(exc: Exception) -> None:
    assert not is_unavailable(exc)
