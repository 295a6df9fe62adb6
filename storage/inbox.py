"""The inbox: every platform update is a row before it is acknowledged, and is handled once.

A webhook stores the update (`store_updates`, one statement for a whole group of concurrent requests); a
duplicate delivery finds its key taken and is acknowledged without a second row. Workers claim rows for a
lease (`claim_updates`): only the oldest open row of each chat is claimable, so one chat's messages are
handled in order while other chats proceed in parallel; a row whose worker died is claimed again after its
lease. Finishing a row (`finish_update`) checks the lease is still held, in the transaction that also
writes the replies, so a row is finished once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import InboxUpdate, utcnow

PENDING, DONE, FAILED = "pending", "done", "failed"


@dataclass(frozen=True)
class NewUpdate:
    """An update as a webhook received it: its dedup key, the chat it belongs to, the platform payload."""

    channel: str
    update_key: str
    chat_key: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class ClaimedUpdate:
    """A claimed row: what a worker needs to handle it and to prove its lease when finishing."""

    id: int
    channel: str
    chat_key: str | None
    payload: dict[str, Any]
    attempts: int
    lease_until: datetime


def _is_postgres(session: AsyncSession) -> bool:
    bind = session.bind
    return bind is not None and bind.dialect.name == "postgresql"


async def store_updates(session: AsyncSession, updates: Sequence[NewUpdate]) -> set[tuple[str, str]]:
    """Insert updates whose (channel, key) is new; returns the (channel, key) pairs that were new."""
    if not updates:
        return set()
    now = utcnow()
    rows = [
        {
            "channel": u.channel,
            "update_key": u.update_key[:128],
            "chat_key": u.chat_key[:64] if u.chat_key else None,
            "payload": u.payload,
            "status": PENDING,
            "attempts": 0,
            "available_at": now,
            "received_at": now,
        }
        for u in updates
    ]
    insert = pg_insert if _is_postgres(session) else sqlite_insert
    table = InboxUpdate.__table__
    # Many parameter sets for one cached statement (a multi-row VALUES is compiled anew for each size).
    stmt = (
        insert(table)  # type: ignore[arg-type]
        .on_conflict_do_nothing(index_elements=["channel", "update_key"])
        .returning(table.c.channel, table.c.update_key)
    )
    result = await session.execute(stmt, rows)
    return {(channel, key) for channel, key in result.all()}


async def claim_updates(
    session: AsyncSession,
    *,
    limit: int,
    lease: timedelta,
    channels: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[ClaimedUpdate]:
    """Claim up to `limit` rows, at most one per chat (its oldest open row), for `lease`."""
    now = now or utcnow()
    earlier = aliased(InboxUpdate)
    blocked_by_earlier = exists().where(
        and_(
            earlier.channel == InboxUpdate.channel,
            earlier.chat_key == InboxUpdate.chat_key,
            earlier.status == PENDING,
            earlier.id < InboxUpdate.id,
        )
    )
    query = (
        select(InboxUpdate.id)
        .where(InboxUpdate.status == PENDING, InboxUpdate.available_at <= now)
        .where((InboxUpdate.locked_until.is_(None)) | (InboxUpdate.locked_until < now))
        .where(~blocked_by_earlier)
        # The order of ix_inbox_status_available: the scan stops at `limit` instead of sorting every open
        # row. Ties (a webhook batch shares its time) go in any order; the check above keeps each chat's.
        .order_by(InboxUpdate.available_at)
        .limit(limit)
    )
    if channels is not None:
        query = query.where(InboxUpdate.channel.in_(list(channels)))
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True, of=InboxUpdate)
    ids = list((await session.execute(query)).scalars())
    if not ids:
        return []
    until = now + lease
    # The conditional UPDATE is the claim on SQLite (serialised writers) and confirms it on PostgreSQL.
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.id.in_(ids), InboxUpdate.status == PENDING)
        .where((InboxUpdate.locked_until.is_(None)) | (InboxUpdate.locked_until < now))
        .values(locked_until=until, attempts=InboxUpdate.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(
        select(InboxUpdate.id, InboxUpdate.channel, InboxUpdate.chat_key, InboxUpdate.payload, InboxUpdate.attempts)
        .where(InboxUpdate.id.in_(ids), InboxUpdate.locked_until == until)
        .order_by(InboxUpdate.id)
    )
    return [
        ClaimedUpdate(
            id=r.id, channel=r.channel, chat_key=r.chat_key, payload=r.payload, attempts=r.attempts, lease_until=until
        )
        for r in result.all()
    ]


async def finish_update(
    session: AsyncSession, claimed: ClaimedUpdate, *, status: str = DONE, error: str | None = None
) -> bool:
    """Mark a claimed row finished while its lease is still ours; False when another worker took it over."""
    result = await session.execute(
        update(InboxUpdate)
        .where(
            InboxUpdate.id == claimed.id,
            InboxUpdate.status == PENDING,
            InboxUpdate.locked_until == claimed.lease_until,
        )
        .values(status=status, processed_at=utcnow(), locked_until=None, error=error)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def finish_updates(session: AsyncSession, claimed: Sequence[ClaimedUpdate]) -> set[int]:
    """`finish_update` for a batch (one statement per claim); returns the ids that were still ours."""
    by_lease: dict[datetime, list[int]] = {}
    for row in claimed:
        by_lease.setdefault(row.lease_until, []).append(row.id)
    finished: set[int] = set()
    now = utcnow()
    for lease_until, ids in by_lease.items():
        result = await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.id.in_(ids), InboxUpdate.status == PENDING, InboxUpdate.locked_until == lease_until)
            .values(status=DONE, processed_at=now, locked_until=None, error=None)
            .returning(InboxUpdate.id)
            .execution_options(synchronize_session=False)
        )
        finished.update(result.scalars())
    return finished


async def retry_update(session: AsyncSession, claimed: ClaimedUpdate, *, delay: timedelta, error: str) -> bool:
    """Give a claimed row back after a failure, to be tried again after `delay`."""
    result = await session.execute(
        update(InboxUpdate)
        .where(
            InboxUpdate.id == claimed.id,
            InboxUpdate.status == PENDING,
            InboxUpdate.locked_until == claimed.lease_until,
        )
        .values(locked_until=None, available_at=utcnow() + delay, error=error[:2000])
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def release_updates(
    session: AsyncSession, claimed: Sequence[ClaimedUpdate], *, delay: timedelta | None = None, error: str | None = None
) -> None:
    """Give rows back (a worker stopping, a backing service down); their claim does not count as an attempt.

    With `delay` they are claimable again only after it.
    """
    values: dict[str, Any] = {"locked_until": None, "attempts": InboxUpdate.attempts - 1}
    if delay is not None:
        values["available_at"] = utcnow() + delay
    if error is not None:
        values["error"] = error[:2000]
    for row in claimed:
        await session.execute(
            update(InboxUpdate)
            .where(
                InboxUpdate.id == row.id,
                InboxUpdate.status == PENDING,
                InboxUpdate.locked_until == row.lease_until,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(InboxUpdate.status, func.count()).group_by(InboxUpdate.status))
    return {status: int(count) for status, count in rows.all()}


__all__ = [
    "DONE",
    "FAILED",
    "PENDING",
    "ClaimedUpdate",
    "NewUpdate",
    "claim_updates",
    "count_by_status",
    "finish_update",
    "finish_updates",
    "release_updates",
    "retry_update",
    "store_updates",
]
