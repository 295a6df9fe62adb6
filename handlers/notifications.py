"""Proactive messages about a dossier, written to the outbox by a dossier hook in the change's transaction.

- created → the electronic receipt; status change → the status message (and, once returned, the rating
  request); postponement → the apology with the old and the new appointment date.
- How each message reaches the applicant (linked chats, Zalo's windows, template messages, SMS, or recorded
  undeliverable with the reason) is decided in one place, `handlers.delivery`. "Being processed" is the one
  update that is chat-only: it is not worth a paid template message.
- One idempotency key per logical message, path and recipient (`status:<dossier>:<event>:<contact>`): a
  retried API call, which creates no event, creates no message either.
- Quiet hours: a message caused at night waits in the outbox (`not_before`) until the window ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.base import Reply
from handlers.cards import (
    DossierFacts,
    load_facts,
    menu_buttons,
    postponed_message,
    rating_request,
    receipt_text,
    status_message,
)
from handlers.delivery import Delivery, Notice
from handlers.messages import fmt_date, status_name
from storage.calendar import WorkingCalendar
from storage.contacts import link_contact, linked_contacts
from storage.dossiers import DossierChange, DossierHook
from storage.models import ChatContact, Dossier, DossierStatus

if TYPE_CHECKING:
    from bot.settings import Settings


def create_notification_hook(
    settings: Settings, calendar: WorkingCalendar, clock: Callable[[], datetime]
) -> DossierHook:
    """The dossier hook that writes receipts, status messages, apologies and rating requests to the outbox."""
    delivery = Delivery(settings, calendar, clock)

    async def notify(session: AsyncSession, change: DossierChange) -> None:
        dossier = change.dossier
        if change.kind == "created":
            await link_verified_phones(session, dossier)
            facts = await load_facts(session, dossier, note="", data={})
        else:
            data: dict[str, Any] = {**(change.event.data or {}), **change.extra}
            facts = await load_facts(session, dossier, note=change.event.note or "", data=data)
        notices = build_notices(change, facts, settings, calendar)
        if not notices:
            return
        not_before = delivery.not_before()
        contacts = await linked_contacts(session, dossier.id)
        for notice in notices:
            await delivery.send(session, notice, contacts, not_before)

    return notify


def build_notices(
    change: DossierChange, facts: DossierFacts, settings: Settings, calendar: WorkingCalendar
) -> list[Notice]:
    """The messages a change causes."""
    d, event = change.dossier, change.event
    common: dict[str, Any] = {
        "dossier_id": d.id,
        "phone": d.applicant_phone,
        "template_data": zns_template_data(facts, calendar),
    }
    if change.kind == "created":
        return [
            Notice(
                "receipt",
                f"receipt:{d.id}",
                lambda lang: Reply.with_buttons(receipt_text(facts, lang, settings, calendar), menu_buttons(lang)[:2]),
                **common,
            )
        ]
    if change.kind == "postponed":
        previous = change.previous_due_at or d.original_due_at
        return [
            Notice(
                "postponed",
                f"postponed:{d.id}:{event.id}",
                lambda lang: Reply(postponed_message(facts, previous, lang, settings, calendar)),
                **common,
            )
        ]
    notices = [
        Notice(
            "status",
            f"status:{d.id}:{event.id}",
            lambda lang: Reply(status_message(facts, lang, settings, calendar)),
            chat_only=d.status == DossierStatus.IN_PROGRESS,
            **common,
        )
    ]
    if d.status == DossierStatus.RETURNED:
        notices.append(
            Notice(
                "rating_request",
                f"rating-request:{d.id}",
                lambda lang: rating_request(facts, lang, settings.rating_scale),
                **common,
            )
        )
    return notices


def zns_template_data(facts: DossierFacts, calendar: WorkingCalendar) -> dict[str, str]:
    """Parameters of the centre's ZNS templates (register templates with these parameter names).

    Lengths follow ZNS parameter limits (names 30, codes 30, labels 30, free text 200 characters).
    """
    d = facts.dossier
    return {
        "customer_name": d.applicant_name[:30],
        "dossier_code": d.code[:30],
        "procedure": facts.procedure[:200],
        "department": facts.department[:200],
        "status": status_name(d.status, "vi")[:30],
        "due_date": fmt_date(d.due_at, calendar.tz, "vi").split(", ")[-1],
        "note": (facts.reason or "")[:200],
    }


async def link_verified_phones(session: AsyncSession, dossier: Dossier) -> int:
    """Link the chats whose platform-verified phone is the applicant's (they proved the number is theirs)."""
    if not dossier.applicant_phone:
        return 0
    result = await session.execute(select(ChatContact).where(ChatContact.phone == dossier.applicant_phone))
    linked = 0
    for contact in result.scalars().all():
        linked += await link_contact(session, contact, dossier, "phone")
    return linked
