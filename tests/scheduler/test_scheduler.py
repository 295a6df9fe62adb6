"""Running jobs once across replicas (lease, run record), catch-up after downtime, and the APScheduler wiring."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

import pytest
from aiohttp import web

from bot import keys
from bot.scheduler import JOB_NAMES, SCHEDULER, Schedule, add_housekeeping_task
from storage.jobs import acquire_lease, get_job, renew_lease, start_run
from storage.models import SchedulerJob
from storage.recipients import NewRecipient, add_recipient
from tests.scheduler.conftest import StartApp
from tests.scheduler.support import TZ, FakeClock, add_dossier, closing, local, outbox, pick_catalogue, runner_of


async def seed(app: web.Application) -> str:
    """One department with a dossier due on 23/11/2026 and two recipients."""
    cat = await pick_catalogue(app)
    await add_dossier(app, cat.first_procedure, closing("2026-11-23"))
    async with app[keys.SESSIONMAKER].begin() as session:
        await add_recipient(session, NewRecipient(cat.first, "Lãnh đạo", "sms", phone="0912345678"))
        await add_recipient(session, NewRecipient(cat.first, "Phó", "telegram", telegram_chat_id="777"))
    return cat.first


async def job_row(app: web.Application, name: str) -> SchedulerJob | None:
    async with app[keys.SESSIONMAKER]() as session:
        return await get_job(session, name)


# --- schedules ---------------------------------------------------------------------------------------------


def test_a_daily_schedule_knows_its_previous_and_next_occurrence() -> None:
    from datetime import time

    daily = Schedule(TZ, at=time(7, 30))
    assert daily.previous(local("2026-11-23T07:29")) == local("2026-11-22T07:30")
    assert daily.previous(local("2026-11-23T07:30")) == local("2026-11-23T07:30")
    assert daily.previous(local("2026-11-23T10:00").astimezone(TZ)) == local("2026-11-23T07:30")
    assert daily.next(local("2026-11-23T10:00")) == local("2026-11-24T07:30")
    assert daily.describe() == "daily at 07:30"


def test_an_interval_schedule_counts_from_local_midnight() -> None:
    hourly = Schedule(TZ, every_minutes=60)
    assert hourly.previous(local("2026-11-23T10:59:59")) == local("2026-11-23T10:00")
    assert hourly.next(local("2026-11-23T10:00")) == local("2026-11-23T11:00")
    quarter = Schedule(TZ, every_minutes=15)
    assert quarter.previous(local("2026-11-23T00:14")) == local("2026-11-23T00:00")
    next_fire = quarter.trigger().get_next_fire_time(None, local("2026-11-23T10:07"))
    assert next_fire == local("2026-11-23T10:15")


def test_bad_schedule_settings_are_refused() -> None:
    from bot.scheduler import ScheduleError, parse_time_of_day

    with pytest.raises(ScheduleError, match="OFFICER_ALERT_TIME"):
        parse_time_of_day("7h30", "OFFICER_ALERT_TIME")
    with pytest.raises(ScheduleError):
        Schedule(TZ, every_minutes=0)


# --- once across replicas ----------------------------------------------------------------------------------


async def test_two_replicas_racing_send_nothing_twice(
    start_app: StartApp, clock: FakeClock, redis_url: str | None
) -> None:
    """Two app instances on one database (and one Redis when given) fire the same occurrences together."""
    first = await start_app(redis_url=redis_url)
    second = await start_app(redis_url=redis_url)
    department = await seed(first)
    runners = [runner_of(first), runner_of(second)]
    assert runners[0].holder != runners[1].holder
    clock.set("2026-11-23T09:00:00.5")
    for _round in range(3):
        for name in JOB_NAMES:
            results = await asyncio.gather(*(r.fire(name) for r in runners))
            statuses = Counter(result.status for result in results)
            assert statuses["failed"] == 0, name
            assert statuses["ok"] == (1 if _round == 0 else 0), (name, statuses)
    # Both sweeping at once find every occurrence done.
    swept = await asyncio.gather(*(r.catch_up() for r in runners))
    assert [result.status for results in swept for result in results if result.status != "skipped"] == []
    rows = await outbox(first, "officer_alert")
    assert len(rows) == 2
    assert {row.idempotency_key for row in rows} == {
        f"alert:{department}:2026-11-23:1",
        f"alert:{department}:2026-11-23:2",
    }
    # Both racing again, even by hand, still queue nothing new.
    forced = await asyncio.gather(*(r.run("officer-alerts", force=True) for r in runners))
    assert all(result.status in ("ok", "busy") for result in forced)
    assert len(await outbox(second, "officer_alert")) == 2
    for name in JOB_NAMES:
        row = await job_row(first, name)
        assert row is not None and row.lease_holder is None and row.last_status == "ok", name


async def test_only_one_replica_runs_an_occurrence(start_app: StartApp, clock: FakeClock) -> None:
    first = await start_app()
    second = await start_app()
    await seed(first)
    clock.set("2026-11-23T07:30:00.5")
    results = await asyncio.gather(runner_of(first).fire("housekeeping"), runner_of(second).fire("housekeeping"))
    assert sorted(r.status for r in results) in (["busy", "ok"], ["ok", "skipped"])
    # Later firings of the same occurrence (a slow replica) find it done.
    clock.set("2026-11-23T07:31")
    assert (await runner_of(second).fire("housekeeping")).status == "skipped"
    assert (await runner_of(first).fire("housekeeping")).status == "skipped"


async def test_a_crashed_leaders_lease_expires_and_another_replica_takes_over(
    start_app: StartApp, clock: FakeClock
) -> None:
    app = await start_app(scheduler_lease_seconds=600)
    await seed(app)
    clock.set("2026-11-23T07:30:00.5")
    async with app[keys.SESSIONMAKER].begin() as session:
        assert await acquire_lease(session, "officer-alerts", "crashed-replica", clock(), timedelta(seconds=600))
        await start_run(session, "officer-alerts", "crashed-replica", clock())
    runner = runner_of(app)
    busy = await runner.fire("officer-alerts")
    assert busy.status == "busy"
    assert "crashed-replica" in busy.detail
    assert await outbox(app, "officer_alert") == []
    clock.advance(seconds=601)
    results = await runner.catch_up()
    assert [r.status for r in results if r.name == "officer-alerts"] == ["ok"]
    assert len(await outbox(app, "officer_alert")) == 2
    row = await job_row(app, "officer-alerts")
    assert row is not None and row.last_status == "ok" and row.lease_holder is None


async def test_a_lease_is_renewed_only_by_its_holder(start_app: StartApp, clock: FakeClock) -> None:
    app = await start_app()
    async with app[keys.SESSIONMAKER].begin() as session:
        assert await acquire_lease(session, "housekeeping", "me", clock(), timedelta(seconds=60))
        assert not await acquire_lease(session, "housekeeping", "other", clock(), timedelta(seconds=60))
        assert await renew_lease(session, "housekeeping", "me", clock() + timedelta(seconds=120))
        assert not await renew_lease(session, "housekeeping", "other", clock() + timedelta(seconds=120))
    row = await job_row(app, "housekeeping")
    assert row is not None and row.lease_holder == "me" and row.lease_until == clock() + timedelta(seconds=120)


# --- catch-up ----------------------------------------------------------------------------------------------


async def test_a_run_missed_while_every_replica_was_down_runs_when_one_comes_back(
    start_app: StartApp, clock: FakeClock
) -> None:
    clock.set("2026-11-20T18:00")
    app = await start_app()
    department = await seed(app)
    runner = runner_of(app)
    # Down from Friday evening to Monday 10:15: the 07:30 alert and the 09:00 reminders were missed.
    clock.set("2026-11-23T10:15")
    results = {r.name: r for r in await runner.catch_up()}
    assert {name: r.status for name, r in results.items()} == {
        "officer-alerts": "ok",
        "citizen-reminders": "ok",
        "housekeeping": "ok",
    }
    assert results["officer-alerts"].scheduled_for == local("2026-11-23T07:30")
    rows = await outbox(app, "officer_alert")
    assert [row.idempotency_key.rsplit(":", 1)[0] for row in rows] == [f"alert:{department}:2026-11-23"] * 2
    # Nothing is missed any more: the next sweep runs nothing.
    clock.set("2026-11-23T10:20")
    assert await runner.catch_up() == []
    # The scheduled firing of a slow replica for the same occurrence finds it done.
    assert (await runner.fire("officer-alerts")).status == "skipped"


async def test_catch_up_skips_what_is_no_longer_worth_sending(start_app: StartApp, clock: FakeClock) -> None:
    app = await start_app()
    await seed(app)
    runner = runner_of(app)
    # Down from Monday 06:00 to Thursday 06:00: Wednesday's alert (until closing time) is stale by now.
    clock.set("2026-11-23T06:00")
    assert {r.name for r in await runner.catch_up()} == {"housekeeping"}
    clock.set("2026-11-26T06:00")
    assert {r.name for r in await runner.catch_up()} == {"housekeeping"}
    assert await outbox(app, "officer_alert") == []
    # The same day after closing time: not sent either.
    clock.set("2026-11-26T17:30")
    assert "officer-alerts" not in {r.name for r in await runner.catch_up()}
    assert await outbox(app, "officer_alert") == []
    # Thursday morning's alert, once the replica is back at 11:00, is.
    clock.set("2026-11-27T11:00")
    assert "officer-alerts" in {r.name for r in await runner.catch_up() if r.status == "ok"}
    assert {row.idempotency_key.split(":")[2] for row in await outbox(app, "officer_alert")} == {"2026-11-27"}


async def test_a_failed_run_is_retried_by_the_sweep_after_a_pause(start_app: StartApp, clock: FakeClock) -> None:
    app = await start_app()
    calls: list[datetime] = []

    async def flaky_token_refresh(now: datetime) -> str | None:
        calls.append(now)
        if len(calls) == 1:
            raise ConnectionError("token endpoint unreachable")
        return "zalo token refreshed"

    add_housekeeping_task(app, flaky_token_refresh)
    clock.set("2026-11-23T10:05")
    runner = runner_of(app)
    failed = await runner.fire("housekeeping")
    assert failed.status == "failed"
    row = await job_row(app, "housekeeping")
    assert row is not None and row.last_status == "failed" and "token endpoint unreachable" in (row.last_error or "")
    assert row.lease_holder is None
    clock.set("2026-11-23T10:10")
    assert [r.name for r in await runner.catch_up()] == ["officer-alerts", "citizen-reminders"]
    clock.set("2026-11-23T10:21")
    retried = {r.name: r for r in await runner.catch_up()}
    assert retried["housekeeping"].status == "ok"
    assert retried["housekeeping"].report is not None
    assert retried["housekeeping"].report.lines == ["zalo token refreshed"]
    assert len(calls) == 2


async def test_a_run_interrupted_by_shutdown_releases_its_lease(start_app: StartApp, clock: FakeClock) -> None:
    app = await start_app()
    started = asyncio.Event()

    async def slow_task(now: datetime) -> str | None:
        started.set()
        await asyncio.Event().wait()
        return None

    add_housekeeping_task(app, slow_task)
    runner = runner_of(app)
    run = asyncio.create_task(runner.run("housekeeping", force=True))
    await started.wait()
    await runner.close()
    with pytest.raises(asyncio.CancelledError):
        await run
    row = await job_row(app, "housekeeping")
    assert row is not None and row.last_status == "interrupted" and row.lease_holder is None


async def test_an_unknown_job_is_refused(start_app: StartApp) -> None:
    app = await start_app()
    with pytest.raises(ValueError, match="unknown job 'reports'"):
        await runner_of(app).run("reports")


# --- APScheduler wiring ------------------------------------------------------------------------------------


async def test_serving_starts_the_scheduler_and_catches_up_at_once(start_app: StartApp, clock: FakeClock) -> None:
    clock.set("2026-11-16T10:00")
    app = await start_app(scheduler_enabled=False)
    await seed(app)
    clock.set("2026-11-23T10:15")
    serving = await start_app(scheduler_enabled=True, workers_enabled=True)
    service = serving[SCHEDULER]
    assert service.scheduler is not None and service.scheduler.running
    jobs = {job.id: job for job in service.scheduler.get_jobs()}
    assert set(jobs) == {*JOB_NAMES, "catch-up"}
    assert str(jobs["officer-alerts"].trigger.timezone) == "Asia/Ho_Chi_Minh"
    assert jobs["officer-alerts"].coalesce and jobs["officer-alerts"].misfire_grace_time == 3600
    assert service.startup is not None
    results = await service.startup
    assert {r.name: r.status for r in results}["officer-alerts"] == "ok"
    assert len(await outbox(serving, "officer_alert")) == 2


async def test_without_workers_the_scheduler_does_not_start(start_app: StartApp) -> None:
    app = await start_app(scheduler_enabled=True, workers_enabled=False)
    assert app[SCHEDULER].scheduler is None
    assert app[SCHEDULER].startup is None
    assert runner_of(app).specs.keys() == set(JOB_NAMES)


async def test_the_alert_time_is_configurable(start_app: StartApp, clock: FakeClock) -> None:
    app = await start_app(officer_alert_time="06:45", reminder_time="10:30", housekeeping_interval_minutes=15)
    specs = runner_of(app).specs
    assert specs["officer-alerts"].schedule.describe() == "daily at 06:45"
    assert specs["citizen-reminders"].schedule.describe() == "daily at 10:30"
    assert specs["housekeeping"].schedule.describe() == "every 15 min"
    assert datetime.fromisoformat("2026-11-23T06:45+07:00") == specs["officer-alerts"].schedule.next(
        local("2026-11-22T23:00")
    )
