"""Report benchmark: the summary over 1,000,000 dossiers in PostgreSQL, for one month and for one year.

Run `python -m benchmarks.report [--url postgresql+asyncpg://postgres@127.0.0.1/] [--dossiers N] [--keep]
[--database NAME]`.

A scratch database is created on the server of `--url` (or `--database NAME` is reused when it already
holds the dossiers), migrated, given the bundled knowledge base's departments and procedures, and filled with
`INSERT … SELECT generate_series`: N dossiers received over 2024–2025 in time order (55 % direct, 38 %
online, 7 % by post), about 5 % resolved after their appointment, 3 % postponed, 1.5 % withdrawn (with
their event), 0.3 % stragglers never resolved, the last weeks half open; one creation event per dossier
and a rating for 30 % of the returned ones.
Then `storage.reports.compute_summary` (every figure of `GET /api/v1/reports/summary`, top procedures
included) runs `--repeat` times for June 2025 and for the year 2025, and the monthly trend of 2025 once more;
the median and worst times are printed with the row counts (targets: month ≤ 300 ms, year ≤ 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.app import catalogue_specs, load_knowledge
from bot.settings import Settings
from storage.catalogue import sync_catalogue
from storage.db import create_engine, create_sessionmaker, run_on_server
from storage.migrate import upgrade
from storage.reports import Period, compute_summary, monthly_trend

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1/"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 2, 1, 3, 0, tzinfo=UTC)  # the data ends in December 2025: every period has ended
PERIODS = {
    "month (June 2025)": (Period(date(2025, 6, 1), date(2025, 6, 30)), 0.300),
    "year (2025)": (Period(date(2025, 1, 1), date(2025, 12, 31)), 1.000),
}

FILL_SQL = """
WITH procs AS (
  SELECT array_agg(id ORDER BY id) AS ids, array_agg(department_id ORDER BY id) AS depts, count(*) AS n
  FROM procedures
), base AS (
  SELECT g,
         -- Rows arrive in time order, as in a real store (a few hours of jitter).
         timestamptz '2024-01-01 07:00+07' + interval '731 days' * ((g - 1) / CAST(:n AS float8))
           + interval '1 second' * floor(random() * 6 * 3600) AS received_at,
         3 + floor(random() * 13)::int AS days,
         random() AS r_channel, random() AS r_fate, random() AS r_speed, random() AS r_status,
         random() AS r_post, random() AS r_postpone
  FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS g
), shaped AS (
  SELECT b.*,
         b.received_at + interval '1 day' * b.days AS due,
         CASE
           WHEN b.r_fate < 0.015 THEN 'withdrawn'
           WHEN b.received_at > timestamptz '2025-12-31 00:00+07' - interval '20 days' AND b.r_fate < 0.5 THEN 'open'
           WHEN b.r_fate < 0.018 THEN 'open'  -- stragglers, still open today (0.3 %)
           ELSE 'resolved'
         END AS fate
  FROM base AS b
)
INSERT INTO dossiers (code, code_key, procedure_id, department_id, applicant_name, applicant_phone, channel,
                      return_method, status, received_at, due_at, original_due_at, resolved_at, returned_at,
                      created_at, updated_at)
SELECT 'RB-' || lpad(s.g::text, 8, '0'),
       'RB' || lpad(s.g::text, 8, '0'),
       procs.ids[1 + s.g % procs.n], procs.depts[1 + s.g % procs.n], 'Nguyễn Văn A', '0912345678',
       CASE WHEN s.r_channel < 0.55 THEN 'direct' WHEN s.r_channel < 0.93 THEN 'online' ELSE 'postal' END,
       CASE WHEN s.r_post < 0.08 THEN 'postal' ELSE 'counter' END,
       CASE
         WHEN s.fate = 'withdrawn' THEN 'withdrawn'
         WHEN s.fate = 'open'
           THEN (ARRAY['received', 'in_progress', 'needs_supplement'])[1 + floor(s.r_status * 3)::int]
         WHEN s.r_status < 0.80 THEN 'returned'
         WHEN s.r_status < 0.95 THEN 'result_ready'
         ELSE 'rejected'
       END,
       s.received_at,
       CASE WHEN s.r_postpone < 0.03 THEN s.due + interval '5 days' ELSE s.due END,
       s.due,
       r.resolved_at,
       CASE WHEN s.fate = 'resolved' AND s.r_status < 0.80
            THEN r.resolved_at + interval '1 hour' * (1 + floor(s.r_post * 48)) END,
       s.received_at, s.received_at
FROM shaped AS s
CROSS JOIN procs
CROSS JOIN LATERAL (
  SELECT CASE WHEN s.fate = 'resolved'
              THEN s.received_at + interval '1 day' * s.days * (0.25 + s.r_speed * 0.85) END AS resolved_at
) AS r
"""

EVENTS_SQL = """
INSERT INTO dossier_events (dossier_id, at, from_status, to_status, actor, note)
SELECT id, at, from_status, to_status, 'bench', note FROM (
  SELECT id, received_at AS at, NULL AS from_status, 'received' AS to_status, 'Tiếp nhận hồ sơ' AS note FROM dossiers
  UNION ALL
  SELECT id, received_at + interval '2 days', 'received', 'withdrawn', NULL FROM dossiers WHERE status = 'withdrawn'
) AS e ORDER BY id, at
"""

RATINGS_SQL = """
INSERT INTO ratings (dossier_id, department_id, channel, level, score, created_at, updated_at)
SELECT id, department_id, 'zalo',
       (ARRAY['very_satisfied', 'very_satisfied', 'very_satisfied', 'satisfied', 'satisfied', 'not_satisfied'])
         [1 + (id % 6)],
       CASE WHEN id % 6 < 3 THEN 3 WHEN id % 6 < 5 THEN 2 ELSE 1 END,
       returned_at + interval '2 hours', returned_at + interval '2 hours'
FROM dossiers WHERE status = 'returned' AND id % 10 < 3
"""


async def fill(url: str, n: int) -> float:
    """Create the schema, the catalogue and N dossiers (events, ratings); returns seconds spent."""
    started = time.perf_counter()
    # Bulk statements run longer than the service's 30 s statement timeout: an engine of their own.
    engine = create_async_engine(url, connect_args={"command_timeout": 3600})
    try:
        await _fill(engine, n)
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def _fill(engine: AsyncEngine, n: int) -> None:
    await upgrade(engine)
    kb, _matcher = load_knowledge(Settings(_env_file=None))  # type: ignore[call-arg]
    departments, procedures = catalogue_specs(kb)
    async with create_sessionmaker(engine).begin() as session:
        await sync_catalogue(session, departments, procedures)
    async with engine.begin() as conn:
        await conn.execute(text("SELECT setseed(0.2025)"))
        step = 250_000
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            await conn.execute(text(FILL_SQL), {"lo": lo + 1, "hi": hi, "n": n})
            print(f"  filled {hi:,}/{n:,}", file=sys.stderr)
        await conn.execute(text(EVENTS_SQL))
        await conn.execute(text(RATINGS_SQL))
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))


async def _count(engine: AsyncEngine, sql: str, **params: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar_one())


async def _timed(repeat: int, run: Callable[[], Awaitable[Any]]) -> tuple[list[float], Any]:
    await run()  # warm the caches once
    timings: list[float] = []
    result: Any = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await run()
        timings.append(time.perf_counter() - started)
    return timings, result


async def measure(engine: AsyncEngine, repeat: int) -> None:
    sessionmaker = create_sessionmaker(engine)
    total = await _count(engine, "SELECT count(*) FROM dossiers")
    events = await _count(engine, "SELECT count(*) FROM dossier_events")
    ratings = await _count(engine, "SELECT count(*) FROM ratings")
    print(f"report summary in PostgreSQL: {total:,} dossiers, {events:,} events, {ratings:,} ratings")
    all_met = True
    for label, (period, target) in PERIODS.items():
        start, end = period.bounds(TZ)

        async def run(period: Period = period) -> Any:
            async with sessionmaker() as session:
                return await compute_summary(session, period, tz=TZ, now=NOW)

        timings, summary = await _timed(repeat, run)
        counts = summary.totals
        touched = await _count(
            engine,
            "SELECT count(*) FROM dossiers WHERE received_at < :end AND (received_at >= :start "
            "OR resolved_at IS NULL OR resolved_at >= :start "
            "OR (returned_at >= :start AND returned_at < :end AND return_method = 'postal'))",
            start=start,
            end=end,
        )
        worst = max(timings)
        met = worst <= target
        all_met &= met
        print(f"\n{label}: {period.start} … {period.end}")
        print(f"  rows in play: {touched:,} of {total:,} dossiers")
        print(
            f"  received {counts.received:,} (carried over {counts.carried_over:,}, new {counts.new:,}: "
            f"{counts.direct:,} direct, {counts.online:,} online, {counts.postal:,} postal)"
        )
        print(
            f"  resolved {counts.resolved:,} (early {counts.early:,}, on time {counts.on_time:,}, late "
            f"{counts.late:,}; on-time rate {counts.on_time_rate} %), in progress {counts.in_progress:,} "
            f"(overdue {counts.overdue:,}), returned by post {counts.returned_by_post:,}"
        )
        print(
            f"  ratings {counts.ratings:,} (satisfaction {counts.satisfaction_rate} %), "
            f"{len(summary.departments)} departments, top procedure: "
            f"{summary.top_procedures[0].received:,} dossiers"
        )
        print(
            f"  compute_summary: median {statistics.median(timings) * 1000:.1f} ms, worst {worst * 1000:.1f} ms "
            f"({len(timings)} runs) — target ≤ {target * 1000:.0f} ms: {'met' if met else 'NOT met'}"
        )

    year = PERIODS["year (2025)"][0]

    async def trend() -> Any:
        async with sessionmaker() as session:
            return await monthly_trend(session, year, tz=TZ)

    timings, months = await _timed(repeat, trend)
    print(
        f"\nmonthly trend of 2025 ({len(months)} months, {sum(m.received for m in months):,} received): "
        f"median {statistics.median(timings) * 1000:.1f} ms, worst {max(timings) * 1000:.1f} ms"
    )
    print(f"\nall targets {'met' if all_met else 'NOT met'}")


async def run(url: str, n: int, repeat: int, keep: bool, database: str | None) -> None:
    name = database or f"motcua_bench_reports_{uuid.uuid4().hex[:8]}"
    bench_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    created = False
    if database is None:
        await run_on_server(url, f'CREATE DATABASE "{name}"')
        created = True
    else:
        try:
            await run_on_server(bench_url, "SELECT 1")
        except Exception:  # the named database does not exist yet
            await run_on_server(url, f'CREATE DATABASE "{name}"')
            created = True
    engine = create_engine(bench_url)
    try:
        existing = 0
        if not created:
            await upgrade(engine)
            existing = await _count(engine, "SELECT count(*) FROM dossiers")
        if existing == 0:
            print(f"report: filling {name} with {n:,} dossiers …", file=sys.stderr)
            seconds = await fill(bench_url, n)
            print(f"report: fill took {seconds:.1f} s", file=sys.stderr)
        await measure(engine, repeat)
    finally:
        await engine.dispose()
        if not keep and database is None:
            await run_on_server(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if keep or database is not None:
        print(f"kept database {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL server (a scratch database is created)")
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--database", help="reuse (or create and keep) this database instead of a scratch one")
    args = parser.parse_args(argv)
    asyncio.run(run(args.url, args.dossiers, args.repeat, args.keep, args.database))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
