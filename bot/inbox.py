"""The inbox: webhooks store updates before acknowledging them; workers handle each stored update once.

* `InboxWriter.store` is what a webhook awaits before answering 200. Concurrent requests are written
  together (group commit: one transaction for every update that arrived while the previous one was being
  written), so a burst costs a few transactions, not one per update.
* `InboxWorkers` claim rows (oldest open row per chat, for a lease), turn each into an `IncomingMessage`
  through the channel's `InboxAdapter`, run the pipeline, and then in ONE transaction: check the lease is
  still theirs, mark the row done, upsert the chat's contact and enqueue the replies (idempotency keys
  `reply:<inbox id>:<n>`). A crash before that commit leaves the row to be claimed again after its lease;
  after it, the replies are in the outbox. Nothing is lost and no reply is enqueued twice.
* A row whose handling keeps failing is retried with back-off and, after `INBOX_MAX_ATTEMPTS`, marked
  `failed` with an apology to the citizen, so one bad update never blocks its chat. A failure because Redis
  or the database is unavailable is not the update's fault: the batch is given back for a moment later,
  without counting an attempt, however long the outage lasts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy import update as sql_update
from sqlalchemy.exc import DataError, DBAPIError

from bot.metrics import Metrics
from bot.outbox import backoff_delay
from bot.pipeline import Pipeline
from handlers.base import IncomingMessage, Reply
from storage.contacts import note_inbound, touch_contacts
from storage.db import SessionMaker
from storage.errors import is_unavailable
from storage.inbox import (
    FAILED,
    ClaimedUpdate,
    NewUpdate,
    claim_updates,
    finish_update,
    finish_updates,
    release_updates,
    retry_update,
    store_updates,
)
from storage.models import ChatContact
from storage.outbox import OutgoingMessage, enqueue
from storage.phones import normalise_phone

log = logging.getLogger(__name__)


class WriteGate:
    """SQLite has one writer: our write transactions queue here, not in SQLite's busy-wait loop.

    Webhook writes (`urgent()`) go before worker writes, so an acknowledgement waits for at most the
    transaction in progress. On PostgreSQL (`serialise=False`) the gate lets everyone through.
    """

    def __init__(self, serialise: bool = True) -> None:
        self.serialise = serialise
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    async def acquire(self, urgent: bool = False) -> None:
        if not self.serialise:
            return
        if not self._held and not self._urgent and (urgent or not self._normal):
            self._held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._normal
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the gate was handed to us as we were cancelled: pass it on
            else:
                queue.remove(waiter)
            raise

    def release(self) -> None:
        if not self.serialise:
            return
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # handed over: the gate stays held
                    return
        self._held = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    @contextlib.asynccontextmanager
    async def urgent(self) -> AsyncIterator[None]:
        """Hold the gate ahead of every waiting worker."""
        await self.acquire(urgent=True)
        try:
            yield
        finally:
            self.release()


class InboxAdapter(Protocol):
    """Turns one channel's stored updates into messages (Telegram, Zalo)."""

    channel: str

    async def to_message(self, payload: dict[str, Any]) -> IncomingMessage | None:
        """The message in a stored update, or None for an update that needs no handling."""
        ...

    async def after_handled(self, payload: dict[str, Any]) -> None:
        """Platform courtesies once handled (e.g. answering a Telegram callback query); best effort."""
        ...


def create_write_gate(dialect: str) -> WriteGate:
    """A serialising gate for SQLite, an open one for PostgreSQL."""
    return WriteGate(serialise=dialect == "sqlite")


class InboxWriter:
    """Stores webhook updates with group commit; `store` returns True when the update was new."""

    def __init__(self, sessionmaker: SessionMaker, gate: WriteGate, max_batch: int = 500) -> None:
        self.sessionmaker = sessionmaker
        self.gate = gate
        self.max_batch = max_batch
        self._queue: list[tuple[NewUpdate, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def store(self, update: NewUpdate) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((update, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="inbox-writer")
        return await future

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            unique: dict[tuple[str, str], NewUpdate] = {}
            for update, _ in batch:
                unique.setdefault((update.channel, update.update_key[:128]), update)
            try:
                async with self.gate.urgent(), self.sessionmaker.begin() as session:
                    new = await store_updates(session, list(unique.values()))
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for update, future in batch:
                key = (update.channel, update.update_key[:128])
                is_new = key in new
                new.discard(key)  # a second copy in the same batch is a duplicate
                if not future.done():
                    future.set_result(is_new)

    async def close(self) -> None:
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher


def _private(msg: IncomingMessage | None) -> bool:
    return msg is not None and msg.chat_type == "private"


@dataclass
class _Outcome:
    row: ClaimedUpdate
    msg: IncomingMessage | None
    replies: list[Reply] | None  # None: handling raised
    error: str | None = None
    unavailable: bool = False  # a backing service was down: try again later, no attempt counted


class InboxWorkers:
    """A pool of workers handling stored updates through the pipeline."""

    def __init__(
        self,
        *,
        sessionmaker: SessionMaker,
        pipeline: Pipeline,
        adapters: dict[str, InboxAdapter],
        metrics: Metrics | None = None,
        workers: int = 4,
        batch_size: int = 50,
        lease_seconds: float = 30.0,
        max_attempts: int = 5,
        backoff_seconds: float = 2.0,
        backoff_max_seconds: float = 900.0,
        poll_interval: float = 0.5,
        write_gate: WriteGate | None = None,
        on_enqueued: Callable[[], None] | None = None,
        unavailable_delay: float = 1.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.pipeline = pipeline
        self.adapters = adapters
        self.metrics = metrics
        self.workers = max(1, workers)
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.poll_interval = poll_interval
        self.unavailable_delay = unavailable_delay
        self.gate = write_gate or WriteGate(serialise=False)
        self.on_enqueued = on_enqueued
        # Idle workers wait on their own future; a notification wakes one of them (not all: the others
        # would only find nothing to claim). `_missed` remembers a notification no idle worker took.
        self._idle: deque[asyncio.Future[None]] = deque()
        self._missed = False
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._courtesies: set[asyncio.Task[None]] = set()
        self._rng = random.Random()

    # --- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._tasks = [asyncio.create_task(self._run(), name=f"inbox-worker-{n}") for n in range(self.workers)]

    async def stop(self, timeout: float = 10.0) -> None:
        """Let the batches in hand finish (bounded by `timeout`), then stop."""
        self._stopping = True
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks = []
        for task in list(self._courtesies):
            task.cancel()
        for task in list(self._courtesies):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def notify(self) -> None:
        """An update was stored in this process: one idle worker looks now rather than at the next poll."""
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._missed = True  # every worker is busy: the next to finish looks again before waiting

    async def _wait(self) -> None:
        if self._missed:
            self._missed = False
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._idle.append(waiter)
        try:
            await asyncio.wait_for(waiter, self.poll_interval)
        except TimeoutError:
            pass
        finally:
            if waiter in self._idle:
                self._idle.remove(waiter)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                handled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("inbox worker: %s; retrying", type(exc).__name__, exc_info=log.isEnabledFor(10))
                handled = 0
                await asyncio.sleep(self.poll_interval)
            if handled == 0 and not self._stopping:
                await self._wait()

    # --- one round -------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim a batch, handle it, commit the results; returns how many rows were claimed."""
        async with self.gate, self.sessionmaker.begin() as session:
            claimed = await claim_updates(
                session, limit=self.batch_size, lease=self.lease, channels=list(self.adapters)
            )
        if not claimed:
            return 0
        if len(claimed) == self.batch_size:
            self.notify()  # more may be waiting: let an idle worker look too
        outcomes: list[_Outcome] = []
        try:
            for row in claimed:
                outcome = await self._handle(row)
                outcomes.append(outcome)
                if outcome.unavailable:
                    # Redis or the database is down: the rest of the batch would fail the same way (each
                    # after a connect timeout, maybe past the lease). Give them all back for later.
                    outcomes.extend(
                        _Outcome(other, None, None, outcome.error, unavailable=True)
                        for other in claimed[len(outcomes) :]
                    )
                    break
                await asyncio.sleep(0)  # handlers are CPU-bound: let webhooks be acknowledged in between
        except asyncio.CancelledError:
            await self._release([row for row in claimed if row.id not in {o.row.id for o in outcomes}])
            raise
        try:
            enqueued = await self._commit(outcomes)
        except DBAPIError as exc:
            if not _refused_data(exc):
                raise
            # One update carries something the database refuses (an over-long id, a NUL character): commit the
            # others one by one and give that one up, or it would fail its whole batch again at every lease.
            enqueued = await self._commit_one_by_one(outcomes)
        if enqueued and self.on_enqueued is not None:
            self.on_enqueued()
        for outcome in outcomes:
            if outcome.replies is not None:
                self._courtesy(outcome.row)
        return len(claimed)

    async def _handle(self, row: ClaimedUpdate) -> _Outcome:
        msg: IncomingMessage | None = None
        try:
            msg = await self.adapters[row.channel].to_message(row.payload)
            if row.attempts > self.max_attempts:
                # Claimed again and again without finishing (its worker died each time): give up on it.
                return _Outcome(row, msg, None, f"abandoned after {row.attempts - 1} unfinished claims")
            replies = await self.pipeline.respond(msg) if msg is not None else []
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            if is_unavailable(exc):
                log.warning(
                    "inbox: update %s (%s) waits: a backing service is unavailable (%s)",
                    row.id,
                    row.channel,
                    type(exc).__name__,
                )
                return _Outcome(row, msg, None, error, unavailable=True)
            log.exception("inbox: handling update %s (%s) failed", row.id, row.channel)
            return _Outcome(row, msg, None, error)
        return _Outcome(row, msg, replies)

    async def _commit(self, outcomes: Sequence[_Outcome]) -> int:
        """One transaction for the batch: finish the rows still ours, upsert contacts, enqueue replies."""
        answered: list[tuple[ClaimedUpdate, IncomingMessage | None, list[Reply]]] = []
        async with self.gate, self.sessionmaker.begin() as session:
            handled = [o for o in outcomes if o.replies is not None]
            finished = await finish_updates(session, [o.row for o in handled])
            for outcome in handled:
                if outcome.row.id in finished:
                    assert outcome.replies is not None
                    answered.append((outcome.row, outcome.msg, outcome.replies))
                else:
                    log.warning("inbox: lease on update %s expired; another worker has it", outcome.row.id)
            for outcome in outcomes:
                if outcome.replies is None and await self._failed(session, outcome):
                    apology = [self.pipeline.error_reply()] if _private(outcome.msg) else []
                    answered.append((outcome.row, outcome.msg, apology))
            contacts = await touch_contacts(
                session,
                [
                    (m.channel, m.chat_id, m.user_id, m.language)
                    for _, m, _ in answered
                    if m is not None and _private(m)
                ],
            )
            outgoing: list[OutgoingMessage] = []
            for row, msg, replies in answered:
                if msg is None:
                    continue
                contact_id = contacts.get((msg.channel, msg.chat_id))
                if contact_id is not None:
                    await self._contact_news(session, contact_id, msg)
                outgoing.extend(self.pipeline.outgoing(msg, replies, f"reply:{row.id}", contact_id))
                if self.metrics is not None:
                    self.metrics.handled_messages.labels(channel=msg.channel).inc()
            return await enqueue(session, outgoing)

    async def _commit_one_by_one(self, outcomes: Sequence[_Outcome]) -> int:
        enqueued = 0
        for outcome in outcomes:
            try:
                enqueued += await self._commit([outcome])
            except DBAPIError as exc:
                if not _refused_data(exc):
                    raise
                log.error("inbox: update %s is refused by the database (%s); given up", outcome.row.id, exc.code)
                async with self.gate, self.sessionmaker.begin() as session:
                    await finish_update(
                        session, outcome.row, status=FAILED, error=f"refused by the database: {exc.code}"
                    )
        return enqueued

    async def _failed(self, session: Any, outcome: _Outcome) -> bool:
        """Retry a row whose handling raised, or give up on it; True when it was given up (apologise)."""
        row = outcome.row
        if outcome.unavailable:
            delay = self.unavailable_delay * self._rng.uniform(1.0, 1.5)
            await release_updates(session, [row], delay=timedelta(seconds=delay), error=outcome.error)
            return False
        if row.attempts < self.max_attempts:
            delay = backoff_delay(row.attempts, self.backoff_seconds, self.backoff_max_seconds, self._rng)
            await retry_update(session, row, delay=timedelta(seconds=delay), error=outcome.error or "")
            return False
        if not await finish_update(session, row, status=FAILED, error=outcome.error):
            return False
        log.error("inbox: update %s failed %s times; the citizen gets an apology", row.id, row.attempts)
        return True

    @staticmethod
    async def _contact_news(session: Any, contact_id: int, msg: IncomingMessage) -> None:
        """What this message says about the contact: they left, wrote (the reply window opens), or shared
        their own phone number."""
        values: dict[str, Any] = {}
        if msg.kind == "unfollow":
            values.update(blocked=True, blocked_reason="unfollowed")
        else:
            await note_inbound(session, contact_id, msg.received_at, msg.message_id)
        phone = normalise_phone(msg.phone) if msg.phone else None
        if phone is not None:
            values["phone"] = phone
        if values:
            await session.execute(
                sql_update(ChatContact)
                .where(ChatContact.id == contact_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    async def _release(self, rows: Sequence[ClaimedUpdate]) -> None:
        if not rows:
            return
        with contextlib.suppress(Exception):
            async with self.gate, self.sessionmaker.begin() as session:
                await release_updates(session, rows)

    def _courtesy(self, row: ClaimedUpdate) -> None:
        adapter = self.adapters.get(row.channel)
        if adapter is None:
            return
        task = asyncio.create_task(self._after(adapter, row.payload))
        self._courtesies.add(task)
        task.add_done_callback(self._courtesies.discard)

    @staticmethod
    async def _after(adapter: InboxAdapter, payload: dict[str, Any]) -> None:
        try:
            await adapter.after_handled(payload)
        except Exception as exc:
            log.debug("inbox: %s courtesy call failed: %s", adapter.channel, type(exc).__name__)


def _refused_data(exc: DBAPIError) -> bool:
    """The database refused a value (SQLSTATE class 22: too long, NUL character, out of range)."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return isinstance(exc, DataError) or (isinstance(sqlstate, str) and sqlstate.startswith("22"))


# Typed keys of what the channels set-up stores on the application.
WRITE_GATE: web.AppKey[WriteGate] = web.AppKey("write_gate")
INBOX_WRITER = web.AppKey("inbox_writer", InboxWriter)
INBOX_WORKERS = web.AppKey("inbox_workers", InboxWorkers)
INBOX_ADAPTERS: web.AppKey[dict[str, InboxAdapter]] = web.AppKey("inbox_adapters")
PIPELINE = web.AppKey("pipeline", Pipeline)


def register_adapter(app: web.Application, adapter: InboxAdapter) -> None:
    """Make `adapter` the one the inbox workers use for `adapter.channel`."""
    app.setdefault(INBOX_ADAPTERS, {})
    app[INBOX_ADAPTERS][adapter.channel] = adapter


async def store_update(app: web.Application, update: NewUpdate) -> bool:
    """Store a webhook update (True when new) and wake this process's workers."""
    is_new = await app[INBOX_WRITER].store(update)
    if is_new:
        workers = app.get(INBOX_WORKERS)
        if workers is not None:
            workers.notify()
    return is_new


__all__ = [
    "INBOX_ADAPTERS",
    "INBOX_WORKERS",
    "INBOX_WRITER",
    "PIPELINE",
    "WRITE_GATE",
    "InboxAdapter",
    "InboxWorkers",
    "InboxWriter",
    "create_write_gate",
    "register_adapter",
    "store_update",
]
