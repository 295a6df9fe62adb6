"""Scheduled-work benchmark: officer alerts at 1,000,000 dossiers, and the outbox drain rate.

Run `python -m benchmarks.alerts [--url postgresql+asyncpg://postgres@127.0.0.1/] [--dossiers N] [--keep]`.

1. Alerts. A scratch PostgreSQL database is created on the server of `--url`, migrated, given the
   departments and procedures of the bundled knowledge base, and filled with N dossiers spread over three
   years with `INSERT … SELECT generate_series` (about 3 % open, the rest resolved or returned, a few
   overdue stragglers). The officer alert of every department is computed `--repeat` times; the median
   and worst times are printed (target ≤ 1 s) with the plan of the counting query.
2. Outbox drain. Messages are queued on the `telegram` channel and drained by the outbox worker
   (`bot/outbox.py`, the channels feature) against a fake Bot API on 127.0.0.1 that answers 429 when
   more than the allowed rate arrives; the achieved rate is printed as a share of the allowed rate
   (target ≥ 90 % with zero 429s and at most rate + 1 messages in any sliding second). Skipped, with the
   reason, when the outbox worker is not in this build.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import catalogue_specs, create_calendar, load_knowledge
from bot.settings import Settings
from storage.alerts import alert_window, compute_alerts
from storage.catalogue import sync_catalogue
from storage.db import create_engine, create_sessionmaker, run_on_server
from storage.migrate import upgrade
from storage.models import OutboxMessage
from storage.outbox import OutgoingMessage, enqueue

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1/"

FILL_SQL = """
WITH procs AS (
  SELECT array_agg(id ORDER BY id) AS ids, array_agg(department_id ORDER BY id) AS depts, count(*) AS n
  FROM procedures
), params AS (
  SELECT CAST(:now AS timestamptz) AS now, CAST(:n AS float8) AS total
)
INSERT INTO dossiers (code, code_key, procedure_id, department_id, applicant_name, applicant_phone, channel,
                      return_method, status, received_at, due_at, original_due_at, resolved_at, returned_at,
                      created_at, updated_at)
SELECT 'BENCH-' || lpad(g::text, 8, '0'),
       'BENCH' || lpad(g::text, 8, '0'),
       procs.ids[1 + g % procs.n], procs.depts[1 + g % procs.n], 'Nguyễn Văn A', '0912345678',
       (ARRAY['direct', 'online', 'postal'])[1 + g % 3], 'counter',
       CASE
         WHEN s.recent THEN
           (ARRAY['received', 'in_progress', 'in_progress', 'needs_supplement', 'awaiting_payment', 'suspended',
                  'result_ready', 'result_ready', 'returned', 'returned'])[1 + (g * 7) % 10]
         WHEN g % 200 = 0 THEN 'in_progress'
         WHEN g % 50 = 1 THEN 'rejected'
         WHEN g % 97 = 2 THEN 'result_ready'
         ELSE 'returned'
       END,
       s.received_at, s.due_at, s.due_at,
       CASE WHEN s.recent THEN NULL ELSE s.due_at - interval '1 day' END,
       CASE WHEN s.recent THEN NULL ELSE s.due_at END,
       s.received_at, s.received_at
FROM generate_series(1, :n) AS g
CROSS JOIN procs
CROSS JOIN params
CROSS JOIN LATERAL (
  SELECT params.now - interval '3 years' * (1 - g / params.total) AS received_at
) AS r
CROSS JOIN LATERAL (
  SELECT r.received_at,
         r.received_at + interval '1 day' * (5 + g % 15) AS due_at,
         r.received_at > params.now - interval '30 days' AS recent
) AS s
"""


async def fill(engine: AsyncEngine, n: int, now: datetime) -> float:
    """Create the schema and N dossiers; returns seconds spent."""
    started = time.perf_counter()
    await upgrade(engine)
    kb, _matcher = load_knowledge(Settings(_env_file=None))  # type: ignore[call-arg]
    departments, procedures = catalogue_specs(kb)
    async with create_sessionmaker(engine).begin() as session:
        await sync_catalogue(session, departments, procedures)
    async with engine.begin() as conn:
        step = 250_000
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            sql = FILL_SQL.replace("generate_series(1, :n)", f"generate_series({lo + 1}, {hi})")
            await conn.execute(text(sql), {"n": n, "now": now})
            print(f"  filled {hi:,}/{n:,}", file=sys.stderr)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE dossiers"))
    return time.perf_counter() - started


async def time_alerts(engine: AsyncEngine, day: date, repeat: int) -> dict[str, Any]:
    calendar = create_calendar(Settings(_env_file=None))  # type: ignore[call-arg]
    window = alert_window(calendar, day, 2)
    sessionmaker = create_sessionmaker(engine)
    timings: list[float] = []
    alerts: dict[str, Any] = {}
    for _ in range(repeat):
        started = time.perf_counter()
        async with sessionmaker() as session:
            alerts = await compute_alerts(session, window)
        timings.append(time.perf_counter() - started)
    async with engine.connect() as conn:
        open_rows = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM dossiers WHERE status IN "
                    "('received', 'in_progress', 'needs_supplement', 'awaiting_payment')"
                )
            )
        ).scalar_one()
        plan = await conn.execute(
            text(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT department_id, count(*) FROM dossiers "
                "WHERE status IN ('received', 'in_progress', 'needs_supplement', 'awaiting_payment') "
                "AND due_at < :end GROUP BY department_id"
            ),
            {"end": window.window_end},
        )
        plan_text = "\n".join("    " + row[0] for row in plan)
    return {"timings": timings, "alerts": alerts, "open": open_rows, "plan": plan_text}


async def run_alerts(url: str, n: int, repeat: int, keep: bool) -> None:
    name = f"motcua_bench_{uuid.uuid4().hex[:8]}"
    await run_on_server(url, f'CREATE DATABASE "{name}"')
    bench_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(bench_url)
    now = datetime.now(UTC)
    try:
        print(f"alerts: filling {name} with {n:,} dossiers …", file=sys.stderr)
        seconds = await fill(engine, n, now)
        print(f"alerts: fill took {seconds:.1f} s", file=sys.stderr)
        result = await time_alerts(engine, now.date(), repeat)
    finally:
        await engine.dispose()
        if not keep:
            await run_on_server(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    timings = result["timings"]
    alerts = result["alerts"]
    print(f"officer alerts over {n:,} dossiers ({result['open']:,} open) in PostgreSQL, {len(alerts)} departments:")
    print(
        f"  median {statistics.median(timings) * 1000:.1f} ms, worst {max(timings) * 1000:.1f} ms ({len(timings)} runs)"
    )
    print(f"  target ≤ 1000 ms: {'met' if max(timings) <= 1.0 else 'NOT met'}")
    sample = next(iter(alerts.values()), None)
    if sample is not None:
        print(
            f"  e.g. {sample.department_name}: {sample.due_today} today, {sample.due_soon} soon, "
            f"{sample.overdue} overdue, urgent {', '.join(sample.urgent_codes)}"
        )
    print("  plan of the counting query:")
    print(result["plan"])
    if keep:
        print(f"  kept database {name}")


# --- outbox drain ------------------------------------------------------------------------------------------


class RateLimitedPlatform:
    """A fake platform on 127.0.0.1 allowing `rate` messages per wall-clock second; beyond that, 429.

    Serves the Telegram Bot API shape (`/bot<token>/getMe|sendMessage`) and a generic SMS gateway
    (`POST /sms`). Records the arrival time of every accepted message.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.accepted: list[float] = []
        self.refused = 0
        self._windows: dict[int, int] = {}
        self.app = web.Application()
        self.app.router.add_post("/bot{token}/{method}", self.telegram)
        self.app.router.add_post("/sms", self.sms)

    def _admit(self) -> bool:
        now = time.time()
        window = int(now)
        count = self._windows.get(window, 0) + 1
        self._windows[window] = count
        if count > self.rate:
            self.refused += 1
            return False
        self.accepted.append(now)
        return True

    async def telegram(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        form = await request.post()
        if method == "getMe":
            me = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
            return web.json_response({"ok": True, "result": me})
        if not self._admit():
            body = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1"}
            return web.json_response({**body, "parameters": {"retry_after": 1}}, status=429)
        chat_id = int(str(form.get("chat_id", "0")))
        message = {
            "message_id": len(self.accepted),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
        }
        return web.json_response({"ok": True, "result": {**message, "text": str(form.get("text", ""))}})

    async def sms(self, request: web.Request) -> web.Response:
        await request.read()
        if not self._admit():
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.json_response({"message_id": str(len(self.accepted))})

    def max_in_any_second(self) -> int:
        """The most messages accepted within any sliding one-second span."""
        best, start = 0, 0
        for end, moment in enumerate(self.accepted):
            while moment - self.accepted[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best


async def drain(url: str, channel: str, messages: int, rate: int) -> dict[str, Any]:
    """Queue `messages` on `channel` (one recipient each) and time the outbox worker draining them."""
    from bot.runtime import open_app

    platform = RateLimitedPlatform(rate)
    runner = web.AppRunner(platform.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    name = f"motcua_bench_{uuid.uuid4().hex[:8]}"
    await run_on_server(url, f'CREATE DATABASE "{name}"')
    bench_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=bench_url,
        scheduler_enabled=False,
        workers_enabled=True,
        telegram_bot_token=SecretStr("123456:BENCH"),
        telegram_webhook_secret=SecretStr("bench-secret"),
        telegram_api_base_url=f"http://127.0.0.1:{port}/bot",
        telegram_rate_per_second=float(rate),
        sms_gateway_url=f"http://127.0.0.1:{port}/sms",
        sms_rate_per_second=float(rate),
    )
    engine = create_engine(bench_url)
    try:
        await upgrade(engine)
        rows = [
            OutgoingMessage(
                idempotency_key=f"bench:{channel}:{n}",
                channel=channel,
                recipient=str(10_000 + n) if channel == "telegram" else f"0912{n:06d}",
                payload={"text": f"Tin nhắn thử {n}: hồ sơ TTHCC-261123-{n:04d} đến hạn hôm nay."},
                kind="bench",
            )
            for n in range(messages)
        ]
        async with create_sessionmaker(engine).begin() as session:
            await enqueue(session, rows)
        started = time.perf_counter()
        async with open_app(settings, workers=True):
            deadline = started + messages / rate * 5 + 60
            while len(platform.accepted) < messages and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
        async with create_sessionmaker(engine)() as session:
            sent = (
                await session.execute(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
                )
            ).scalar_one()
    finally:
        await engine.dispose()
        await runner.cleanup()
        await run_on_server(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    accepted = platform.accepted
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else float("nan")
    # Messages per second over the span first to last, plus one interval (a sender pacing exactly at the
    # rate scores 100 %). A sender that bursts could look better than it is, so the target also bounds the
    # most messages in any sliding second (`max_window`).
    seconds = span + 1 / rate if len(accepted) > 1 else 1.0
    achieved = len(accepted) / seconds
    return {
        "channel": channel,
        "messages": messages,
        "delivered": len(accepted),
        "sent_rows": sent,
        "refused": platform.refused,
        "rate": rate,
        "achieved": achieved,
        "span": span,
        "seconds": seconds,
        "max_window": platform.max_in_any_second(),
    }


def print_drain(result: dict[str, Any]) -> None:
    share = result["achieved"] / result["rate"] * 100
    met = (
        share >= 90
        and result["refused"] == 0
        and result["delivered"] == result["messages"]
        and result["max_window"] <= result["rate"] + 1
    )
    print(
        f"outbox drain on {result['channel']}: {result['delivered']}/{result['messages']} delivered "
        f"({result['sent_rows']} rows marked sent) in {result['span']:.1f} s"
    )
    print(
        f"  {result['achieved']:.1f} msg/s ({result['delivered']} over {result['seconds']:.1f} s) of "
        f"{result['rate']} allowed = {share:.0f} %, "
        f"{result['refused']} refused with 429, at most {result['max_window']} in any sliding second"
    )
    print(f"  target ≥ 90 %, zero 429s, at most rate + 1 in any sliding second: {'met' if met else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL server (a scratch database is created)")
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the alerts' scratch database")
    parser.add_argument("--drain-messages", type=int, default=600, help="messages per drained channel")
    parser.add_argument("--telegram-rate", type=int, default=30, help="the fake Bot API's limit (msg/s)")
    parser.add_argument("--sms-rate", type=int, default=10, help="the fake SMS gateway's limit (msg/s)")
    parser.add_argument("--skip", choices=["alerts", "drain"], action="append", default=[])
    args = parser.parse_args(argv)
    if "alerts" not in args.skip:
        asyncio.run(run_alerts(args.url, args.dossiers, args.repeat, args.keep))
    if "drain" not in args.skip:
        try:
            import bot.outbox  # noqa: F401
        except ModuleNotFoundError:
            print("outbox drain: skipped, the outbox worker (bot/outbox.py) is not in this build")
            return 0
        for channel, rate, count in (
            ("telegram", args.telegram_rate, args.drain_messages),
            ("sms", args.sms_rate, max(1, args.drain_messages // 3)),
        ):
            print_drain(asyncio.run(drain(args.url, channel, count, rate)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
