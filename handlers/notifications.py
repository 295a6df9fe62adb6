"""Proactive messages about a dossier, written to the outbox by a dossier hook in the change's transaction.

- created → the electronic receipt; status change → the status message (and, once returned, the rating
  request); postponement → the apology with the old and the new appointment date.
- Every linked chat gets each message, in its language. With no linked chat that can receive it, the message
  goes by Zalo ZNS to the applicant's phone; when ZNS is not configured (or there is no phone) it is recorded
  as undeliverable with the reason, never dropped silently. "Being processed" is the one update that is
  chat-only: it is not worth a paid ZNS message.
- One idempotency key per logical message and recipient (`status:<dossier>:<event>:<contact>`): a retried
  API call, which creates no event, creates no message either.
- Quiet hours: a message caused at night waits in the outbox (`not_before`) until the window ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
from handlers.messages import Lang, fmt_date, language_of, status_name
from storage.calendar import QuietHours, WorkingCalendar
from storage.contacts import link_contact, linked_contacts
from storage.deliveries import record_undeliverable
from storage.dossiers import DossierChange, DossierHook
from storage.models import ChatContact, Dossier, DossierStatus
from storage.outbox import OutgoingMessage, enqueue
from storage.phones import to_international

if TYPE_CHECKING:
    from bot.settings import Settings

ZNS_CHANNEL = "zns"
NO_CHANNEL = "none"


@dataclass(frozen=True)
class Notice:
    """One logical message about a dossier, rendered per language."""

    kind: str  # receipt | status | postponed | rating_request
    key: str  # idempotency key prefix; the recipient is appended
    render: Callable[[Lang], Reply]
    zns_template: str  # settings attribute of the ZNS template for this kind; "" = chat only


def create_notification_hook(
    settings: Settings, calendar: WorkingCalendar, clock: Callable[[], datetime]
) -> DossierHook:
    """The dossier hook that writes receipts, status messages, apologies and rating requests to the outbox."""
    quiet = QuietHours.parse(settings.quiet_hours)

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
        now = clock()
        held = quiet.next_allowed(now, calendar.tz)
        not_before = held if held != now else None  # outside quiet hours: due at once
        contacts = [c for c in await linked_contacts(session, dossier.id) if not c.blocked]
        for notice in notices:
            await deliver(session, notice, facts, contacts, settings, calendar, not_before)

    return notify


def build_notices(
    change: DossierChange, facts: DossierFacts, settings: Settings, calendar: WorkingCalendar
) -> list[Notice]:
    """The messages a change causes."""
    d, event = change.dossier, change.event
    if change.kind == "created":
        return [
            Notice(
                "receipt",
                f"receipt:{d.id}",
                lambda lang: Reply.with_buttons(receipt_text(facts, lang, settings, calendar), menu_buttons(lang)[:2]),
                "zns_template_receipt",
            )
        ]
    if change.kind == "postponed":
        previous = change.previous_due_at or d.original_due_at
        return [
            Notice(
                "postponed",
                f"postponed:{d.id}:{event.id}",
                lambda lang: Reply(postponed_message(facts, previous, lang, settings, calendar)),
                "zns_template_status",
            )
        ]
    notices = [
        Notice(
            "status",
            f"status:{d.id}:{event.id}",
            lambda lang: Reply(status_message(facts, lang, settings, calendar)),
            "" if d.status == DossierStatus.IN_PROGRESS else "zns_template_status",
        )
    ]
    if d.status == DossierStatus.RETURNED:
        notices.append(
            Notice(
                "rating_request",
                f"rating-request:{d.id}",
                lambda lang: rating_request(facts, lang, settings.rating_scale),
                "zns_template_rating",
            )
        )
    return notices


async def deliver(
    session: AsyncSession,
    notice: Notice,
    facts: DossierFacts,
    contacts: list[ChatContact],
    settings: Settings,
    calendar: WorkingCalendar,
    not_before: datetime | None,
) -> None:
    """Enqueue a notice for every chat, or by ZNS, or record why nobody can receive it."""
    d = facts.dossier
    if contacts:
        await enqueue(
            session,
            [
                OutgoingMessage(
                    idempotency_key=f"{notice.key}:{contact.id}",
                    channel=contact.channel,
                    recipient=contact.chat_id,
                    payload=notice.render(language_of(contact.language)).to_payload(),
                    kind=notice.kind,
                    dossier_id=d.id,
                    contact_id=contact.id,
                    not_before=not_before,
                )
                for contact in contacts
            ],
        )
        return
    if not notice.zns_template:
        return  # chat-only update and nobody is listening: nothing was promised
    text = notice.render("vi").text
    if not d.applicant_phone:
        message = OutgoingMessage(
            idempotency_key=f"{notice.key}:none",
            channel=NO_CHANNEL,
            recipient="",
            payload={"text": text},
            kind=notice.kind,
            dossier_id=d.id,
            not_before=not_before,
        )
        await record_undeliverable(session, [message], "no linked chat and no phone number on the dossier")
        return
    key = f"{notice.key}:zns"
    template_id: str | None = getattr(settings, notice.zns_template)
    message = OutgoingMessage(
        idempotency_key=key,
        channel=ZNS_CHANNEL,
        recipient=to_international(d.applicant_phone),
        payload={
            "text": text,
            "zns": {
                "template_id": template_id,
                "template_data": zns_template_data(facts, calendar),
                "tracking_id": key,
            },
        },
        kind=notice.kind,
        dossier_id=d.id,
        not_before=not_before,
    )
    if template_id is None or not settings.zalo_enabled:
        missing = notice.zns_template.upper() if template_id is None else "ZALO_ACCESS_TOKEN/ZALO_REFRESH_TOKEN"
        await record_undeliverable(
            session, [message], f"no linked chat, and Zalo ZNS is not configured ({missing} is not set)"
        )
        return
    await enqueue(session, [message])


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
