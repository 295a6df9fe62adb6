"""Scheduled jobs' lease and run record, one `scheduler_jobs` row per job.

A replica runs a job only while it holds the row's lease: a conditional UPDATE (`lease_until` empty or
past) that one writer wins on SQLite and PostgreSQL alike. The lease is renewed while the job runs and
expires by itself when its holder dies, so another replica takes over. `last_run_at` and `last_status`
say whether a scheduled occurrence was done, which is what catch-up and "already done by another replica"
decisions read.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SchedulerJob

RUNNING, OK, FAILED, INTERRUPTED = "running", "ok", "failed", "interrupted"


def _insert_for(session: AsyncSession):  # type: ignore[no-untyped-def]
    bind = session.bind
    return pg_insert if bind is not None and bind.dialect.name == "postgresql" else sqlite_insert


async def ensure_job(session: AsyncSession, name: str) -> None:
    """Create the job's row when it does not exist (safe under races)."""
    insert = _insert_for(session)
    await session.execute(insert(SchedulerJob).values(name=name).on_conflict_do_nothing(index_elements=["name"]))


async def acquire_lease(session: AsyncSession, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take the job's lease until `now + ttl` when nobody holds it (or the holder's lease ran out)."""
    await ensure_job(session, name)
    result = await session.execute(
        update(SchedulerJob)
        .where(SchedulerJob.name == name)
        .where(or_(SchedulerJob.lease_until.is_(None), SchedulerJob.lease_until < now))
        .values(lease_holder=holder, lease_until=now + ttl)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def renew_lease(session: AsyncSession, name: str, holder: str, until: datetime) -> bool:
    """Extend a lease this holder still has; False when it was lost (expired and taken)."""
    result = await session.execute(
        update(SchedulerJob)
        .where(SchedulerJob.name == name, SchedulerJob.lease_holder == holder)
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def start_run(session: AsyncSession, name: str, holder: str, now: datetime) -> None:
    await session.execute(
        update(SchedulerJob)
        .where(SchedulerJob.name == name, SchedulerJob.lease_holder == holder)
        .values(last_run_at=now, last_status=RUNNING, last_error=None)
        .execution_options(synchronize_session=False)
    )


async def finish_run(
    session: AsyncSession, name: str, holder: str, *, finished_at: datetime, status: str, error: str | None = None
) -> None:
    """Record how the run ended and release the lease (only when this holder still has it)."""
    await session.execute(
        update(SchedulerJob)
        .where(SchedulerJob.name == name, SchedulerJob.lease_holder == holder)
        .values(
            last_finished_at=finished_at,
            last_status=status,
            last_error=error[:2000] if error else None,
            lease_holder=None,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )


async def release_lease(session: AsyncSession, name: str, holder: str) -> None:
    """Give the lease back without recording a run (the occurrence was already done)."""
    await session.execute(
        update(SchedulerJob)
        .where(SchedulerJob.name == name, SchedulerJob.lease_holder == holder)
        .values(lease_holder=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


async def get_job(session: AsyncSession, name: str) -> SchedulerJob | None:
    query = select(SchedulerJob).where(SchedulerJob.name == name).execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def job_rows(session: AsyncSession) -> dict[str, SchedulerJob]:
    query = select(SchedulerJob).order_by(SchedulerJob.name).execution_options(populate_existing=True)
    return {row.name: row for row in (await session.execute(query)).scalars()}


def done_since(row: SchedulerJob | None, moment: datetime) -> bool:
    """True when a run that started at or after `moment` finished successfully."""
    return row is not None and row.last_status == OK and row.last_run_at is not None and row.last_run_at >= moment
