"""`motcua jobs list|run NAME`: inspect the scheduled jobs and trigger one by hand."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.runtime import open_app
from bot.scheduler import JOB_NAMES, SCHEDULER
from bot.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("jobs", help="scheduled jobs (officer alerts, citizen reminders, housekeeping)")
    jobs_sub = parser.add_subparsers(dest="jobs_command", metavar="ACTION")
    jobs_sub.required = True
    listing = jobs_sub.add_parser("list", help="schedule, last run and next run of each job")
    listing.set_defaults(func=run_list)
    run = jobs_sub.add_parser("run", help="run a job now (messages go to the outbox; `serve` sends them)")
    run.add_argument("name", choices=JOB_NAMES)
    run.set_defaults(func=run_job)


def _local(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else "-"


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    tz = ZoneInfo(settings.timezone)

    async def go() -> int:
        async with open_app(settings) as app:
            statuses = await app[SCHEDULER].job_runner().statuses()
        print("name\tschedule\tnext run\tlast run\tlast status\tlease")
        for status in statuses:
            row = status.row
            lease = "-"
            if row is not None and row.lease_holder:
                lease = f"{row.lease_holder} until {_local(row.lease_until, tz)}"
            last_status = row.last_status if row is not None and row.last_status else "never run"
            if row is not None and row.last_error:
                last_status += f" ({row.last_error[:80]})"
            print(
                f"{status.spec.name}\t{status.spec.schedule.describe()}\t{_local(status.next_run, tz)}\t"
                f"{_local(row.last_run_at if row else None, tz)}\t{last_status}\t{lease}"
            )
        if not settings.scheduler_enabled:
            print("(SCHEDULER_ENABLED is false: `motcua serve` will not run them on schedule)")
        return 0

    return asyncio.run(go())


def run_job(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        async with open_app(settings) as app:
            result = await app[SCHEDULER].job_runner().run(args.name, force=True)
        if result.status == "busy":
            print(f"{args.name}: not run, {result.detail}", file=sys.stderr)
            return 1
        if result.status != "ok":
            print(f"{args.name}: {result.status}: {result.detail}", file=sys.stderr)
            return 1
        print(f"{args.name}: {result.detail}")
        for line in result.report.lines if result.report else []:
            print(f"  {line}")
        return 0

    return asyncio.run(go())
