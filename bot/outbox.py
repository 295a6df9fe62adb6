"""The outbox worker: claims due messages, sends them through the channel's sender, records the verdict.

* One chat's messages go out in order, one at a time (`claim_due(in_order=True)`); a chat that waits
  (Telegram 429 `retry_after`, its own rate limit, back-off) holds up no other chat.
* Rate limits live in the `StateStore`, so all replicas share them: an overall pace per channel
  (`rate_per_second`, messages spaced evenly, booked up to a second ahead) and a minimum spacing per
  recipient (`per_recipient_per_second`). A worker that finds a channel booked up claims none of that
  channel's messages until slots free up (a backlog of SMS alerts holds up no chat reply), and wakes when
  the messages it put off fall due, not at the next poll.
* A worker claims the channels it has a sender for. A message on a channel no replica can send (not
  configured anywhere) is claimed by any worker once it has waited `orphan_grace_seconds`, and so retried
  and failed visibly rather than left pending.
* A failed attempt is retried after an exponential back-off with jitter; after `OUTBOX_MAX_ATTEMPTS` the
  message is `failed` (counted in `/metrics`, listed by `GET /api/v1/outbox?status=failed`). A user who
  blocked the bot or cannot be reached makes the message `undeliverable` and the contact is marked.
* Sending is at least once: a worker that dies after the platform accepted a message but before the
  verdict is stored leaves the message to be sent again after its lease. Idempotency keys make sure a
  logical message is only ever one row. To keep that window small, each verdict is stored as soon as it is
  known, storing is retried while the database is briefly away, and a send never starts so late that it
  could outlive its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from aiohttp import web
from sqlalchemy import update as sql_update

from bot import keys
from bot.channels.base import SENDERS, Sender, SendOutcome
from bot.http import json_response, principal_of
from bot.metrics import Metrics
from storage.contacts import mark_blocked
from storage.db import SessionMaker
from storage.errors import DomainError, Forbidden, is_unavailable
from storage.models import OutboxMessage, utcnow
from storage.outbox import (
    FAILED,
    REROUTED,
    UNDELIVERABLE,
    claim_due,
    list_messages,
    mark_deferred,
    mark_given_up,
    mark_retry,
    mark_sent_many,
)
from storage.state import StateStore

log = logging.getLogger(__name__)

# A platform call that takes longer than this is abandoned and retried (well inside the lease).
SEND_TIMEOUT_SECONDS = 30.0
# A send starts only with this much lease left beyond the send timeout (time to store the verdict);
# a quarter of the lease when that is shorter.
LEASE_MARGIN_SECONDS = 1.0


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delay before attempt `attempt + 1`: base·2^(attempt−1), capped, with "equal jitter" (½ to 1×)."""
    rng = rng or random.Random()
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return delay / 2 + rng.uniform(0, delay / 2)


# How far ahead the overall pace of a channel may be booked: a message whose slot is within this waits for it
# in the worker; beyond it the message is put off (and rewritten) instead.
PACING_HORIZON_SECONDS = 1.0
# Messages are paced this much under the configured rate: a send leaves a few milliseconds late or early,
# and exactly at the rate that jitter puts one too many into some second of the platform's count.
PACING_HEADROOM = 0.97


@dataclass(frozen=True)
class Slot:
    """The rate limiter's answer for one message."""

    send_in: float = 0.0  # a slot is reserved: send after this many seconds
    retry_in: float | None = None  # no slot: put the message off this long
    channel_full: bool = False  # ... because the channel's pace is booked up (not this recipient's spacing)


class RateLimiter:
    """Shared rate limits: an overall pace per channel and a minimum spacing per recipient.

    The overall limit paces messages `1 / rate_per_second` apart (GCRA in the state store), so no sliding
    second ever holds more than the rate, across any number of replicas — unlike a fixed one-second window,
    which lets up to twice the rate through around each window edge.
    """

    def __init__(self, state: StateStore, clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self.clock = clock

    async def wait_for(self, channel: str, recipient: str, overall: float | None, per_recipient: float | None) -> Slot:
        """Take a sending slot for one message to `recipient` on `channel`."""
        if per_recipient and per_recipient > 0:
            interval = 1.0 / per_recipient
            key = self.state.keys.build("outbox", "slot", channel, recipient)
            if not await self.state.set_if_absent(key, 1, ttl=interval):
                return Slot(retry_in=interval)
        if overall and overall > 0:
            key = self.state.keys.build("outbox", "pace", channel)
            reserved, delay = await self.state.reserve_slot(
                key, interval=1.0 / (overall * PACING_HEADROOM), horizon=PACING_HORIZON_SECONDS, now=self.clock()
            )
            if not reserved:
                # Booked `delay` ahead: come back when little of that is left, to book the next stretch.
                return Slot(retry_in=max(0.05, delay - 0.1), channel_full=True)
            return Slot(send_in=delay)
        return Slot()


@dataclass(frozen=True)
class Verdict:
    """What to record for one claimed message after its attempt."""

    action: Literal["sent", "retry", "defer", "failed", "undeliverable", "reroute"]
    until: datetime | None = None
    error: str | None = None
    platform_message_id: str | None = None
    reason: str = ""
    block: bool = False  # the recipient cannot be reached on this channel: mark the contact


# Given a refused row's payload and the refusal, queue the row's next path in the session (None) or say why
# there is none (the row is then recorded undeliverable). `handlers.delivery.Delivery.reroute` in the app.
Rerouter = Callable[[Any, dict[str, Any], str], Awaitable[str | None]]


@dataclass(frozen=True)
class Claimed:
    """The fields of a claimed row the worker needs (kept apart from the ORM session)."""

    id: int
    channel: str
    recipient: str
    payload: dict[str, Any]
    attempts: int
    lease_until: datetime
    kind: str = "reply"

    @classmethod
    def of(cls, row: OutboxMessage) -> Claimed:
        assert row.locked_until is not None
        return cls(row.id, row.channel, row.recipient, dict(row.payload), row.attempts, row.locked_until, row.kind)


class OutboxWorker:
    """Drains the outbox of this database; any number of replicas may run one each."""

    def __init__(
        self,
        *,
        sessionmaker: SessionMaker,
        state: StateStore,
        senders: Callable[[], dict[str, Sender]],
        metrics: Metrics | None,
        batch_size: int = 50,
        lease_seconds: float = 60.0,
        max_attempts: int = 8,
        backoff_seconds: float = 2.0,
        backoff_max_seconds: float = 900.0,
        poll_interval: float = 0.5,
        write_gate: AbstractAsyncContextManager[Any] | None = None,
        rng: random.Random | None = None,
        max_in_flight: int = 32,
        orphan_grace_seconds: float = 120.0,
        rerouter: Rerouter | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.clock = clock  # when messages are due (a test's fake clock moves the day)
        self.sessionmaker = sessionmaker
        self.rerouter = rerouter
        self.senders = senders
        self.metrics = metrics
        self.limiter = RateLimiter(state)
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.poll_interval = poll_interval
        self.gate = write_gate or contextlib.nullcontext()
        self.rng = rng or random.Random()
        self.send_timeout = min(SEND_TIMEOUT_SECONDS, lease_seconds / 2)
        self.orphan_grace = timedelta(seconds=orphan_grace_seconds)
        self.margin = timedelta(seconds=min(LEASE_MARGIN_SECONDS, lease_seconds / 4))
        self._in_flight = asyncio.Semaphore(max(1, max_in_flight))
        self._wake = asyncio.Event()
        # When the messages this worker put off or rescheduled fall due again (a heap, soonest first): an
        # idle worker looks then rather than up to a whole poll interval later (slots freeing up, say).
        self._due: list[datetime] = []
        self._looked_at = self.clock()  # the `now` of the last claim
        # Channels whose overall pace is booked up, until when: not claimed meanwhile (a backlog of SMS
        # alerts does not hold up chat replies, and is not rewritten row by row every second).
        self._full: dict[str, datetime] = {}
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    # --- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-worker")

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand (bounded by `timeout`), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    def wake(self) -> None:
        """New messages were enqueued in this process: look now rather than at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                handled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away, say: wait and try again
                log.warning("outbox worker: %s; retrying", type(exc).__name__, exc_info=log.isEnabledFor(10))
                handled = 0
                await asyncio.sleep(self.poll_interval)
            if handled == 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_timeout())

    def _idle_timeout(self) -> float:
        """How long an idle worker waits for a wake-up: the poll interval, or less when a message it put
        off is due sooner."""
        # Only what was due when the last round looked has been seen to: a message that fell due while
        # that round's claim ran is still waiting, so look again at once.
        while self._due and self._due[0] <= self._looked_at:
            heapq.heappop(self._due)
        if not self._due:
            return self.poll_interval
        return max(0.0, min(self.poll_interval, (self._due[0] - self.clock()).total_seconds()))

    # --- one round -------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim one batch of due messages, attempt them, record the verdicts; returns the batch size.

        Each verdict is stored as soon as it is known (those that arrive together in one transaction), not
        when the whole batch is done: a slow or hanging send holds up no other message's verdict, and a
        replica that dies leaves only the messages actually in flight to be sent again.
        """
        senders = self.senders()
        now = self._looked_at = self.clock()
        self._full = {channel: until for channel, until in self._full.items() if until > now}
        own = [channel for channel in senders if channel not in self._full]
        async with self.gate, self.sessionmaker.begin() as session:
            rows = []
            if own:
                rows = await claim_due(
                    session, limit=self.batch_size, lease=self.lease, in_order=True, channels=own, now=now
                )
            if len(rows) < self.batch_size:
                # Channels this replica cannot send on are left to the replicas that can; what none of them
                # took for a while is claimed here so that it fails visibly instead of waiting forever.
                rows += await claim_due(
                    session,
                    limit=self.batch_size - len(rows),
                    lease=self.lease,
                    in_order=True,
                    skip_channels=list(senders),
                    now=now,
                    due_before=now - self.orphan_grace,
                )
            claimed = [Claimed.of(row) for row in rows]
        if not claimed:
            return 0
        attempts = {asyncio.create_task(self._bounded_attempt(row, senders.get(row.channel))): row for row in claimed}
        pending: set[asyncio.Task[Verdict]] = set(attempts)
        failure: Exception | None = None
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                try:
                    await self._record_durably([(attempts[task], task.result()) for task in done])
                except Exception as exc:  # the database is gone: the leases give these rows back later
                    failure = exc
        finally:
            for task in pending:
                task.cancel()
        if failure is not None:
            raise failure
        return len(claimed)

    async def _bounded_attempt(self, row: Claimed, sender: Sender | None) -> Verdict:
        """Never raises: whatever happens becomes a verdict.

        A batch's attempts overlap, but not all at once: the state store and the platforms have connection
        pools (redis-py refuses a command beyond its pool instead of waiting). Waiting for a reserved slot
        happens outside that bound, so a paced channel does not hold up the others.
        """
        async with self._in_flight:
            ready = await self._take_slot(row, sender)
        if isinstance(ready, Verdict):
            return ready
        assert sender is not None
        if ready > 0:
            await asyncio.sleep(ready)
        async with self._in_flight:
            return await self._send(row, sender)

    async def _take_slot(self, row: Claimed, sender: Sender | None) -> Verdict | float:
        """The seconds until this message may go (a slot is reserved for it), or why it does not go now."""
        now = self.clock()
        if sender is None:
            return self._retry_verdict(row, now, f"no sender for channel {row.channel!r}", None)
        if self._too_late(row, now):
            return Verdict("defer", until=now)
        full_until = self._full.get(row.channel)
        if full_until is not None and full_until > now:  # another message of this batch found the pace booked up
            return Verdict("defer", until=full_until + timedelta(seconds=self.rng.uniform(0.0, 0.05)))
        try:
            slot = await self.limiter.wait_for(
                row.channel, row.recipient, sender.rate_per_second, sender.per_recipient_per_second
            )
        except Exception as exc:  # the shared rate limits are unreachable (Redis down): wait, don't flood
            log.warning("outbox: rate limits unavailable (%s); message %s waits", type(exc).__name__, row.id)
            return Verdict("defer", until=now + timedelta(seconds=self.rng.uniform(1.0, 2.0)))
        if slot.retry_in is not None:
            until = now + timedelta(seconds=slot.retry_in)
            if slot.channel_full:
                self._full[row.channel] = max(until, self._full.get(row.channel, until))
                self._remember_due(until)  # an idle worker looks again when slots free up
            return Verdict("defer", until=until + timedelta(seconds=slot.retry_in * self.rng.uniform(0.0, 0.1)))
        if self._too_late(row, now, wait=slot.send_in):
            return Verdict("defer", until=now + timedelta(seconds=slot.send_in))  # the slot goes unused
        return slot.send_in

    def _too_late(self, row: Claimed, now: datetime, wait: float = 0.0) -> bool:
        """Waited too long to start: a send `wait` seconds from now could outlive the lease and be repeated
        by another worker. Such a message is handed back instead (no attempt counted)."""
        return row.lease_until - now < timedelta(seconds=wait + self.send_timeout) + self.margin

    async def _send(self, row: Claimed, sender: Sender) -> Verdict:
        now = self.clock()
        if self._too_late(row, now):
            return Verdict("defer", until=now)
        try:
            outcome = await asyncio.wait_for(sender.send(row.recipient, row.payload), self.send_timeout)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            outcome = SendOutcome("retry", error="timed out")
        except Exception as exc:  # a sender should not raise; treat it as a transient failure
            log.warning("outbox: %s sender raised %s for message %s", row.channel, type(exc).__name__, row.id)
            outcome = SendOutcome("retry", error=f"sender raised {type(exc).__name__}")
        return self._verdict(row, outcome)

    def _verdict(self, row: Claimed, outcome: SendOutcome) -> Verdict:
        now = self.clock()
        if outcome.status == "sent":
            return Verdict("sent", platform_message_id=outcome.platform_message_id)
        if outcome.status == "blocked":
            error = outcome.error or "recipient unreachable"
            if self._has_next_path(row):
                return Verdict("reroute", error=error, reason="blocked", block=True)
            return Verdict("undeliverable", error=error, reason="blocked", block=True)
        if outcome.status == "reroute":
            # This path is closed for the message (e.g. Zalo's window), the recipient is not to blame.
            error = outcome.error or "refused on this path"
            if self._has_next_path(row):
                return Verdict("reroute", error=error, reason="rerouted")
            return Verdict("undeliverable", error=error, reason="refused_path")
        if outcome.status == "failed":
            return Verdict("failed", error=outcome.error or "refused by the platform", reason="refused")
        if outcome.not_before is not None:
            # The platform said from when (sending hours, tomorrow's quota): no attempt counted.
            if self.metrics is not None and outcome.reason:
                self.metrics.outbox_deferred.labels(channel=row.channel, reason=outcome.reason).inc()
            return Verdict("defer", until=max(outcome.not_before, now), error=outcome.error)
        if outcome.retry_after is not None and outcome.retry_after > 0:
            # The platform said when: wait exactly that (plus a little jitter), without counting an attempt.
            delay = outcome.retry_after * self.rng.uniform(1.0, 1.1)
            return Verdict("defer", until=now + timedelta(seconds=delay), error=outcome.error)
        return self._retry_verdict(row, now, outcome.error or "transient failure", None)

    def _has_next_path(self, row: Claimed) -> bool:
        return self.rerouter is not None and isinstance(row.payload.get("notice"), dict)

    def _retry_verdict(self, row: Claimed, now: datetime, error: str, reason: str | None) -> Verdict:
        attempt = row.attempts + 1
        if attempt >= self.max_attempts:
            return Verdict("failed", error=f"gave up after {attempt} attempts: {error}", reason="max_attempts")
        delay = backoff_delay(attempt, self.backoff_seconds, self.backoff_max_seconds, self.rng)
        return Verdict("retry", until=now + timedelta(seconds=delay), error=error)

    async def _record_durably(self, results: list[tuple[Claimed, Verdict]]) -> None:
        """`_record`, tried again while the database is briefly away, as long as the leases last.

        A verdict that cannot be stored before its lease runs out is lost, and that message is attempted
        again (at least once); trying for as long as the lease allows keeps that to real outages.
        """
        deadline = min(row.lease_until for row, _verdict in results) - self.margin
        delay = 0.2
        while True:
            try:
                await self._record(results)
                self._note_due(results)
                return
            except Exception as exc:
                if not is_unavailable(exc) or self.clock() + timedelta(seconds=delay) >= deadline:
                    raise
                log.warning("outbox: storing %d verdicts failed (%s); trying again", len(results), type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)

    def _note_due(self, results: list[tuple[Claimed, Verdict]]) -> None:
        for _row, verdict in results:
            if verdict.action in ("defer", "retry") and verdict.until is not None:
                self._remember_due(verdict.until)

    def _remember_due(self, moment: datetime) -> None:
        if len(self._due) < 10_000:  # beyond that, the poll interval will do
            heapq.heappush(self._due, moment)

    async def _record(self, results: list[tuple[Claimed, Verdict]]) -> None:
        async with self.gate, self.sessionmaker.begin() as session:
            sent = [(row, verdict) for row, verdict in results if verdict.action == "sent"]
            await mark_sent_many(session, [(row.id, row.lease_until, v.platform_message_id) for row, v in sent])
            for row, verdict in sent:
                self._count(row, verdict)
            for row, verdict in results:
                if verdict.action == "sent":
                    continue
                if verdict.action == "defer":
                    assert verdict.until is not None
                    done = await mark_deferred(session, row.id, row.lease_until, verdict.until)
                elif verdict.action == "retry":
                    assert verdict.until is not None
                    done = await mark_retry(session, row.id, row.lease_until, verdict.until, verdict.error or "")
                elif verdict.action == "reroute":
                    assert self.rerouter is not None
                    error = verdict.error or "refused on this path"
                    done = await mark_given_up(session, row.id, row.lease_until, REROUTED, error)
                    if done:
                        left = await self.rerouter(session, row.payload, error)
                        if left is not None:  # no path left: this row is where the notice ends
                            await session.execute(
                                sql_update(OutboxMessage)
                                .where(OutboxMessage.id == row.id)
                                .values(status=UNDELIVERABLE, last_error=left[:2000])
                                .execution_options(synchronize_session=False)
                            )
                        if verdict.block:
                            await mark_blocked(session, row.channel, row.recipient, error)
                else:
                    status = FAILED if verdict.action == "failed" else UNDELIVERABLE
                    done = await mark_given_up(session, row.id, row.lease_until, status, verdict.error or status)
                    if done and verdict.block:
                        await mark_blocked(session, row.channel, row.recipient, verdict.error or "undeliverable")
                if not done:
                    log.warning("outbox: lease on message %s expired before its verdict was stored", row.id)
                    continue
                self._count(row, verdict)

    def _count(self, row: Claimed, verdict: Verdict) -> None:
        if verdict.action in ("failed", "undeliverable"):
            log.warning("outbox: message %s on %s is %s: %s", row.id, row.channel, verdict.action, verdict.error)
        if self.metrics is None:
            return
        if verdict.action == "sent":
            self.metrics.outbox_sent.labels(channel=row.channel).inc()
        elif verdict.action in ("failed", "undeliverable"):
            self.metrics.outbox_failed.labels(channel=row.channel, reason=verdict.reason).inc()


# --- the API view of the outbox -------------------------------------------------------------------

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "undeliverable", "rerouted")


async def list_outbox(request: web.Request) -> web.Response:
    """`GET /api/v1/outbox?status=failed&channel=telegram&limit=100` (admin): messages, newest first."""
    principal = principal_of(request)
    if principal.role != "admin":
        raise Forbidden("Listing the outbox needs the admin role", code="wrong_role")
    status = request.query.get("status")
    if status is not None and status not in OUTBOX_STATUSES:
        raise DomainError(f"status must be one of {', '.join(OUTBOX_STATUSES)}", code="invalid_field")
    try:
        limit = max(1, min(500, int(request.query.get("limit", "100"))))
    except ValueError:
        raise DomainError("limit must be a number", code="invalid_field") from None
    async with request.app[keys.SESSIONMAKER]() as session:
        rows = await list_messages(session, status=status, channel=request.query.get("channel"), limit=limit)
    return json_response(
        {
            "items": [
                {
                    "id": row.id,
                    "idempotency_key": row.idempotency_key,
                    "channel": row.channel,
                    "kind": row.kind,
                    "status": row.status,
                    "attempts": row.attempts,
                    "created_at": row.created_at,
                    "next_attempt_at": row.next_attempt_at,
                    "sent_at": row.sent_at,
                    "last_error": row.last_error,
                    "dossier_id": row.dossier_id,
                }
                for row in rows
            ]
        }
    )


def senders_of(app: web.Application) -> Callable[[], dict[str, Sender]]:
    """The app's sender registry, read at each round (features register senders while starting)."""

    def current() -> dict[str, Sender]:
        return app.get(SENDERS, {})

    return current


__all__ = ["OUTBOX_STATUSES", "OutboxWorker", "RateLimiter", "Slot", "backoff_delay", "list_outbox", "senders_of"]
