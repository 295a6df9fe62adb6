"""The bodies of the scheduled jobs: officer alerts, citizen reminders, housekeeping.

Each body reads what is due, then writes outbox rows whose idempotency key names the logical message
(`alert:<department>:<day>:<recipient>`, `reminder:<kind>:<dossier>:<contact>`): however often a job
runs, on however many replicas, each message exists once. Bodies never send; the outbox worker does.
Reads and writes are separate short transactions (SQLite readers never upgrade to writers mid-way).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.settings import Settings
from handlers.base import Reply
from handlers.delivery import Delivery, Notice
from handlers.messages import language_of, say
from storage.alerts import AlertWindow, DepartmentAlert, alert_window, compute_alerts
from storage.calendar import QuietHours, WorkingCalendar
from storage.db import SessionMaker
from storage.housekeeping import delete_expired_tokens, prune_inbox, prune_outbox
from storage.models import Department
from storage.outbox import OutgoingMessage, enqueue
from storage.phones import to_international
from storage.recipients import active_recipients_by_department, address_of
from storage.reminders import (
    CATCH_UP_DAYS,
    ReminderTarget,
    due_tomorrow,
    reachable_contacts,
    supplement_due,
    uncollected,
)

log = logging.getLogger(__name__)

# Idempotency keys of reminders must outlive the window in which a reminder can be (re)computed.
MIN_RETENTION_DAYS = CATCH_UP_DAYS + 1

# A housekeeping task contributed by another feature (e.g. the Zalo channel refreshing its token ahead of
# expiry): called with the current time, returns a line for the report or None; raising marks the run failed.
HousekeepingTask = Callable[[datetime], Awaitable[str | None]]


@dataclass(frozen=True)
class JobContext:
    """What the job bodies use; built from the application by the scheduler."""

    settings: Settings
    sessionmaker: SessionMaker
    calendar: WorkingCalendar
    housekeeping_tasks: Sequence[HousekeepingTask] = ()


@dataclass
class JobReport:
    """What a run did, for the log, `motcua jobs run` and the run record."""

    summary: str
    queued: int = 0
    lines: list[str] = field(default_factory=list)


# --- user-facing text (Vietnamese first; English for chats that asked for it) --------------------------

WEEKDAYS = {
    "vi": ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}

ALERT_TEXT = (
    "[{centre}] {department} {day}: {today} HS đến hạn hôm nay, {soon} HS trong {days} ngày làm việc tới, "
    "{overdue} HS quá hạn."
)
ALERT_URGENT = " Cần xử lý gấp: {codes}."
ALERT_EMPTY = "[{centre}] {department} {day}: không có hồ sơ đến hạn hoặc quá hạn."


def fmt_day(moment: datetime | date, calendar: WorkingCalendar, lang: str) -> str:
    day = calendar.local(moment).date() if isinstance(moment, datetime) else moment
    return f"{WEEKDAYS[lang][day.weekday()]}, {day:%d/%m/%Y}"


def alert_text(alert: DepartmentAlert, window: AlertWindow, centre: str) -> str:
    """The officer's SMS-style alert (diacritics kept; the SMS sender transliterates)."""
    day = f"{window.day:%d/%m}"
    if alert.total == 0:
        return ALERT_EMPTY.format(centre=centre, department=alert.department_name, day=day)
    text = ALERT_TEXT.format(
        centre=centre,
        department=alert.department_name,
        day=day,
        today=alert.due_today,
        soon=alert.due_soon,
        days=window.days_ahead,
        overdue=alert.overdue,
    )
    if alert.urgent_codes:
        text += ALERT_URGENT.format(codes=", ".join(alert.urgent_codes))
    return text


def reminder_text(target: ReminderTarget, lang: str, settings: Settings, calendar: WorkingCalendar) -> str:
    """The reminder in the chat's language (texts in `handlers.messages`, "Ông/Bà" in Vietnamese)."""
    lang = "en" if lang == "en" else "vi"
    fields: dict[str, Any] = {"code": target.code, "procedure": target.procedure}
    if target.kind == "due_tomorrow":
        fields["date"] = fmt_day(target.due_at, calendar, lang)
    elif target.kind == "uncollected":
        fields["date"] = fmt_day(target.resolved_at or target.due_at, calendar, lang)
        fields["centre"] = settings.centre_name
        # no address configured: the clause is left out (never a placeholder)
        fields["address"] = f", {settings.centre_address.strip()}" if settings.centre_address.strip() else ""
        fields["hours"] = calendar.hours.describe_vi() if lang == "vi" else settings.working_hours
    else:
        deadline = target.supplement_deadline or target.due_at
        fields["deadline"] = f"{calendar.local(deadline):%H:%M} {fmt_day(deadline, calendar, lang)}"
    return say(language_of(lang), f"reminder_{target.kind}", **fields)


# --- officer alerts ------------------------------------------------------------------------------------


async def run_officer_alerts(ctx: JobContext, now: datetime, manual: bool = False) -> JobReport:
    """Queue today's alert for every registered recipient (on working days, or whenever run by hand)."""
    calendar, settings = ctx.calendar, ctx.settings
    day = calendar.local(now).date()
    if not calendar.is_working_day(day) and not manual:
        return JobReport(f"{day:%d/%m/%Y} is not a working day: no alert")
    window = alert_window(calendar, day, settings.officer_alert_days_ahead)
    async with ctx.sessionmaker() as session:
        recipients = await active_recipients_by_department(session)
        if not recipients:
            return JobReport("no officer recipients (add them with `motcua recipients add`)")
        alerts = await compute_alerts(session, window, list(recipients))
        names = {row[0]: row[1] for row in await session.execute(select(Department.id, Department.name))}
    messages: list[OutgoingMessage] = []
    lines: list[str] = []
    for department_id, people in recipients.items():
        alert = alerts.get(department_id)
        if alert is None or alert.total == 0:
            if not settings.officer_alert_send_empty:
                continue
            alert = DepartmentAlert(department_id, names.get(department_id, department_id))
        text = alert_text(alert, window, settings.centre_code)
        lines.append(text)
        for person in people:
            address = address_of(person)
            assert address is not None  # active_recipients_by_department keeps only reachable ones
            messages.append(
                OutgoingMessage(
                    idempotency_key=f"alert:{department_id}:{day.isoformat()}:{person.id}",
                    channel=person.channel,
                    recipient=to_international(address) if person.channel == "sms" else address,
                    payload=Reply(text).to_payload(),
                    kind="officer_alert",
                )
            )
    async with ctx.sessionmaker.begin() as session:
        queued = await enqueue(session, messages)
    return JobReport(
        f"{day:%d/%m/%Y}: {len(lines)} department alert(s), {queued} new message(s) of {len(messages)}",
        queued=queued,
        lines=lines,
    )


# --- citizen reminders ---------------------------------------------------------------------------------


async def run_citizen_reminders(ctx: JobContext, now: datetime, manual: bool = False) -> JobReport:
    """Queue each due reminder once per dossier, kind and chat; never delivered at night."""
    calendar, settings = ctx.calendar, ctx.settings
    today = calendar.local(now).date()
    not_before = QuietHours.parse(settings.quiet_hours).next_allowed(now, calendar.tz)
    async with ctx.sessionmaker() as session:
        targets: list[ReminderTarget] = []
        # "Tomorrow" must still be true when the message goes out after the quiet hours.
        if calendar.local(not_before).date() == today:
            targets += await due_tomorrow(session, calendar, today)
        # Collecting a result is for days the counter is open.
        if calendar.is_working_day(today):
            targets += await uncollected(session, calendar, today, settings.reminder_uncollected_days)
        targets += await supplement_due(session, calendar, now, settings.reminder_supplement_days_before)
        contacts = await reachable_contacts(session, sorted({t.dossier_id for t in targets}))
    delivery = Delivery(settings, calendar, lambda: now)
    queued = 0
    unreachable = 0
    async with ctx.sessionmaker.begin() as session:
        for target in targets:
            notice = reminder_notice(target, settings, calendar)
            route = await delivery.send(session, notice, contacts.get(target.dossier_id, []), not_before)
            queued += route.new
            unreachable += route.undeliverable is not None
    kinds = {kind: sum(1 for t in targets if t.kind == kind) for kind in ("due_tomorrow", "uncollected", "supplement")}
    summary = (
        f"{today:%d/%m/%Y}: {kinds['due_tomorrow']} due tomorrow, {kinds['uncollected']} uncollected, "
        f"{kinds['supplement']} supplement deadline(s); {queued} new message(s)"
    )
    if unreachable:
        summary += f"; {unreachable} reminder(s) undeliverable (no linked chat, template or SMS)"
    return JobReport(summary, queued=queued)


def reminder_notice(target: ReminderTarget, settings: Settings, calendar: WorkingCalendar) -> Notice:
    """A reminder as a notice: chats in their language, else a template message or SMS to the phone."""
    deadline = target.supplement_deadline if target.kind == "supplement" else target.due_at
    text_vi = reminder_text(target, "vi", settings, calendar)
    return Notice(
        kind="reminder",
        key=f"reminder:{target.kind}:{target.dossier_id}",
        render=lambda lang: Reply(reminder_text(target, lang, settings, calendar)),
        dossier_id=target.dossier_id,
        phone=target.applicant_phone,
        template_data={
            "customer_name": target.applicant_name[:30],
            "dossier_code": target.code[:30],
            "procedure": target.procedure[:200],
            "department": target.department[:200],
            "due_date": f"{calendar.local(deadline or target.due_at):%d/%m/%Y}",
            "note": text_vi[:200],
        },
    )


# --- housekeeping --------------------------------------------------------------------------------------


async def run_housekeeping(ctx: JobContext, now: datetime, manual: bool = False) -> JobReport:
    """Expire tokens, prune delivered outbox rows and handled inbox rows, run contributed tasks."""
    # Inbox rows are the webhooks' dedup records: kept longer than the oldest event a webhook accepts.
    webhook_days = -(-ctx.settings.zalo_webhook_max_age_seconds // 86400) + 1
    days = max(ctx.settings.retention_days, MIN_RETENTION_DAYS, webhook_days)
    cutoff = now - timedelta(days=days)
    tokens = await delete_expired_tokens(ctx.sessionmaker, now)
    outbox = await prune_outbox(ctx.sessionmaker, cutoff)
    inbox = await prune_inbox(ctx.sessionmaker, cutoff)
    lines: list[str] = []
    errors: list[str] = []
    for task in ctx.housekeeping_tasks:
        try:
            line = await task(now)
        except Exception as exc:  # one failing task must not stop the others
            log.exception("housekeeping task %s failed", getattr(task, "__name__", task))
            errors.append(f"{getattr(task, '__name__', 'task')}: {type(exc).__name__}: {exc}")
            continue
        if line:
            lines.append(line)
    summary = (
        f"deleted {tokens} expired subscription token(s), {outbox} delivered outbox row(s) "
        f"and {inbox} inbox row(s) older than {days} days"
    )
    if errors:
        raise HousekeepingError(summary + "; failed: " + "; ".join(errors))
    return JobReport(summary, lines=lines)


class HousekeepingError(RuntimeError):
    """A contributed housekeeping task failed (the deletes before it are kept)."""
