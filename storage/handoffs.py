"""Conversations handed to the officers' group: when they started, their last activity, how they ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Handoff


async def open_handoff(session: AsyncSession, contact_id: int, now: datetime) -> Handoff:
    """Start a handoff for a chat; one left open before (it timed out unnoticed) is closed first."""
    await session.execute(
        update(Handoff)
        .where(Handoff.contact_id == contact_id, Handoff.ended_at.is_(None))
        .values(ended_at=now, ended_by="timeout")
        .execution_options(synchronize_session=False)
    )
    handoff = Handoff(contact_id=contact_id, started_at=now, last_activity_at=now)
    session.add(handoff)
    await session.flush()
    return handoff


async def touch_handoff(session: AsyncSession, handoff_id: int, now: datetime) -> None:
    await session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id)
        .values(last_activity_at=now)
        .execution_options(synchronize_session=False)
    )


async def close_handoff(session: AsyncSession, handoff_id: int, now: datetime, ended_by: str) -> bool:
    """End a handoff; False when it had ended already."""
    result = await session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.ended_at.is_(None))
        .values(ended_at=now, ended_by=ended_by, last_activity_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def get_handoff(session: AsyncSession, handoff_id: int) -> Handoff | None:
    result = await session.execute(select(Handoff).where(Handoff.id == handoff_id))
    return result.scalar_one_or_none()
