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

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, utcnow

PENDING, SENDING, SENT, FAILED, UNDELIVERABLE = "pending", "sending", "sent", "failed", "undeliverable"


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
    stmt = insert(OutboxMessage).values(rows).on_conflict_do_nothing(index_elements=["idempotency_key"])
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def claim_due(
    session: AsyncSession,
    *,
    limit: int,
    lease: timedelta,
    channels: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[OutboxMessage]:
    """Claim up to `limit` due messages for `lease`; another worker will not get them meanwhile."""
    now = now or utcnow()
    query = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status.in_((PENDING, SENDING)), OutboxMessage.next_attempt_at <= now)
        .where((OutboxMessage.locked_until.is_(None)) | (OutboxMessage.locked_until < now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if channels:
        query = query.where(OutboxMessage.channel.in_(list(channels)))
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list((await session.execute(query)).scalars())
    if not ids:
        return []
    # The conditional UPDATE is the claim on SQLite (serialised writers) and confirms it on PostgreSQL.
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .where((OutboxMessage.locked_until.is_(None)) | (OutboxMessage.locked_until < now))
        .values(status=SENDING, locked_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(
        select(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.locked_until == now + lease)
    )
    return list(result.scalars())
