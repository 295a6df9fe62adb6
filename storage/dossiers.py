"""The dossier store's service: create dossiers, change their status, look them up, list them.

Everything a change causes (events, outgoing messages through the hooks) is written in the caller's
transaction, so a change and its messages land together or not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.calendar import WorkingCalendar
from storage.codes import candidate_keys, code_key, code_prefix, format_code, is_valid_code
from storage.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from storage.lifecycle import FINAL_STATUSES, RESOLVED_STATUSES, can_transition, status_label
from storage.models import (
    Department,
    Dossier,
    DossierEvent,
    DossierStatus,
    Procedure,
    ReceiptChannel,
    ReturnMethod,
    utcnow,
)
from storage.phones import normalise_phone

CHANNELS = tuple(c.value for c in ReceiptChannel)
RETURN_METHODS = tuple(m.value for m in ReturnMethod)
STATUSES = tuple(s.value for s in DossierStatus)
_FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass
class NewDossier:
    """What is needed to record a received dossier."""

    procedure_id: str
    applicant_name: str
    channel: str
    applicant_phone: str | None = None
    applicant_id_number: str | None = None
    code: str | None = None
    received_at: datetime | None = None
    department_id: str | None = None
    return_method: str = ReturnMethod.COUNTER.value
    fees: int | None = None
    documents: list[str] | None = None
    # Used by imports of history; a new dossier from the API leaves them empty.
    due_at: datetime | None = None
    status: str = DossierStatus.RECEIVED.value
    resolved_at: datetime | None = None
    returned_at: datetime | None = None
    import_key: str | None = None


@dataclass
class DossierChange:
    """What happened to a dossier, given to the hooks (receipts, status messages, metrics)."""

    kind: Literal["created", "status", "postponed"]
    dossier: Dossier
    event: DossierEvent
    previous_status: str | None = None
    previous_due_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


DossierHook = Callable[[AsyncSession, DossierChange], Awaitable[None]]


@dataclass
class DossierFilter:
    status: Sequence[str] = ()
    department_id: str | None = None
    procedure_id: str | None = None
    channel: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    overdue_at: datetime | None = None  # open dossiers past their appointment at this moment


class DossierService:
    """Rules of the dossier store; every method works inside the caller's session/transaction."""

    def __init__(
        self,
        calendar: WorkingCalendar,
        *,
        code_pattern: str,
        centre_code: str,
        hooks: Sequence[DossierHook] = (),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.calendar = calendar
        self.code_pattern = code_pattern
        self.centre_code = centre_code
        self.hooks = list(hooks)
        self.clock = clock

    # --- creation ----------------------------------------------------------------------------------

    async def create(
        self,
        session: AsyncSession,
        new: NewDossier,
        *,
        actor: str,
        notify: bool = True,
        department_scope: str | None = None,
    ) -> Dossier:
        """Record a dossier; computes its appointment date and code; runs the hooks.

        `department_scope` restricts an officer's key to dossiers of their own department.
        """
        procedure = await session.get(Procedure, new.procedure_id)
        if procedure is None:
            raise InvalidInput(f"Unknown procedure_id {new.procedure_id!r}", code="unknown_procedure")
        department_id = new.department_id or procedure.department_id
        if await session.get(Department, department_id) is None:
            raise InvalidInput(f"Unknown department {department_id!r}", code="unknown_department")
        if department_scope is not None and department_id != department_scope:
            raise Forbidden("This key belongs to another department", code="wrong_department")
        if department_scope is not None and procedure.department_id != department_scope:
            # An officer files dossiers of their own department's procedures only, not another's under theirs.
            raise Forbidden(
                f"Procedure {procedure.id!r} belongs to another department than this key's",
                code="wrong_department",
            )
        name = " ".join(new.applicant_name.split())
        if not name:
            raise InvalidInput("applicant name is required", code="invalid_applicant")
        if len(name) > 200:
            raise InvalidInput("applicant name is longer than 200 characters", code="invalid_applicant")
        phone = None
        if new.applicant_phone:
            phone = normalise_phone(new.applicant_phone)
            if phone is None:
                raise InvalidInput(f"{new.applicant_phone!r} is not a Vietnamese phone number", code="invalid_phone")
        if new.channel not in CHANNELS:
            raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}", code="invalid_channel")
        if new.return_method not in RETURN_METHODS:
            raise InvalidInput(
                f"return_method must be one of {', '.join(RETURN_METHODS)}", code="invalid_return_method"
            )
        if new.status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", code="invalid_status")
        id_number = (new.applicant_id_number or "").strip() or None
        if id_number is not None and not (id_number.isdigit() and len(id_number) in (9, 12)):
            raise InvalidInput("id_number must be 9 or 12 digits", code="invalid_id_number")
        now = self.clock()
        received_at = new.received_at or now
        if received_at > now + _FUTURE_TOLERANCE:
            raise InvalidInput("received_at is in the future", code="invalid_received_at")
        days = procedure.processing_days if procedure.processing_days is not None else 0
        due_at = new.due_at or self.calendar.due_at(received_at, days)
        if due_at < received_at:
            raise InvalidInput("due_at is before received_at", code="invalid_due_at")
        resolved_at = new.resolved_at
        if resolved_at is None and new.status in RESOLVED_STATUSES:
            resolved_at = new.returned_at or received_at
        dossier = Dossier(
            procedure_id=procedure.id,
            department_id=department_id,
            applicant_name=name,
            applicant_phone=phone,
            applicant_id_number=id_number,
            channel=new.channel,
            return_method=new.return_method,
            status=new.status,
            received_at=received_at,
            due_at=due_at,
            original_due_at=due_at,
            resolved_at=resolved_at,
            returned_at=new.returned_at,
            fees=new.fees,
            documents=new.documents,
            import_key=new.import_key,
        )
        await self._insert_with_code(session, dossier, new.code, received_at)
        event = DossierEvent(
            dossier_id=dossier.id,
            at=received_at,  # the history's first line is the receipt, when it happened (not when it was entered)
            from_status=None,
            to_status=dossier.status,
            actor=actor,
            note="Tiếp nhận hồ sơ",
        )
        session.add(event)
        await session.flush()
        if notify:
            await self._run_hooks(session, DossierChange(kind="created", dossier=dossier, event=event))
        return dossier

    async def _insert_with_code(
        self, session: AsyncSession, dossier: Dossier, code: str | None, received_at: datetime
    ) -> None:
        if code is not None:
            code = code.strip()
            key = code_key(code)
            if not key or len(code) > 40:
                raise InvalidInput("code must have 1–40 letters or digits", code="invalid_code")
            if await self.find_by_key(session, key) is not None:
                raise Conflict(f"A dossier with code {code!r} already exists", code="duplicate_code")
            if not is_valid_code(code):
                raise DomainError(
                    "code may contain only letters, digits and single '-', '_', '/' or '.' between them",
                    code="invalid_code",
                )
            dossier.code, dossier.code_key = code, key
            try:
                async with session.begin_nested():
                    session.add(dossier)
                    await session.flush()
            except IntegrityError:
                raise Conflict(f"A dossier with code {code!r} already exists", code="duplicate_code") from None
            return
        day = self.calendar.local(received_at).date()
        prefix = code_prefix(self.code_pattern, centre=self.centre_code, day=day)
        for _attempt in range(20):
            seq = await self._next_sequence(session, prefix)
            dossier.code = format_code(self.code_pattern, centre=self.centre_code, day=day, seq=seq)
            dossier.code_key = code_key(dossier.code)
            try:
                async with session.begin_nested():
                    session.add(dossier)
                    await session.flush()
                return
            except IntegrityError:
                # Another writer took this number (or the import key exists): look again.
                if dossier.import_key and await self._import_key_exists(session, dossier.import_key):
                    raise Conflict("this row was imported before", code="duplicate_import") from None
                continue
        raise Conflict("could not allocate a dossier code; try again", code="code_allocation")

    async def _next_sequence(self, session: AsyncSession, prefix: str) -> int:
        result = await session.execute(
            select(func.max(Dossier.code)).where(Dossier.code.startswith(prefix, autoescape=True))
        )
        last = result.scalar_one_or_none()
        if not last:
            return 1
        tail = last[len(prefix) :]
        digits = "".join(ch for ch in tail if ch.isdigit())
        return int(digits) + 1 if digits else 1

    async def _import_key_exists(self, session: AsyncSession, key: str) -> bool:
        return await self.find_by_import_key(session, key) is not None

    async def find_by_import_key(self, session: AsyncSession, key: str) -> Dossier | None:
        result = await session.execute(select(Dossier).where(Dossier.import_key == key))
        return result.scalar_one_or_none()

    # --- lookups -----------------------------------------------------------------------------------

    async def find_by_key(self, session: AsyncSession, key: str) -> Dossier | None:
        result = await session.execute(select(Dossier).where(Dossier.code_key == key))
        return result.scalar_one_or_none()

    async def get(self, session: AsyncSession, code: str) -> Dossier:
        """The dossier with this code as a person typed it; NotFound otherwise."""
        key = code_key(code)
        dossier = await self.find_by_key(session, key) if key else None
        if dossier is None:
            raise NotFound(f"No dossier with code {code!r}", code="dossier_not_found")
        return dossier

    async def find_in_text(self, session: AsyncSession, text: str) -> Dossier | None:
        """The dossier whose code appears in a free-text message, if any."""
        keys = candidate_keys(text)
        if not keys:
            return None
        result = await session.execute(select(Dossier).where(Dossier.code_key.in_(keys)))
        found = {d.code_key: d for d in result.scalars()}
        for key in keys:  # longest match first
            if key in found:
                return found[key]
        return None

    async def events(self, session: AsyncSession, dossier_id: int) -> list[DossierEvent]:
        result = await session.execute(
            select(DossierEvent).where(DossierEvent.dossier_id == dossier_id).order_by(DossierEvent.id)
        )
        return list(result.scalars())

    async def list(
        self, session: AsyncSession, flt: DossierFilter, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[Dossier], int]:
        """A page of dossiers (newest first) and the total matching the filter."""
        conditions = _conditions(flt)
        total = (await session.execute(select(func.count(Dossier.id)).where(*conditions))).scalar_one()
        result = await session.execute(
            select(Dossier)
            .where(*conditions)
            .order_by(Dossier.received_at.desc(), Dossier.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(result.scalars()), int(total)

    # --- changes -----------------------------------------------------------------------------------

    async def change(
        self,
        session: AsyncSession,
        dossier: Dossier,
        *,
        actor: str,
        status: str | None = None,
        note: str | None = None,
        new_due_at: datetime | None = None,
        request_key: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[Dossier, bool]:
        """Change status and/or postpone; returns (dossier, changed). Retries change nothing."""
        extra = dict(extra or {})
        if request_key is not None:
            seen = await session.execute(
                select(DossierEvent.id).where(
                    DossierEvent.dossier_id == dossier.id, DossierEvent.request_key == request_key
                )
            )
            if seen.first() is not None:
                return dossier, False
        if status is None and new_due_at is None:
            raise InvalidInput("give a status, a new_due_at, or both", code="nothing_to_change")
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", code="invalid_status")
        now = self.clock()
        changed = False
        if new_due_at is not None:
            changed |= await self._postpone(session, dossier, new_due_at, actor, note, request_key, now, extra)
            request_key = None if changed else request_key
        if status is not None and status != dossier.status:
            if not can_transition(dossier.status, status):
                raise Conflict(
                    f"Cannot change dossier {dossier.code} from {dossier.status} "
                    f"({status_label(dossier.status)}) to {status} ({status_label(status)})",
                    code="illegal_transition",
                )
            previous = dossier.status
            dossier.status = status
            if status in (DossierStatus.RESULT_READY, DossierStatus.REJECTED) and dossier.resolved_at is None:
                dossier.resolved_at = now
            if status == DossierStatus.RETURNED:
                dossier.returned_at = now
                if dossier.resolved_at is None:
                    dossier.resolved_at = now
            if status == DossierStatus.NEEDS_SUPPLEMENT:
                deadline = extra.get("supplement_deadline")
                dossier.supplement_deadline = deadline if isinstance(deadline, datetime) else None
            dossier.updated_at = now
            event = DossierEvent(
                dossier_id=dossier.id,
                at=now,
                from_status=previous,
                to_status=status,
                actor=actor,
                note=note,
                request_key=request_key,
                data=_jsonable(extra) or None,
            )
            session.add(event)
            await session.flush()
            await self._run_hooks(
                session,
                DossierChange(kind="status", dossier=dossier, event=event, previous_status=previous, extra=extra),
            )
            changed = True
        return dossier, changed

    async def _postpone(
        self,
        session: AsyncSession,
        dossier: Dossier,
        new_due_at: datetime,
        actor: str,
        note: str | None,
        request_key: str | None,
        now: datetime,
        extra: dict[str, Any],
    ) -> bool:
        if dossier.status in FINAL_STATUSES or dossier.status in RESOLVED_STATUSES:
            raise Conflict(
                f"Dossier {dossier.code} is {status_label(dossier.status)}; it cannot be postponed",
                code="illegal_postponement",
            )
        if new_due_at <= dossier.due_at:
            raise InvalidInput("new_due_at must be later than the current appointment", code="invalid_new_due_at")
        previous_due = dossier.due_at
        dossier.due_at = new_due_at
        dossier.updated_at = now
        event = DossierEvent(
            dossier_id=dossier.id,
            at=now,
            from_status=dossier.status,
            to_status=dossier.status,
            actor=actor,
            note=note,
            request_key=request_key,
            data={"previous_due_at": previous_due.isoformat(), "new_due_at": new_due_at.isoformat()},
        )
        session.add(event)
        await session.flush()
        await self._run_hooks(
            session,
            DossierChange(kind="postponed", dossier=dossier, event=event, previous_due_at=previous_due, extra=extra),
        )
        return True

    async def _run_hooks(self, session: AsyncSession, change: DossierChange) -> None:
        for hook in self.hooks:
            await hook(session, change)


def import_fingerprint(*parts: object) -> str:
    """A stable key for an imported row without a code."""
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def _conditions(flt: DossierFilter) -> list[Any]:
    conditions: list[Any] = []
    if flt.status:
        conditions.append(Dossier.status.in_(list(flt.status)))
    if flt.department_id:
        conditions.append(Dossier.department_id == flt.department_id)
    if flt.procedure_id:
        conditions.append(Dossier.procedure_id == flt.procedure_id)
    if flt.channel:
        conditions.append(Dossier.channel == flt.channel)
    if flt.due_before:
        conditions.append(Dossier.due_at < flt.due_before)
    if flt.due_after:
        conditions.append(Dossier.due_at >= flt.due_after)
    if flt.received_from:
        conditions.append(Dossier.received_at >= flt.received_from)
    if flt.received_to:
        conditions.append(Dossier.received_at < flt.received_to)
    if flt.overdue_at:
        conditions.append(Dossier.status.in_(_OPEN_FOR_OVERDUE))
        conditions.append(Dossier.due_at < flt.overdue_at)
    return conditions


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}


_OPEN_FOR_OVERDUE = (
    DossierStatus.RECEIVED.value,
    DossierStatus.IN_PROGRESS.value,
    DossierStatus.NEEDS_SUPPLEMENT.value,
    DossierStatus.AWAITING_PAYMENT.value,
    DossierStatus.SUSPENDED.value,
)
