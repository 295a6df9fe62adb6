"""Outbox records the journeys need beyond enqueueing: messages that cannot be delivered, sent-message lookups."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage
from storage.outbox import PENDING, UNDELIVERABLE, OutgoingMessage, enqueue


async def record_undeliverable(session: AsyncSession, messages: Sequence[OutgoingMessage], reason: str) -> int:
    """Store messages nobody can receive as `undeliverable` with the reason: visible, counted, never sent.

    Idempotent like `enqueue`: a message recorded before keeps its row and status.
    """
    if not messages:
        return 0
    created = await enqueue(session, messages)
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.idempotency_key.in_([m.idempotency_key[:200] for m in messages]),
            OutboxMessage.status == PENDING,
            OutboxMessage.attempts == 0,
        )
        .values(status=UNDELIVERABLE, last_error=reason[:1000])
        .execution_options(synchronize_session=False)
    )
    return created


async def find_sent_message(
    session: AsyncSession, channel: str, recipient: str, platform_message_id: str
) -> OutboxMessage | None:
    """The outbox row that became the platform message `platform_message_id` in the chat `recipient`."""
    result = await session.execute(
        select(OutboxMessage)
        .where(
            OutboxMessage.platform_message_id == platform_message_id,
            OutboxMessage.channel == channel,
            OutboxMessage.recipient == recipient,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()
