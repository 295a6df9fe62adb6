"""Chat contacts and their proven links to dossiers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChatContact, Dossier, DossierLink, utcnow


def _insert_for(session: AsyncSession):  # type: ignore[no-untyped-def]
    bind = session.bind
    return pg_insert if bind is not None and bind.dialect.name == "postgresql" else sqlite_insert


async def get_contact(session: AsyncSession, channel: str, chat_id: str) -> ChatContact | None:
    result = await session.execute(
        select(ChatContact).where(ChatContact.channel == channel, ChatContact.chat_id == chat_id)
    )
    return result.scalar_one_or_none()


async def upsert_contact(
    session: AsyncSession, channel: str, chat_id: str, user_id: str | None = None, language: str | None = None
) -> ChatContact:
    """The contact of this chat, created on first sight; `last_seen_at` refreshed (safe under races)."""
    now = utcnow()
    insert = _insert_for(session)
    await session.execute(
        insert(ChatContact)
        .values(
            channel=channel,
            chat_id=chat_id,
            user_id=user_id,
            language="en" if language == "en" else "vi",
            blocked=False,
            created_at=now,
            last_seen_at=now,
        )
        .on_conflict_do_nothing(index_elements=["channel", "chat_id"])
    )
    contact = await get_contact(session, channel, chat_id)
    assert contact is not None
    contact.last_seen_at = now
    if contact.blocked:
        # They wrote to us again: whatever blocked delivery is over.
        contact.blocked, contact.blocked_reason = False, None
    return contact


async def link_contact(session: AsyncSession, contact: ChatContact, dossier: Dossier, via: str) -> bool:
    """Link a chat to a dossier (proven ownership); True when the link is new."""
    insert = _insert_for(session)
    result = await session.execute(
        insert(DossierLink)
        .values(contact_id=contact.id, dossier_id=dossier.id, via=via, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["contact_id", "dossier_id"])
    )
    return bool(getattr(result, "rowcount", 0))


async def is_linked(session: AsyncSession, contact_id: int, dossier_id: int) -> bool:
    result = await session.execute(
        select(DossierLink.id).where(DossierLink.contact_id == contact_id, DossierLink.dossier_id == dossier_id)
    )
    return result.first() is not None


async def linked_contacts(session: AsyncSession, dossier_id: int) -> list[ChatContact]:
    """Every chat linked to a dossier (receipts and status messages go to all of them)."""
    result = await session.execute(
        select(ChatContact)
        .join(DossierLink, DossierLink.contact_id == ChatContact.id)
        .where(DossierLink.dossier_id == dossier_id)
        .order_by(ChatContact.id)
    )
    return list(result.scalars())


async def linked_dossiers(session: AsyncSession, contact_id: int) -> list[Dossier]:
    result = await session.execute(
        select(Dossier)
        .join(DossierLink, DossierLink.dossier_id == Dossier.id)
        .where(DossierLink.contact_id == contact_id)
        .order_by(Dossier.received_at.desc())
    )
    return list(result.scalars())


async def mark_blocked(session: AsyncSession, channel: str, chat_id: str, reason: str) -> None:
    contact = await get_contact(session, channel, chat_id)
    if contact is not None:
        contact.blocked, contact.blocked_reason = True, reason[:255]


async def touch_contacts(
    session: AsyncSession, seen: Sequence[tuple[str, str, str | None, str | None]]
) -> dict[tuple[str, str], int]:
    """`upsert_contact` for a batch of (channel, chat_id, user_id, language): a few statements in all.

    Creates the missing contacts, refreshes `last_seen_at`, lifts a block (they wrote again) and returns
    the contact ids by (channel, chat_id).
    """
    if not seen:
        return {}
    now = utcnow()
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for channel, chat_id, user_id, language in seen:
        rows.setdefault(
            (channel, chat_id),
            {
                "channel": channel,
                "chat_id": chat_id,
                "user_id": user_id,
                "language": "en" if language == "en" else "vi",
                "blocked": False,
                "created_at": now,
                "last_seen_at": now,
            },
        )
    insert = _insert_for(session)
    await session.execute(
        insert(ChatContact.__table__).on_conflict_do_nothing(index_elements=["channel", "chat_id"]),
        list(rows.values()),
    )
    ids: dict[tuple[str, str], int] = {}
    by_channel: dict[str, list[str]] = {}
    for channel, chat_id in rows:
        by_channel.setdefault(channel, []).append(chat_id)
    for channel, chat_ids in by_channel.items():
        result = await session.execute(
            select(ChatContact.id, ChatContact.chat_id).where(
                ChatContact.channel == channel, ChatContact.chat_id.in_(chat_ids)
            )
        )
        ids.update({(channel, chat_id): contact_id for contact_id, chat_id in result.all()})
    await session.execute(
        update(ChatContact)
        .where(ChatContact.id.in_(list(ids.values())))
        .values(last_seen_at=now, blocked=False, blocked_reason=None)
        .execution_options(synchronize_session=False)
    )
    return ids


async def note_inbound(session: AsyncSession, contact_id: int, at: datetime | None, message_id: str | None) -> None:
    """The citizen wrote (or followed) at `at`: the start of the platform's reply window.

    Only moves forward (an old event handled late does not shorten the window)."""
    moment = at or utcnow()
    await session.execute(
        update(ChatContact)
        .where(ChatContact.id == contact_id)
        .where((ChatContact.last_inbound_at.is_(None)) | (ChatContact.last_inbound_at <= moment))
        .values(last_inbound_at=moment, last_inbound_message_id=message_id[:64] if message_id else None)
        .execution_options(synchronize_session=False)
    )
