"""Texts about one dossier, composed from `handlers.messages`: the status card a look-up shows, the electronic
receipt, the proactive status messages, the apology for a postponement and the rating request.

Pure functions of the dossier's facts, the settings and the calendar; `load_facts` reads the facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.base import Button, Reply
from handlers.messages import Lang, fmt_date, fmt_datetime, fmt_money, rating_label, say, status_name
from storage.calendar import WorkingCalendar, WorkingHours
from storage.lifecycle import status_explained
from storage.models import Department, Dossier, DossierEvent, DossierStatus, Procedure, ReturnMethod
from storage.ratings import LEVELS

if TYPE_CHECKING:
    from bot.settings import Settings

S = DossierStatus


@dataclass(frozen=True)
class DossierFacts:
    """A dossier with the names a person reads and what its latest status change said."""

    dossier: Dossier
    procedure: str
    department: str
    note: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> str | None:
        reason = self.data.get("reason") or self.note
        return str(reason).strip() if reason else None


async def load_facts(
    session: AsyncSession, dossier: Dossier, *, note: str | None = None, data: dict[str, Any] | None = None
) -> DossierFacts:
    """Names of the dossier's procedure and department; the latest status event's note/data unless given."""
    procedure = await session.get(Procedure, dossier.procedure_id)
    department = await session.get(Department, dossier.department_id)
    if note is None and data is None:
        result = await session.execute(
            select(DossierEvent)
            .where(DossierEvent.dossier_id == dossier.id, DossierEvent.to_status == dossier.status)
            .order_by(DossierEvent.id.desc())
            .limit(1)
        )
        event = result.scalar_one_or_none()
        if event is not None:
            note, data = event.note, dict(event.data or {})
    return DossierFacts(
        dossier=dossier,
        procedure=procedure.title if procedure else dossier.procedure_id,
        department=department.name if department else dossier.department_id,
        note=note,
        data=dict(data or {}),
    )


def centre_place(settings: Settings, lang: Lang) -> str:
    """Where to come: the centre's address, or (when CENTRE_ADDRESS is unset) the counter that received the
    dossier — never a placeholder."""
    return settings.centre_address.strip() or say(lang, "address_unset")


def describe_hours(hours: WorkingHours, lang: Lang) -> str:
    """Opening hours as a person reads them."""
    if lang == "vi":
        return hours.describe_vi()
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    days = sorted(hours.weekdays)
    day_text = f"{names[days[0]]}–{names[days[-1]]}" if len(days) > 1 else names[days[0]]
    return f"{day_text}, " + " and ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in hours.spans)


def _deadline(facts: DossierFacts) -> datetime | None:
    if facts.dossier.supplement_deadline is not None:
        return facts.dossier.supplement_deadline
    raw = facts.data.get("supplement_deadline")
    if isinstance(raw, datetime):
        return raw
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            return None
    return None


def _amount(facts: DossierFacts, lang: Lang) -> str:
    amount = facts.data.get("amount")
    if isinstance(amount, int):
        return fmt_money(amount, lang)
    return say(lang, "amount_unknown")


def late_step(facts: DossierFacts, lang: Lang, settings: Settings, calendar: WorkingCalendar, now: datetime) -> str:
    """For an open dossier past its appointment: say it is late, apologise, and give the new date when there
    is one (a postponement); "" otherwise."""
    d = facts.dossier
    if d.status not in (S.RECEIVED, S.IN_PROGRESS):
        return ""
    tz = calendar.tz
    if now > d.due_at:
        return say(lang, "next_late", due=fmt_date(d.due_at, tz, lang), hotline=settings.contact_hotline)
    if d.due_at != d.original_due_at and now > d.original_due_at:
        return say(
            lang,
            "next_late_new_date",
            original=fmt_date(d.original_due_at, tz, lang),
            due=fmt_date(d.due_at, tz, lang),
        )
    return ""


def next_step(
    facts: DossierFacts,
    lang: Lang,
    settings: Settings,
    calendar: WorkingCalendar,
    *,
    owner: bool,
    now: datetime | None = None,
) -> str:
    """What the citizen must do next; without ownership, nothing that could reveal personal details.

    Given `now`, an open dossier past its appointment says so first (late_step)."""
    d = facts.dossier
    status = d.status
    late = late_step(facts, lang, settings, calendar, now) if now is not None else ""
    if late:
        return late
    if status in (S.NEEDS_SUPPLEMENT, S.AWAITING_PAYMENT, S.REJECTED) and not owner:
        return say(lang, "next_private")
    if status == S.NEEDS_SUPPLEMENT:
        deadline = _deadline(facts)
        deadline_text = say(lang, "deadline_part", deadline=fmt_date(deadline, calendar.tz, lang)) if deadline else ""
        what = f" {facts.reason}" if facts.reason else ""
        return say(lang, "next_needs_supplement", deadline=deadline_text, what=what)
    if status == S.AWAITING_PAYMENT:
        return say(lang, "next_awaiting_payment", amount=_amount(facts, lang), portal=settings.portal_url)
    if status == S.RESULT_READY:
        if d.return_method == ReturnMethod.POSTAL:
            return say(lang, "next_result_ready_postal")
        return say(
            lang,
            "next_result_ready_counter",
            address=centre_place(settings, lang),
            hours=describe_hours(calendar.hours, lang),
        )
    if status == S.REJECTED:
        reason = f": {facts.reason}" if facts.reason else ""
        return say(lang, "next_rejected", reason=reason, hotline=settings.contact_hotline)
    if status == S.SUSPENDED:
        return say(lang, "next_suspended", hotline=settings.contact_hotline)
    key = f"next_{status}"
    return say(lang, key) if key in ("next_received", "next_in_progress", "next_returned", "next_withdrawn") else ""


def status_card(
    facts: DossierFacts,
    lang: Lang,
    settings: Settings,
    calendar: WorkingCalendar,
    *,
    owner: bool,
    now: datetime | None = None,
) -> str:
    """The answer to a look-up. A chat not proven to be the applicant's sees status, appointment date and
    department only — no name, phone, ID number, procedure or documents. Given `now`, a late dossier says so."""
    d, tz = facts.dossier, calendar.tz
    lines = [f"{say(lang, 'label_code')}: {d.code}"]
    if owner:
        lines.append(f"• {say(lang, 'label_applicant')}: {d.applicant_name}")
        lines.append(f"• {say(lang, 'label_procedure')}: {facts.procedure}")
    lines.append(f"• {say(lang, 'label_department')}: {facts.department}")
    lines.append(f"• {say(lang, 'label_status')}: {status_explained(d.status, lang)}")
    lines.append(f"• {say(lang, 'label_due')}: {fmt_date(d.due_at, tz, lang)}")
    if d.due_at != d.original_due_at:
        lines.append(f"• {say(lang, 'label_original_due')}: {fmt_date(d.original_due_at, tz, lang)}")
    step = next_step(facts, lang, settings, calendar, owner=owner, now=now)
    if step:
        lines.append(f"{say(lang, 'label_next')}: {step}")
    return "\n".join(lines)


def receipt_text(facts: DossierFacts, lang: Lang, settings: Settings, calendar: WorkingCalendar) -> str:
    """The electronic receipt (phiếu biên nhận điện tử) sent to a linked chat."""
    d, tz = facts.dossier, calendar.tz
    if d.fees is None:
        fees = say(lang, "fees_unknown")
    elif d.fees == 0:
        fees = say(lang, "fees_none")
    else:
        fees = fmt_money(d.fees, lang)
    result = (
        say(lang, "return_postal")
        if d.return_method == ReturnMethod.POSTAL
        else say(lang, "return_counter", address=settings.centre_address)
        if settings.centre_address.strip()
        else say(lang, "return_counter_here")
    )
    lines = [
        say(lang, "receipt_title"),
        say(lang, "receipt_intro", centre=settings.centre_name, name=d.applicant_name),
        f"• {say(lang, 'label_code')}: {d.code}",
        f"• {say(lang, 'label_procedure')}: {facts.procedure}",
        f"• {say(lang, 'label_department')}: {facts.department}",
        f"• {say(lang, 'label_received')}: {fmt_datetime(d.received_at, tz, lang)}",
        f"• {say(lang, 'label_due')}: {fmt_date(d.due_at, tz, lang)}",
    ]
    if d.documents:
        lines.append(f"• {say(lang, 'label_documents')}:")
        lines.extend(f"   {i}. {doc}" for i, doc in enumerate(d.documents, 1))
    lines.append(f"• {say(lang, 'label_fees')}: {fees}")
    lines.append(f"• {say(lang, 'label_result')}: {result}")
    lines.append(say(lang, "receipt_lookup", code=d.code))
    return "\n".join(lines)


def status_message(facts: DossierFacts, lang: Lang, settings: Settings, calendar: WorkingCalendar) -> str:
    """The proactive message for the dossier's (new) status."""
    d, tz = facts.dossier, calendar.tz
    common: dict[str, object] = {
        "code": d.code,
        "procedure": facts.procedure,
        "centre": settings.centre_name,
        "hotline": settings.contact_hotline,
        "portal": settings.portal_url,
        "address": centre_place(settings, lang),
    }
    status = d.status
    if status == S.IN_PROGRESS:
        return say(lang, "status_in_progress", due=fmt_date(d.due_at, tz, lang), **common)
    if status == S.NEEDS_SUPPLEMENT:
        deadline = _deadline(facts)
        return say(
            lang,
            "status_needs_supplement",
            what=f"\n{facts.reason}" if facts.reason else "",
            deadline=fmt_date(deadline, tz, lang) if deadline else "—",
            **common,
        )
    if status == S.AWAITING_PAYMENT:
        return say(lang, "status_awaiting_payment", amount=_amount(facts, lang), **common)
    if status == S.RESULT_READY:
        if d.return_method == ReturnMethod.POSTAL:
            return say(lang, "status_result_ready_postal", **common)
        return say(lang, "status_result_ready_counter", hours=describe_hours(calendar.hours, lang), **common)
    if status == S.RETURNED:
        return say(lang, "status_returned", **common)
    if status == S.REJECTED:
        return say(lang, "status_rejected", reason=facts.reason or say(lang, "reason_unknown"), **common)
    if status == S.WITHDRAWN:
        return say(lang, "status_withdrawn", **common)
    if status == S.SUSPENDED:
        return say(lang, "status_suspended", reason=f"\n{facts.reason}" if facts.reason else "", **common)
    return say(lang, "status_other", status=status_name(status, lang), **common)


def postponed_message(
    facts: DossierFacts, previous_due_at: datetime, lang: Lang, settings: Settings, calendar: WorkingCalendar
) -> str:
    """The apology with the old and the new appointment date (phiếu xin lỗi và hẹn lại ngày trả kết quả)."""
    d, tz = facts.dossier, calendar.tz
    return say(
        lang,
        "postponed",
        centre=settings.centre_name,
        name=d.applicant_name,
        code=d.code,
        procedure=facts.procedure,
        old=fmt_date(previous_due_at, tz, lang),
        new=fmt_date(d.due_at, tz, lang),
        reason=facts.reason or say(lang, "reason_unknown"),
    )


def rating_buttons(dossier_id: int, lang: Lang, scale: int) -> list[Button]:
    """One button per level, best first; the payload names the dossier and the score."""
    levels = LEVELS.get(scale, LEVELS[3])
    return [
        Button(rating_label(level, lang), f"rate:{dossier_id}:{score}")
        for score, level in sorted(levels.items(), reverse=True)
    ]


def rating_request(facts: DossierFacts, lang: Lang, scale: int) -> Reply:
    d = facts.dossier
    return Reply.with_buttons(
        say(lang, "rating_request", code=d.code, procedure=facts.procedure),
        rating_buttons(d.id, lang, scale),
        per_row=1,
    )


def menu_buttons(lang: Lang) -> list[Button]:
    """The journeys' menu: look up, an officer, the other language."""
    other = "vi" if lang == "en" else "en"
    return [
        Button(say(lang, "menu_lookup"), "menu:lookup"),
        Button(say(lang, "menu_human"), "menu:human"),
        Button(say(lang, "menu_language"), f"lang:{other}"),
    ]
