"""Officer recipients of the daily due-date alert: who, in which department, on which channel."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import InvalidInput, NotFound
from storage.models import Department, OfficerRecipient
from storage.phones import normalise_phone

CHANNELS = ("sms", "telegram", "zalo")
_TELEGRAM_CHAT = re.compile(r"^-?\d{1,20}$")
_ZALO_USER = re.compile(r"^\d{1,64}$")


@dataclass
class NewRecipient:
    department_id: str
    name: str
    channel: str
    phone: str | None = None
    telegram_chat_id: str | None = None
    zalo_user_id: str | None = None


def address_of(recipient: OfficerRecipient) -> str | None:
    """Where the recipient's preferred channel delivers: phone for sms, chat id, or Zalo user id."""
    if recipient.channel == "sms":
        return recipient.phone
    if recipient.channel == "telegram":
        return recipient.telegram_chat_id
    if recipient.channel == "zalo":
        return recipient.zalo_user_id
    return None


async def add_recipient(session: AsyncSession, new: NewRecipient) -> OfficerRecipient:
    """Validate and store a recipient; the preferred channel needs its address."""
    name = " ".join(new.name.split())
    if not name or len(name) > 200:
        raise InvalidInput("name is required (at most 200 characters)", code="invalid_name")
    if new.channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}", code="invalid_channel")
    if await session.get(Department, new.department_id) is None:
        raise InvalidInput(f"Unknown department {new.department_id!r}", code="unknown_department")
    phone = None
    if new.phone and new.phone.strip():
        phone = normalise_phone(new.phone)
        if phone is None:
            raise InvalidInput(f"{new.phone!r} is not a Vietnamese phone number", code="invalid_phone")
    chat_id = (new.telegram_chat_id or "").strip() or None
    if chat_id is not None and not _TELEGRAM_CHAT.match(chat_id):
        raise InvalidInput("telegram_chat_id must be a number (negative for groups)", code="invalid_telegram_chat_id")
    zalo_id = (new.zalo_user_id or "").strip() or None
    if zalo_id is not None and not _ZALO_USER.match(zalo_id):
        raise InvalidInput("zalo_user_id must be the numeric Zalo user id", code="invalid_zalo_user_id")
    row = OfficerRecipient(
        department_id=new.department_id,
        name=name,
        phone=phone,
        telegram_chat_id=chat_id,
        zalo_user_id=zalo_id,
        channel=new.channel,
        active=True,
    )
    if address_of(row) is None:
        needed = {"sms": "phone", "telegram": "telegram_chat_id", "zalo": "zalo_user_id"}[new.channel]
        raise InvalidInput(f"channel {new.channel} needs {needed}", code="missing_address")
    session.add(row)
    await session.flush()
    return row


async def list_recipients(
    session: AsyncSession, *, department_id: str | None = None, include_inactive: bool = False
) -> list[OfficerRecipient]:
    query = select(OfficerRecipient).order_by(OfficerRecipient.department_id, OfficerRecipient.id)
    if department_id is not None:
        query = query.where(OfficerRecipient.department_id == department_id)
    if not include_inactive:
        query = query.where(OfficerRecipient.active.is_(True))
    return list((await session.execute(query)).scalars())


async def active_recipients_by_department(
    session: AsyncSession, department_ids: Sequence[str] | None = None
) -> dict[str, list[OfficerRecipient]]:
    """Active recipients grouped by department (only those with an address on their channel)."""
    query = select(OfficerRecipient).where(OfficerRecipient.active.is_(True)).order_by(OfficerRecipient.id)
    if department_ids is not None:
        query = query.where(OfficerRecipient.department_id.in_(list(department_ids)))
    grouped: dict[str, list[OfficerRecipient]] = {}
    for row in (await session.execute(query)).scalars():
        if address_of(row) is not None:
            grouped.setdefault(row.department_id, []).append(row)
    return grouped


async def deactivate_recipient(
    session: AsyncSession, recipient_id: int, *, department_scope: str | None = None
) -> OfficerRecipient:
    """Stop alerts to a recipient (kept for the record); `department_scope` limits an officer to their own."""
    row = await session.get(OfficerRecipient, recipient_id)
    if row is None or (department_scope is not None and row.department_id != department_scope):
        raise NotFound(f"No recipient {recipient_id}", code="recipient_not_found")
    row.active = False
    return row
