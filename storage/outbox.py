"""The outbox: every message we send is a row first, written in the transaction that causes it.

A worker claims due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite, whose writers are serialised,
a conditional UPDATE of the lease does the same), sends, and marks them. The idempotency key makes a
logical message unique: enqueueing it twice, from a retry or a second replica, stores it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import OutboxMessage, utcnow

PENDING, SENDING, SENT, FAILED, UNDELIVERABLE = "pending", "sending", "sent", "failed", "undeliverable"
# This path refused the message and its notice went on by the next one (a row of its own).
REROUTED = "rerouted"


@dataclass(frozen=True)
class OutgoingMessage:
    idempotency_key: str
    channel: str  # telegram | zalo | zns | sms | console
    recipient: str
    payload: dict[str, Any]
    kind: str = "reply"
    dossier_id: int | None = None
    contact_id: int | None = None
    not_before: datetime | None = None


async def enqueue(session: AsyncSession, messages: Sequence[OutgoingMessage]) -> int:
    """Insert messages; ones whose idempotency key exists are ignored. Returns how many were new."""
    if not messages:
        return 0
    now = utcnow()
    rows = [
        {
            "idempotency_key": m.idempotency_key[:200],
            "channel": m.channel,
            "recipient": m.recipient,
            "kind": m.kind,
            "payload": m.payload,
            "dossier_id": m.dossier_id,
            "contact_id": m.contact_id,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": m.not_before or now,
            "created_at": now,
        }
        for m in messages
    ]
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # One statement with many parameter sets (compiled once and cached, sent in batches) rather than a
    # multi-row VALUES, which SQLAlchemy compiles anew for every row count.
    table = OutboxMessage.__table__
    stmt = (
        insert(table)  # type: ignore[arg-type]
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.id)
    )
    result = await session.execute(stmt, rows)
    return len(result.all())


async def claim_due(
    session: AsyncSession,
    *,
    limit: int,
    lease: timedelta,
    channels: Sequence[str] | None = None,
    skip_channels: Sequence[str] = (),
    now: datetime | None = None,
    due_before: datetime | None = None,
    in_order: bool = False,
) -> list[OutboxMessage]:
    """Claim up to `limit` due messages for `lease`; another worker will not get them meanwhile.

    With `in_order`, a message is claimable only when no earlier message to the same recipient is still
    open (pending, deferred or being sent): one chat's messages go out in order, one at a time, while a
    chat that is backing off (429, rate limit) holds up nobody else. `skip_channels` leaves out channels
    whose pace is booked up for now, so a backlog on one channel holds up no other. `due_before` (default
    `now`) claims only messages that have been due since then.
    """
    now = now or utcnow()
    due_at = due_before or now
    bind = session.bind
    postgres = bind is not None and bind.dialect.name == "postgresql"

    def due(status: str, count: int) -> Any:
        # One status at a time, in next_attempt_at order: the scan follows ix_outbox_status_next and stops
        # at `count` instead of sorting every due row.
        query = (
            select(OutboxMessage.id)
            .where(OutboxMessage.status == status, OutboxMessage.next_attempt_at <= due_at)
            .where((OutboxMessage.locked_until.is_(None)) | (OutboxMessage.locked_until < now))
            .order_by(OutboxMessage.next_attempt_at)
            .limit(count)
        )
        if in_order:
            earlier = aliased(OutboxMessage)
            query = query.where(
                ~exists().where(
                    earlier.channel == OutboxMessage.channel,
                    earlier.recipient == OutboxMessage.recipient,
                    earlier.status.in_((PENDING, SENDING)),
                    earlier.id < OutboxMessage.id,
                )
            )
        if channels:
            query = query.where(OutboxMessage.channel.in_(list(channels)))
        if skip_channels:
            query = query.where(OutboxMessage.channel.not_in(list(skip_channels)))
        if postgres:
            query = query.with_for_update(skip_locked=True, of=OutboxMessage)
        return query

    # Messages whose sender died mid-send (`sending`, lease run out) first: they are the oldest.
    ids = list((await session.execute(due(SENDING, limit))).scalars())
    if len(ids) < limit:
        ids += list((await session.execute(due(PENDING, limit - len(ids)))).scalars())
    if not ids:
        return []
    # The conditional UPDATE is the claim on SQLite (serialised writers) and confirms it on PostgreSQL. It
    # checks everything again: between the SELECT and this UPDATE another worker may have claimed, sent
    # and released a row (SQLite holds no row lock over that gap).
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .where(OutboxMessage.status.in_((PENDING, SENDING)), OutboxMessage.next_attempt_at <= due_at)
        .where((OutboxMessage.locked_until.is_(None)) | (OutboxMessage.locked_until < now))
        .values(status=SENDING, locked_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(
        select(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.locked_until == now + lease)
    )
    return list(result.scalars())


# --- the worker's verdicts on claimed messages ---------------------------------------------------------
# Each update is conditional on the claim (`locked_until` still the lease the worker got): a worker whose
# lease ran out and whose message another worker took over changes nothing.


def _claimed(message_id: int, lease_until: datetime) -> Any:
    return (OutboxMessage.id == message_id) & (OutboxMessage.locked_until == lease_until)


async def mark_sent(
    session: AsyncSession, message_id: int, lease_until: datetime, platform_message_id: str | None = None
) -> bool:
    """The platform accepted the message."""
    result = await session.execute(
        update(OutboxMessage)
        .where(_claimed(message_id, lease_until))
        .values(
            status=SENT,
            sent_at=utcnow(),
            locked_until=None,
            attempts=OutboxMessage.attempts + 1,
            platform_message_id=platform_message_id[:64] if platform_message_id else None,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_sent_many(session: AsyncSession, sent: Sequence[tuple[int, datetime, str | None]]) -> None:
    """`mark_sent` for many (id, lease_until, platform_message_id) in one executemany."""
    if not sent:
        return
    table = OutboxMessage.__table__.c
    stmt = (
        update(OutboxMessage.__table__)  # type: ignore[arg-type]
        .where(table.id == bindparam("b_id"), table.locked_until == bindparam("b_lease"))
        .values(
            status=SENT,
            sent_at=bindparam("b_now"),
            locked_until=None,
            attempts=table.attempts + 1,
            platform_message_id=bindparam("b_pmid"),
            last_error=None,
        )
    )
    now = utcnow()
    await session.execute(
        stmt,
        [{"b_id": i, "b_lease": lease, "b_pmid": pmid[:64] if pmid else None, "b_now": now} for i, lease, pmid in sent],
    )


async def mark_retry(
    session: AsyncSession, message_id: int, lease_until: datetime, next_attempt_at: datetime, error: str
) -> bool:
    """The attempt failed; try again at `next_attempt_at` (the attempt counts)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(_claimed(message_id, lease_until))
        .values(
            status=PENDING,
            locked_until=None,
            attempts=OutboxMessage.attempts + 1,
            next_attempt_at=next_attempt_at,
            last_error=error[:2000],
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_deferred(session: AsyncSession, message_id: int, lease_until: datetime, until: datetime) -> bool:
    """Not attempted (a rate limit said wait); due again at `until`, no attempt counted."""
    result = await session.execute(
        update(OutboxMessage)
        .where(_claimed(message_id, lease_until))
        .values(status=PENDING, locked_until=None, next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_given_up(
    session: AsyncSession, message_id: int, lease_until: datetime, status: str, error: str, *, attempted: bool = True
) -> bool:
    """Final failure: `failed` (kept failing, or refused) or `undeliverable` (the user cannot be reached)."""
    if status not in (FAILED, UNDELIVERABLE, REROUTED):
        raise ValueError(f"not a final failure status: {status}")
    values: dict[str, Any] = {"status": status, "locked_until": None, "last_error": error[:2000]}
    if attempted:
        values["attempts"] = OutboxMessage.attempts + 1
    result = await session.execute(
        update(OutboxMessage)
        .where(_claimed(message_id, lease_until))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def list_messages(
    session: AsyncSession, *, status: str | None = None, channel: str | None = None, limit: int = 100
) -> list[OutboxMessage]:
    """Newest first, for the API (failed messages are reported, not dropped)."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    if channel:
        query = query.where(OutboxMessage.channel == channel)
    return list((await session.execute(query)).scalars())
