"""Scheduled work: `officer-alerts`, `citizen-reminders` and `housekeeping`, once across replicas, with catch-up.

Every replica runs an APScheduler 3 `AsyncIOScheduler` (times in the centre's time zone) that fires each
job at its time. A firing is one *occurrence* (the scheduled time it stands for); a replica runs it only
while holding the job's lease (a row in `scheduler_jobs`, conditional UPDATE, expiring — so a crashed
leader's lease lapses and another replica takes over) and only when no run since that scheduled time
finished well. Jobs only queue outbox rows with idempotency keys, so even a run repeated by hand sends
nothing twice.

Catch-up: the in-memory APScheduler job store forgets fires missed while every replica was down, so on
start and every `SCHEDULER_SWEEP_SECONDS` each replica compares the latest scheduled time of each job with
its run record and runs what was missed (the officer alert only until the counters close that day; the
reminders the same day; housekeeping always). Failed runs are retried by the same sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import keys
from bot.jobs import (
    HousekeepingTask,
    JobContext,
    JobReport,
    run_citizen_reminders,
    run_housekeeping,
    run_officer_alerts,
)
from bot.settings import Settings
from storage.calendar import WorkingCalendar
from storage.db import SessionMaker
from storage.jobs import (
    FAILED,
    INTERRUPTED,
    OK,
    acquire_lease,
    done_since,
    finish_run,
    get_job,
    job_rows,
    release_lease,
    renew_lease,
    start_run,
)
from storage.models import SchedulerJob, utcnow

log = logging.getLogger(__name__)

OFFICER_ALERTS, CITIZEN_REMINDERS, HOUSEKEEPING = "officer-alerts", "citizen-reminders", "housekeeping"
JOB_NAMES = (OFFICER_ALERTS, CITIZEN_REMINDERS, HOUSEKEEPING)
# A failed occurrence is retried by the sweep, but not more often than this.
RETRY_FAILED_AFTER = timedelta(minutes=15)
# Interval schedules count from this local moment, so every replica computes the same occurrences.
_EPOCH = datetime(2000, 1, 1)

Clock = Callable[[], datetime]
# (context, now, run by hand) → report
JobBody = Callable[[JobContext, datetime, bool], Awaitable[JobReport]]


class ScheduleError(ValueError):
    """A time or interval in the scheduler settings cannot be understood."""


def parse_time_of_day(value: str, setting: str) -> time:
    try:
        return time.fromisoformat(value.strip())
    except ValueError:
        raise ScheduleError(f"{setting} must look like 07:30, got {value!r}") from None


@dataclass(frozen=True)
class Schedule:
    """Daily at a local time, or every N minutes (counted from local midnight of 2000-01-01)."""

    tz: ZoneInfo
    at: time | None = None
    every_minutes: int | None = None

    def __post_init__(self) -> None:
        if (self.at is None) == (self.every_minutes is None):
            raise ScheduleError("a schedule is either daily at a time or every N minutes")
        if self.every_minutes is not None and self.every_minutes <= 0:
            raise ScheduleError("an interval must be at least one minute")

    def previous(self, now: datetime) -> datetime:
        """The latest scheduled time at or before `now` (aware, local)."""
        local = now.astimezone(self.tz)
        if self.at is not None:
            candidate = datetime.combine(local.date(), self.at, tzinfo=self.tz)
            return candidate if candidate <= local else candidate - timedelta(days=1)
        assert self.every_minutes is not None
        epoch = _EPOCH.replace(tzinfo=self.tz)
        step = timedelta(minutes=self.every_minutes)
        return epoch + step * ((local - epoch) // step)

    def next(self, now: datetime) -> datetime:
        """The first scheduled time after `now`."""
        if self.at is not None:
            return self.previous(now) + timedelta(days=1)
        assert self.every_minutes is not None
        return self.previous(now) + timedelta(minutes=self.every_minutes)

    def trigger(self) -> BaseTrigger:
        if self.at is not None:
            return CronTrigger(hour=self.at.hour, minute=self.at.minute, second=self.at.second, timezone=self.tz)
        return IntervalTrigger(minutes=self.every_minutes or 0, start_date=_EPOCH, timezone=self.tz)

    def describe(self) -> str:
        if self.at is not None:
            return f"daily at {self.at:%H:%M}"
        return f"every {self.every_minutes} min"

    @property
    def misfire_grace_seconds(self) -> int:
        """How late APScheduler may still fire (an event loop stalled); the sweep covers longer gaps."""
        return 3600 if self.at is not None else max(60, (self.every_minutes or 1) * 30)


@dataclass(frozen=True)
class JobSpec:
    name: str
    description: str
    schedule: Schedule
    body: JobBody
    # Given a scheduled (local) time, until when a missed occurrence is still worth running; None = always.
    catch_up_until: Callable[[datetime], datetime | None]


def create_job_specs(settings: Settings, calendar: WorkingCalendar) -> dict[str, JobSpec]:
    tz = calendar.tz

    def until_closing(scheduled: datetime) -> datetime:
        # An alert is for the officers' working day; after closing time it would only be noise.
        return datetime.combine(scheduled.date(), calendar.hours.closes, tzinfo=tz)

    def same_day(scheduled: datetime) -> datetime:
        return datetime.combine(scheduled.date() + timedelta(days=1), time(0), tzinfo=tz)

    specs = [
        JobSpec(
            OFFICER_ALERTS,
            "daily due-date alert to officer recipients, per department (working days)",
            Schedule(tz, at=parse_time_of_day(settings.officer_alert_time, "OFFICER_ALERT_TIME")),
            run_officer_alerts,
            until_closing,
        ),
        JobSpec(
            CITIZEN_REMINDERS,
            "reminders to citizens: appointment tomorrow, result not collected, supplement deadline",
            Schedule(tz, at=parse_time_of_day(settings.reminder_time, "REMINDER_TIME")),
            run_citizen_reminders,
            same_day,
        ),
        JobSpec(
            HOUSEKEEPING,
            "expire subscription tokens, prune outbox and inbox, refresh platform tokens",
            Schedule(tz, every_minutes=settings.housekeeping_interval_minutes),
            run_housekeeping,
            lambda _scheduled: None,
        ),
    ]
    return {spec.name: spec for spec in specs}


@dataclass
class RunResult:
    name: str
    status: Literal["ok", "failed", "busy", "skipped", "interrupted"]
    detail: str
    report: JobReport | None = None
    scheduled_for: datetime | None = None


@dataclass
class JobStatus:
    """A job as `motcua jobs list` shows it."""

    spec: JobSpec
    row: SchedulerJob | None
    next_run: datetime


def create_holder_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class JobRunner:
    """Runs jobs under the lease; shared by the APScheduler firings, the sweep and `motcua jobs run`."""

    ctx: JobContext
    specs: dict[str, JobSpec]
    clock: Clock
    lease: timedelta
    holder: str = field(default_factory=create_holder_id)
    _running: set[asyncio.Task[object]] = field(default_factory=set)

    @property
    def sessionmaker(self) -> SessionMaker:
        return self.ctx.sessionmaker

    def spec(self, name: str) -> JobSpec:
        try:
            return self.specs[name]
        except KeyError:
            raise ValueError(f"unknown job {name!r}; jobs are {', '.join(self.specs)}") from None

    async def run(self, name: str, *, scheduled_for: datetime | None = None, force: bool = False) -> RunResult:
        """Run one occurrence of a job if this replica gets the lease and nobody did it since `scheduled_for`.

        `force` (by hand) runs even when the occurrence was done; the idempotency keys still hold.
        """
        spec = self.spec(name)
        now = self.clock()
        async with self.sessionmaker.begin() as session:
            acquired = await acquire_lease(session, name, self.holder, now, self.lease)
        if not acquired:
            async with self.sessionmaker() as session:
                row = await get_job(session, name)
            holder = row.lease_holder if row is not None else "?"
            until = row.lease_until.isoformat() if row is not None and row.lease_until else "?"
            return RunResult(name, "busy", f"running elsewhere ({holder}, lease until {until})", None, scheduled_for)
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            return await self._run_leased(spec, now, scheduled_for, force)
        finally:
            if task is not None:
                self._running.discard(task)

    async def _run_leased(self, spec: JobSpec, now: datetime, scheduled_for: datetime | None, force: bool) -> RunResult:
        name = spec.name
        try:
            if not force and scheduled_for is not None:
                async with self.sessionmaker() as session:
                    row = await get_job(session, name)
                if done_since(row, scheduled_for):
                    async with self.sessionmaker.begin() as session:
                        await release_lease(session, name, self.holder)
                    return RunResult(name, "skipped", "already done for this occurrence", None, scheduled_for)
            async with self.sessionmaker.begin() as session:
                await start_run(session, name, self.holder, now)
        except BaseException:
            await self._finish(name, FAILED, "could not start the run")
            raise
        heartbeat = asyncio.create_task(self._heartbeat(name), name=f"lease:{name}")
        try:
            report = await spec.body(self.ctx, now, force)
        except asyncio.CancelledError:
            await asyncio.shield(self._finish(name, INTERRUPTED, "interrupted (shutdown)"))
            raise
        except Exception as exc:
            log.exception("job %s failed", name)
            await self._finish(name, FAILED, f"{type(exc).__name__}: {exc}")
            return RunResult(name, "failed", f"{type(exc).__name__}: {exc}", None, scheduled_for)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        await self._finish(name, OK, None)
        log.info("job %s: %s", name, report.summary)
        return RunResult(name, "ok", report.summary, report, scheduled_for)

    async def _finish(self, name: str, status: str, error: str | None) -> None:
        try:
            async with self.sessionmaker.begin() as session:
                await finish_run(session, name, self.holder, finished_at=self.clock(), status=status, error=error)
        except Exception:  # the lease then expires by itself; another replica takes over
            log.exception("job %s: could not record the end of the run", name)

    async def _heartbeat(self, name: str) -> None:
        """Keep the lease while the job runs (a third of the lease between renewals)."""
        interval = max(1.0, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                async with self.sessionmaker.begin() as session:
                    kept = await renew_lease(session, name, self.holder, self.clock() + self.lease)
            except Exception:
                log.warning("job %s: lease renewal failed; retrying", name, exc_info=True)
                continue
            if not kept:
                log.warning("job %s: lease lost to another replica (idempotency keys prevent duplicates)", name)
                return

    async def catch_up(self) -> list[RunResult]:
        """Run each job whose latest occurrence was missed (or failed a while ago) and is still worth it."""
        results: list[RunResult] = []
        for spec in self.specs.values():
            now = self.clock()
            scheduled = spec.schedule.previous(now)
            deadline = spec.catch_up_until(scheduled)
            if deadline is not None and now >= deadline:
                continue
            async with self.sessionmaker() as session:
                row = await get_job(session, spec.name)
            if done_since(row, scheduled):
                continue
            if (
                row is not None
                and row.last_status == FAILED
                and row.last_run_at is not None
                and row.last_run_at >= scheduled
                and row.last_finished_at is not None
                and row.last_finished_at > now - RETRY_FAILED_AFTER
            ):
                continue
            result = await self.run(spec.name, scheduled_for=scheduled)
            if result.status != "skipped":
                log.info("catch-up of %s (%s): %s", spec.name, scheduled.isoformat(), result.detail)
            results.append(result)
        return results

    async def fire(self, name: str) -> RunResult:
        """An APScheduler firing: the occurrence is the latest scheduled time."""
        return await self.run(name, scheduled_for=self.spec(name).schedule.previous(self.clock()))

    async def statuses(self) -> list[JobStatus]:
        async with self.sessionmaker() as session:
            rows = await job_rows(session)
        now = self.clock()
        return [JobStatus(spec, rows.get(spec.name), spec.schedule.next(now)) for spec in self.specs.values()]

    async def close(self) -> None:
        """Cancel runs in progress (their end is recorded as interrupted and the lease released)."""
        tasks = [t for t in self._running if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


# --- wiring ----------------------------------------------------------------------------------------------


@dataclass
class SchedulerService:
    """The scheduler feature's state on the app (created by `create_app`, opened on start-up)."""

    housekeeping_tasks: list[HousekeepingTask] = field(default_factory=list)
    runner: JobRunner | None = None
    scheduler: AsyncIOScheduler | None = None
    startup: asyncio.Task[list[RunResult]] | None = None

    def job_runner(self) -> JobRunner:
        if self.runner is None:
            raise RuntimeError("the scheduler feature is not started (open the app first)")
        return self.runner


SCHEDULER: web.AppKey[SchedulerService] = web.AppKey("scheduler", SchedulerService)


def add_housekeeping_task(app: web.Application, task: HousekeepingTask) -> None:
    """Let another feature run something with housekeeping (e.g. refresh the Zalo token ahead of expiry)."""
    app[SCHEDULER].housekeeping_tasks.append(task)


def create_zalo_token_task(app: web.Application) -> HousekeepingTask:
    """Housekeeping keeps the Zalo OA access token fresh even when nothing is sent for a day.

    `ZaloTokens.access_token()` refreshes (once across replicas, under its shared lock) when the token is
    within its refresh margin of expiry; run hourly, that is well ahead of expiry. A refusal raises, which
    marks the run failed: retried by the sweep and visible in `motcua jobs list`.
    """

    async def refresh_zalo_token(now: datetime) -> str | None:
        from bot.channels.zalo import ZALO_TOKENS

        tokens = app.get(ZALO_TOKENS)  # the one store every Zalo sender uses
        if tokens is None:
            return None  # Zalo sending is not configured
        before = tokens.refreshes
        await tokens.access_token()
        return "Zalo access token refreshed ahead of expiry" if tokens.refreshes > before else None

    return refresh_zalo_token


def create_job_runner(app: web.Application) -> JobRunner:
    from bot.app import CLOCK

    settings = app[keys.SETTINGS]
    calendar = app[keys.CALENDAR]
    ctx = JobContext(
        settings=settings,
        sessionmaker=app[keys.SESSIONMAKER],
        calendar=calendar,
        housekeeping_tasks=app[SCHEDULER].housekeeping_tasks,
    )
    return JobRunner(
        ctx=ctx,
        specs=create_job_specs(settings, calendar),
        clock=app.get(CLOCK, utcnow),
        lease=timedelta(seconds=settings.scheduler_lease_seconds),
    )


def create_scheduler(runner: JobRunner, settings: Settings) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=ZoneInfo(settings.timezone))
    for spec in runner.specs.values():
        scheduler.add_job(
            runner.fire,
            spec.schedule.trigger(),
            args=[spec.name],
            id=spec.name,
            name=spec.name,
            misfire_grace_time=spec.schedule.misfire_grace_seconds,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
    sweep = max(10, settings.scheduler_sweep_seconds)
    scheduler.add_job(
        runner.catch_up,
        IntervalTrigger(seconds=sweep),
        id="catch-up",
        name="catch-up",
        misfire_grace_time=sweep,
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )
    return scheduler


async def scheduler_context(app: web.Application) -> AsyncIterator[None]:
    """Open the job runner; start APScheduler (and a first catch-up) when workers and the scheduler are on."""
    service = app[SCHEDULER]
    settings = app[keys.SETTINGS]
    runner = service.runner = create_job_runner(app)
    if settings.scheduler_enabled and settings.workers_enabled:
        service.scheduler = create_scheduler(runner, settings)
        service.scheduler.start()
        service.startup = asyncio.create_task(runner.catch_up(), name="scheduler:catch-up")
        log.info("scheduler started as %s: %s", runner.holder, ", ".join(runner.specs))
    try:
        yield
    finally:
        if service.scheduler is not None:
            service.scheduler.shutdown(wait=False)
            service.scheduler = None
        if service.startup is not None and not service.startup.done():
            service.startup.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await service.startup
        await runner.close()


def setup_scheduler(app: web.Application) -> None:
    """The scheduler feature: jobs and the recipients API (the `sms` sender is a channel of the registry)."""
    from bot.api.recipients import setup_routes as setup_recipient_routes

    app[SCHEDULER] = SchedulerService(housekeeping_tasks=[create_zalo_token_task(app)])
    setup_recipient_routes(app)
    app.cleanup_ctx.append(scheduler_context)


__all__ = [
    "CITIZEN_REMINDERS",
    "HOUSEKEEPING",
    "JOB_NAMES",
    "OFFICER_ALERTS",
    "SCHEDULER",
    "JobRunner",
    "JobSpec",
    "RunResult",
    "Schedule",
    "SchedulerService",
    "add_housekeeping_task",
    "create_job_specs",
    "setup_scheduler",
]
