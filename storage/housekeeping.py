"""Housekeeping deletes: expired subscription tokens, delivered outbox rows, processed inbox rows.

Deletes go in batches of short transactions so a large backlog never holds long locks. The extra bound on
`next_attempt_at` / `available_at` (always at or before `sent_at` / `processed_at`) lets the existing
`(status, …)` indexes find the rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, select

from storage.db import SessionMaker
from storage.models import InboxUpdate, OutboxMessage, SubscriptionToken

BATCH = 5000
SENT = "sent"
INBOX_FINISHED = ("done", "failed")


async def _delete_in_batches(sessionmaker: SessionMaker, ids: Select[Any], model: type, batch: int) -> int:
    total = 0
    column = model.id  # type: ignore[attr-defined]
    while True:
        async with sessionmaker.begin() as session:
            chosen = list((await session.execute(ids.limit(batch))).scalars())
            if not chosen:
                return total
            await session.execute(delete(model).where(column.in_(chosen)).execution_options(synchronize_session=False))
        total += len(chosen)
        if len(chosen) < batch:
            return total


async def delete_expired_tokens(sessionmaker: SessionMaker, now: datetime, *, batch: int = BATCH) -> int:
    """Subscription tokens past `expires_at` open nothing any more."""
    total = 0
    while True:
        async with sessionmaker.begin() as session:
            hashes = list(
                (
                    await session.execute(
                        select(SubscriptionToken.token_hash).where(SubscriptionToken.expires_at < now).limit(batch)
                    )
                ).scalars()
            )
            if not hashes:
                return total
            await session.execute(
                delete(SubscriptionToken)
                .where(SubscriptionToken.token_hash.in_(hashes))
                .execution_options(synchronize_session=False)
            )
        total += len(hashes)
        if len(hashes) < batch:
            return total


async def prune_outbox(sessionmaker: SessionMaker, cutoff: datetime, *, batch: int = BATCH) -> int:
    """Delete messages delivered before `cutoff` (failed and undeliverable ones stay, for the report)."""
    ids = select(OutboxMessage.id).where(
        OutboxMessage.status == SENT, OutboxMessage.next_attempt_at < cutoff, OutboxMessage.sent_at < cutoff
    )
    return await _delete_in_batches(sessionmaker, ids, OutboxMessage, batch)


async def prune_inbox(sessionmaker: SessionMaker, cutoff: datetime, *, batch: int = BATCH) -> int:
    """Delete webhook updates handled (or given up) before `cutoff`."""
    ids = select(InboxUpdate.id).where(
        InboxUpdate.status.in_(INBOX_FINISHED), InboxUpdate.available_at < cutoff, InboxUpdate.processed_at < cutoff
    )
    return await _delete_in_batches(sessionmaker, ids, InboxUpdate, batch)
