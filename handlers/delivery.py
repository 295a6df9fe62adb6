"""How a notice reaches a citizen: the one place that knows the order of the paths.

Status messages, receipts, apologies, reminders and rating prompts are all *notices*; each one is handed to
`Delivery.send` with the chats linked to its dossier. The order, as Zalo's 2026 rules allow it
(`shared/reference/zalo-2026.md`):

1. every linked chat that is not blocked. A Zalo chat gets a consultation message only within 48 hours of
   the citizen's last message (as a reply to that message), or up to 7 days with `ZALO_PAID_WINDOW`; after
   that, a template message by UID (`zns` channel, template id per notice kind);
2. with no reachable chat: a template message to the applicant's phone;
3. a phone with no Zalo account (-118): SMS, when a gateway is configured and the notice kind is in
   `SMS_NOTICE_KINDS`;
4. nothing left: the notice is recorded `undeliverable` with every reason on the way (API and dashboard).

A path refused at send time (Zalo window closed -230/-232, unfollowed, no Zalo account) is not the end: the
outbox worker hands the row back to `reroute`, in the transaction that records the refusal, and the notice
takes its next path at once. A refused window is not a blocked user. Every row's idempotency key names the
notice and the path (`<notice>:<contact>` for a chat's first path, `<notice>:uid:<contact>` for a re-routed
one, `<notice>:zns`, `<notice>:sms`, `<notice>:none`), so a notice goes at most once down each path however
many replicas handle it, and a notice decided once is not decided again; quiet hours hold every path.

Channels stay unaware of all this: a row carries its notice (`payload["notice"]`), which only this module reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.base import Reply
from handlers.messages import Lang, language_of
from storage.calendar import QuietHours, WorkingCalendar
from storage.deliveries import record_undeliverable
from storage.models import ChatContact, OutboxMessage
from storage.outbox import OutgoingMessage, enqueue
from storage.phones import normalise_phone, to_international

if TYPE_CHECKING:
    from bot.settings import Settings

TEMPLATE_CHANNEL = "zns"  # ZBS template messages, by UID or by phone
SMS_CHANNEL = "sms"
NO_CHANNEL = "none"
ZALO_CHANNEL = "zalo"
FREE_WINDOW = timedelta(hours=48)
PAID_WINDOW = timedelta(days=7)

# The template setting of each notice kind (the centre registers one ZBS template per kind).
TEMPLATE_SETTINGS: dict[str, str] = {
    "receipt": "zns_template_receipt",
    "status": "zns_template_status",
    "postponed": "zns_template_status",
    "rating_request": "zns_template_rating",
    "reminder": "zns_template_reminder",
}

# The paths in order; a refused path continues with the ones after it.
CHAT, UID, PHONE, SMS = "chat", "uid", "phone", "sms"
AFTER: dict[str, tuple[str, ...]] = {CHAT: (PHONE, SMS), UID: (PHONE, SMS), PHONE: (SMS,), SMS: ()}


@dataclass(frozen=True)
class Notice:
    """One logical message to a dossier's applicant, rendered per language."""

    kind: str  # receipt | status | postponed | rating_request | reminder
    key: str  # idempotency key prefix; the path and the contact are appended
    render: Callable[[Lang], Reply]
    dossier_id: int
    phone: str | None = None  # the applicant's phone as stored on the dossier
    template_data: dict[str, str] = field(default_factory=dict)
    chat_only: bool = False  # not worth a paid message: linked chats only, nothing recorded otherwise


@dataclass
class Route:
    """What `Delivery.send` decided for one notice (for reports and tests)."""

    queued: list[OutgoingMessage] = field(default_factory=list)
    new: int = 0  # rows of `queued` that did not exist yet (idempotency keys)
    undeliverable: str | None = None


class Delivery:
    """Decides each notice's path and writes its outbox rows, in the caller's transaction."""

    def __init__(self, settings: Settings, calendar: WorkingCalendar, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.calendar = calendar
        self.clock = clock
        self.quiet = QuietHours.parse(settings.quiet_hours)
        self.sms_kinds = frozenset(k.strip() for k in settings.sms_notice_kinds.split(",") if k.strip())

    def not_before(self, now: datetime | None = None) -> datetime | None:
        """The end of the quiet hours when `now` is inside them, else None (due at once)."""
        now = now or self.clock()
        held = self.quiet.next_allowed(now, self.calendar.tz)
        return held if held != now else None

    # --- the first decision ----------------------------------------------------------------------

    async def send(
        self,
        session: AsyncSession,
        notice: Notice,
        contacts: Sequence[ChatContact],
        not_before: datetime | None = None,
    ) -> Route:
        """Queue the notice for each reachable chat, else down the phone paths, else record why not."""
        info = self._info(notice)
        route = Route()
        # A notice decided before (a job that runs again, another replica) is not decided again: a chat that
        # got it by one path must not get it by another because its window has closed since.
        served = await self._served(session, notice.key, contacts)
        reachable = [c for c in contacts if not c.blocked and c.id not in served]
        if served and not reachable:
            return route
        for contact in reachable:
            message, reason = self._chat_message(notice, info, contact, not_before)
            if message is None and notice.chat_only:
                continue  # outside the chat's free window, and not worth a paid message
            if message is None:
                # A Zalo chat outside every window without a template for this kind: try the phone.
                await self._follow(session, info, AFTER[UID], [reason], not_before, route)
            else:
                route.queued.append(message)
        if not reachable:
            if notice.chat_only:
                return route  # nobody is listening and nothing was promised
            reasons = ["no linked chat" if not contacts else "every linked chat is blocked"]
            await self._follow(session, info, (PHONE, SMS), reasons, not_before, route)
        route.new = await enqueue(session, route.queued)
        return route

    @staticmethod
    async def _served(session: AsyncSession, key: str, contacts: Sequence[ChatContact]) -> set[int | None]:
        """The contacts (None: the phone paths) this notice already has a row for."""
        candidates: dict[str, int | None] = {f"{key}:{suffix}": None for suffix in ("zns", "sms", "none")}
        for contact in contacts:
            candidates[f"{key}:{contact.id}"] = contact.id
            candidates[f"{key}:uid:{contact.id}"] = contact.id
        found = await session.execute(
            select(OutboxMessage.idempotency_key).where(OutboxMessage.idempotency_key.in_(list(candidates)))
        )
        return {candidates[k] for k in found.scalars()}

    def _chat_message(
        self, notice: Notice, info: dict[str, Any], contact: ChatContact, not_before: datetime | None
    ) -> tuple[OutgoingMessage | None, str]:
        reply = notice.render(language_of(contact.language))
        base = {**info, "contact_id": contact.id, "channel": contact.channel, "uid": contact.chat_id}
        if contact.channel != ZALO_CHANNEL:
            return self._row(
                f"{notice.key}:{contact.id}",
                contact.channel,
                contact.chat_id,
                reply.to_payload(),
                {**base, "step": CHAT},
                contact.id,
                not_before,
            ), ""
        now = self.clock()
        age = now - contact.last_inbound_at if contact.last_inbound_at is not None else None
        if age is not None and (age <= FREE_WINDOW or (age <= PAID_WINDOW and self.settings.zalo_paid_window)):
            payload = reply.to_payload()
            if age <= FREE_WINDOW and contact.last_inbound_message_id:
                payload["reply_to"] = contact.last_inbound_message_id
            return self._row(
                f"{notice.key}:{contact.id}",
                ZALO_CHANNEL,
                contact.chat_id,
                payload,
                {**base, "step": CHAT},
                contact.id,
                not_before,
            ), ""
        since = "never wrote" if age is None else f"last wrote {int(age.total_seconds() // 3600)} h ago"
        reason = f"Zalo chat {since}: outside the consultation window"
        if notice.chat_only:
            return None, reason
        message, why = self._template(info | {"contact_id": contact.id, "uid": contact.chat_id}, UID, not_before)
        if message is not None:
            # The contact's first decision keeps the contact's key, whatever the path (see `_served`).
            message = replace(message, idempotency_key=f"{notice.key}:{contact.id}")
            message.payload["zns"]["tracking_id"] = message.idempotency_key
        return message, f"{reason}; {why}" if why else reason

    # --- the next paths --------------------------------------------------------------------------

    async def reroute(self, session: AsyncSession, payload: dict[str, Any], error: str) -> str | None:
        """A path refused this row (`error`): queue the notice's next path. None when it was queued; the
        reasons otherwise (nothing else left: the row itself is then recorded undeliverable)."""
        info = payload.get("notice")
        if not isinstance(info, dict) or info.get("step") not in AFTER:
            return error
        step = str(info["step"])
        steps = AFTER[step]
        if step == CHAT and info.get("channel") == ZALO_CHANNEL and info.get("uid"):
            steps = (UID, *steps)  # a closed Zalo window: the template by UID first
        reasons = [*list(info.get("reasons") or []), error]
        not_before = self.not_before()
        for candidate in steps:
            message, why = self._path(info, candidate, not_before)
            if message is not None:
                message.payload["notice"]["reasons"] = reasons[-5:]
                await enqueue(session, [message])
                return None
            reasons.append(why)
        return "; ".join(r for r in reasons if r)[:1000]

    async def _follow(
        self,
        session: AsyncSession,
        info: dict[str, Any],
        steps: Sequence[str],
        reasons: list[str],
        not_before: datetime | None,
        route: Route,
    ) -> None:
        for step in steps:
            message, why = self._path(info, step, not_before)
            if message is not None:
                message.payload["notice"]["reasons"] = [r for r in reasons if r][-5:]
                route.queued.append(message)
                return
            reasons.append(why)
        text = str(info.get("text", ""))
        reason = "; ".join(r for r in reasons if r)
        row = OutgoingMessage(
            idempotency_key=f"{info['key']}:none",
            channel=NO_CHANNEL,
            recipient="",
            payload={"text": text, "notice": {**info, "step": "none"}},
            kind=str(info["kind"]),
            dossier_id=int(info["dossier_id"]),
            not_before=not_before,
        )
        await record_undeliverable(session, [row], reason)
        route.undeliverable = reason

    def _path(self, info: dict[str, Any], step: str, not_before: datetime | None) -> tuple[OutgoingMessage | None, str]:
        if step in (UID, PHONE):
            return self._template(info, step, not_before)
        if step == SMS:
            return self._sms(info, not_before)
        return None, f"no path {step!r}"

    def _template(
        self, info: dict[str, Any], step: str, not_before: datetime | None
    ) -> tuple[OutgoingMessage | None, str]:
        """A ZBS template message by UID (`step == UID`) or to the applicant's phone."""
        setting = TEMPLATE_SETTINGS.get(str(info["kind"]), "")
        template_id: str | None = getattr(self.settings, setting, None) if setting else None
        if step == UID:
            uid = str(info.get("uid") or "")
            if not uid:
                return None, "no Zalo user id"
            key, recipient, contact_id = f"{info['key']}:uid:{info.get('contact_id')}", uid, info.get("contact_id")
        else:
            phone = normalise_phone(info.get("phone"))
            if phone is None:
                return None, "no phone number on the dossier"
            key, recipient, contact_id = f"{info['key']}:zns", to_international(phone), None
        if template_id is None:
            return None, f"no Zalo template (ZNS/ZBS) for {info['kind']} messages ({setting.upper()} is not set)"
        if not self.settings.zalo_enabled:
            return None, "Zalo template messages (ZNS/ZBS) are not configured (ZALO_ACCESS_TOKEN/ZALO_REFRESH_TOKEN)"
        payload = {
            "text": info.get("text", ""),
            "zns": {
                "template_id": template_id,
                "template_data": info.get("template_data") or {},
                "tracking_id": key,
                "by": "uid" if step == UID else "phone",
            },
        }
        return self._row(key, TEMPLATE_CHANNEL, recipient, payload, {**info, "step": step}, contact_id, not_before), ""

    def _sms(self, info: dict[str, Any], not_before: datetime | None) -> tuple[OutgoingMessage | None, str]:
        if not self.settings.sms_gateway_url:
            return None, "SMS is not configured (SMS_GATEWAY_URL)"
        if info["kind"] not in self.sms_kinds:
            return None, f"SMS is not allowed for {info['kind']} messages (SMS_NOTICE_KINDS)"
        phone = normalise_phone(info.get("phone"))
        if phone is None:
            return None, "no phone number on the dossier"
        key = f"{info['key']}:sms"
        payload = {"text": info.get("text", "")}
        return self._row(
            key, SMS_CHANNEL, to_international(phone), payload, {**info, "step": SMS}, None, not_before
        ), ""

    # --- rows ------------------------------------------------------------------------------------

    @staticmethod
    def _info(notice: Notice) -> dict[str, Any]:
        """What a row must carry for its notice to take the next path later (JSON)."""
        return {
            "kind": notice.kind,
            "key": notice.key,
            "dossier_id": notice.dossier_id,
            "phone": notice.phone,
            "text": notice.render("vi").text,
            "template_data": dict(notice.template_data),
        }

    @staticmethod
    def _row(
        key: str,
        channel: str,
        recipient: str,
        payload: dict[str, Any],
        info: dict[str, Any],
        contact_id: Any,
        not_before: datetime | None,
    ) -> OutgoingMessage:
        return OutgoingMessage(
            idempotency_key=key,
            channel=channel,
            recipient=recipient,
            payload={**payload, "notice": info},
            kind=str(info["kind"]),
            dossier_id=int(info["dossier_id"]),
            contact_id=int(contact_id) if contact_id is not None else None,
            not_before=not_before,
        )


__all__ = ["TEMPLATE_SETTINGS", "Delivery", "Notice", "Route"]
