"""Resilience benchmark: two `motcua serve` replicas on one PostgreSQL + Redis under load and faults.

Run `python -m benchmarks.resilience [--short] [--database-url postgresql+asyncpg://postgres@127.0.0.1/]`.

Everything runs on 127.0.0.1: a scratch PostgreSQL database (created and dropped here), a Redis server of
our own on a free port (so it can be stopped without touching anyone else's), a fake Telegram Bot API in
its own process that counts every message per chat and can misbehave on demand, and two replicas. This
process is the platform: it posts Telegram updates round-robin to the replicas and, like Telegram, delivers
an update again when a replica does not acknowledge it (connection refused, 5xx) — to the other replica first.

Each update comes from its own chat, so "answered exactly once" is checkable at the fake: every chat got at
least one message and no chat got the same message twice. Scenarios, printed as one table:

* sustained  — mixed traffic (FAQ questions, dossier-code look-ups, button presses, duplicate deliveries of
  the same update) at the highest offered rate that keeps the acknowledgement p99 ≤ 100 ms and the replies
  keeping up (found by short probes), held for 60 s (15 s with --short); RSS of each replica before/after.
* crash      — a burst of updates as fast as 40 connections go; one replica is `kill -9`-ed a third of the
  way through and restarted 2 s later. Every update must be answered; a reply the platform accepted from
  the killed replica whose verdict it never stored is sent again (at least once, as PRODUCT.md promises), so
  repeats may not exceed the outbox messages in flight at the kill (counted in the database then).
* redis-down — Redis stopped for 10 s under traffic, then started again; `/healthz` is probed throughout.
* pg-restart — `pg_ctlcluster --skip-systemctl-redirect 15 main restart` under traffic (full profile only:
  it restarts the machine's shared cluster).
* outbox     — the fake answers 429 with retry_after, 500s, hangs past the send timeout, and 403 "blocked"
  for some chats: nothing lost, nothing twice, blocked users marked, the others answered.

Leases are shortened (INBOX_LEASE_SECONDS=5, OUTBOX_LEASE_SECONDS=10) so a killed replica's rows are taken
over within seconds; everything else is the default configuration. A fake timeout is modelled as "not
delivered" (the platform never saw it): a message the platform accepted but whose answer was lost cannot be
told from one it never got, by anyone, so sending stays at least once in that case.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web

from benchmarks.common import QUESTIONS, free_port, message_update, pct
from storage.db import run_on_server

ROOT = Path(__file__).resolve().parents[1]
SECRET = "resilience-secret"
TOKEN = "123456:RESILIENCE"
APOLOGY = "hệ thống đang gặp sự cố"
BUTTONS = [
    "kb:cap-phieu-ly-lich-tu-phap:fee",
    "kb:cap-phieu-ly-lich-tu-phap:documents",
    "kb:gio-lam-viec:overview",
    "kb:dia-chi-trung-tam:overview",
    "menu:lookup",
    "menu:help",
]
ACK_P99_TARGET = 0.100
PROBE_MARGIN = 0.8  # a short probe must stay within 80 % of the target
REPLY_P99_TARGET = 2.0  # the replies keep up with the offered rate (no growing backlog)


# --- helpers ------------------------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def button_update(update_id: int, chat_id: int, data: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "R", "language_code": "vi"},
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "R"},
                "text": "…",
                "reply_markup": {"inline_keyboard": [[{"text": "Chọn", "callback_data": data}]]},
            },
        },
    }


# --- the fake Bot API (its own process) -------------------------------------------------------------


def run_fake_server(port: int) -> None:
    """Counts messages per chat (and repeats of the same message); misbehaves as `/faults` says."""
    chats: dict[str, dict[str, int]] = {}
    first_at: dict[str, float] = {}
    apologies: set[str] = set()
    faults: dict[str, Any] = {"429": 0, "retry_after": 1, "500": 0, "hang": 0, "hang_seconds": 8.0, "blocked": []}
    served = {"429": 0, "500": 0, "hang": 0, "blocked": 0}
    counter = iter(range(1, 10**9))

    async def params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            data: dict[str, Any] = json.loads(await request.read() or b"{}")
            return data
        if request.content_type.startswith("multipart/"):
            found: dict[str, Any] = {}
            async for part in await request.multipart():
                name = getattr(part, "name", None) or ""
                if not getattr(part, "filename", None):
                    found[name] = await part.text()  # type: ignore[union-attr]
            return found
        return {k: v[0] for k, v in parse_qs((await request.read()).decode()).items()}

    async def api(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "getMe":
            return web.json_response({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "R"}})
        if method not in ("sendMessage", "sendPhoto", "sendDocument"):
            return web.json_response({"ok": True, "result": True})
        values = await params(request)
        chat = str(values.get("chat_id"))
        if chat in faults["blocked"]:
            served["blocked"] += 1
            body = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            return web.json_response(body, status=403)
        if faults["429"] > 0:
            faults["429"] -= 1
            served["429"] += 1
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {faults['retry_after']}",
                "parameters": {"retry_after": faults["retry_after"]},
            }
            return web.json_response(body, status=429)
        if faults["500"] > 0:
            faults["500"] -= 1
            served["500"] += 1
            return web.json_response(
                {"ok": False, "error_code": 500, "description": "Internal Server Error"}, status=500
            )
        if faults["hang"] > 0:
            faults["hang"] -= 1
            served["hang"] += 1
            await asyncio.sleep(faults["hang_seconds"])  # the sender gives up first: never delivered
            return web.json_response({"ok": False, "error_code": 504, "description": "Gateway Timeout"}, status=504)
        text = str(values.get("text") or values.get("caption") or "")
        digest = hashlib.sha1(f"{text}\x00{values.get('reply_markup', '')}".encode()).hexdigest()[:16]
        seen = chats.setdefault(chat, {})
        seen[digest] = seen.get(digest, 0) + 1
        first_at.setdefault(chat, time.monotonic())
        if APOLOGY in text:
            apologies.add(chat)
        chat_id = int(chat) if chat.lstrip("-").isdigit() else 0
        message = {"message_id": next(counter), "date": int(time.time()), "chat": {"id": chat_id, "type": "private"}}
        return web.json_response({"ok": True, "result": message})

    async def stats(request: web.Request) -> web.Response:
        low, high = int(request.query.get("low", 0)), int(request.query.get("high", 2**62))
        picked = {c: v for c, v in chats.items() if c.lstrip("-").isdigit() and low <= int(c) < high}
        return web.json_response(
            {
                "answered": {c: sum(v.values()) for c, v in picked.items()},
                "twice": {c: sum(n - 1 for n in v.values() if n > 1) for c, v in picked.items() if max(v.values()) > 1},
                "first_at": {c: first_at[c] for c in picked},
                "apologies": sorted(c for c in apologies if c in picked),
                "served": served,
            }
        )

    async def set_faults(request: web.Request) -> web.Response:
        faults.update(await request.json())
        return web.json_response(faults)

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", api)
    app.router.add_get("/stats", stats)
    app.router.add_post("/faults", set_faults)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# --- processes --------------------------------------------------------------------------------------


async def wait_http(url: str, process: subprocess.Popen[bytes] | None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{url}: process exited with {process.returncode}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class Replica:
    """One `motcua serve` process."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "PORT": str(self.port), "PUBLIC_BASE_URL": self.url}
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=self.log.parent,
        )
        await wait_http(self.url + "/healthz", self.process)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def rss(self) -> float:
        assert self.process is not None
        return rss_mib(self.process.pid)


class RedisServer:
    """A redis-server of our own on a free port (never the machine's shared one)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=(self.workdir / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                _r, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(b"PING\r\n")
                await writer.drain()
                writer.close()
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class PostgresCluster:
    """The machine's PostgreSQL cluster, stopped and started with pg_ctlcluster (full profile only)."""

    def __init__(self, cluster: list[str]) -> None:
        self.cluster = cluster
        self.stopped = False

    async def ctl(self, action: str) -> None:
        proc = await asyncio.create_subprocess_exec("pg_ctlcluster", "--skip-systemctl-redirect", *self.cluster, action)
        if await proc.wait() != 0:
            raise RuntimeError(f"pg_ctlcluster {action} failed")

    async def stop(self) -> None:
        self.stopped = True
        await self.ctl("stop")

    async def start(self) -> None:
        await self.ctl("start")
        self.stopped = False


# --- the platform: posts updates round-robin, redelivers what is not acknowledged ---------------------


@dataclass
class Delivery:
    """Outcome of delivering one update: time to the 200, and what failed before it."""

    chat: str
    posted_at: float
    ack: float | None = None
    failures: list[str] = field(default_factory=list)


class Platform:
    """Delivers updates like Telegram: round-robin over the replicas, again until one answers 200."""

    def __init__(self, urls: list[str], concurrency: int = 200) -> None:
        self.urls = urls
        self.next = 0
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency), timeout=aiohttp.ClientTimeout(total=10)
        )
        self.headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
        self.statuses: dict[str, int] = {}

    async def close(self) -> None:
        await self.session.close()

    async def deliver(self, body: bytes, chat: str, give_up: float = 120.0) -> Delivery:
        delivery = Delivery(chat, time.monotonic())
        start = self.next
        self.next = (self.next + 1) % len(self.urls)
        attempt = 0
        while time.monotonic() - delivery.posted_at < give_up:
            url = self.urls[(start + attempt) % len(self.urls)]
            attempt += 1
            try:
                async with self.session.post(url + "/webhooks/telegram", data=body, headers=self.headers) as resp:
                    await resp.read()
                    self.statuses[str(resp.status)] = self.statuses.get(str(resp.status), 0) + 1
                    if resp.status == 200:
                        delivery.ack = time.monotonic() - delivery.posted_at
                        return delivery
                    delivery.failures.append(str(resp.status))
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                self.statuses[type(exc).__name__] = self.statuses.get(type(exc).__name__, 0) + 1
                delivery.failures.append(type(exc).__name__)
            if attempt % len(self.urls) == 0:
                await asyncio.sleep(min(2.0, 0.1 * attempt))  # every replica refused: back off, like Telegram
        return delivery


@dataclass
class Traffic:
    """Mixed updates, one chat each (duplicates re-deliver an earlier update of the same run)."""

    codes: list[str]
    next_id: int
    duplicate_share: float = 0.1
    rng: random.Random = field(default_factory=lambda: random.Random(2026))
    sent: list[tuple[bytes, str]] = field(default_factory=list)

    def begin(self) -> None:
        """A new run: duplicates repeat only this run's updates (whose chats the run's checks cover)."""
        self.sent.clear()

    def make(self, kind: str | None = None) -> tuple[bytes, str, str]:
        kind = kind or self.rng.choices(["faq", "lookup", "button", "duplicate"], [50, 25, 15, 10])[0]
        if kind == "duplicate" and self.sent:
            body, chat = self.rng.choice(self.sent[-200:])
            return body, chat, kind
        if kind == "duplicate":
            kind = "faq"
        self.next_id += 1
        uid = self.next_id
        if kind == "faq":
            update = message_update(uid, uid, self.rng.choice(QUESTIONS), "R")
        elif kind == "lookup":
            update = message_update(uid, uid, self.rng.choice(self.codes), "R")
        else:
            update = button_update(uid, uid, self.rng.choice(BUTTONS))
        body = json.dumps(update).encode()
        self.sent.append((body, str(uid)))
        return body, str(uid), kind


@dataclass
class Run:
    """What one scenario offered and what came of it."""

    deliveries: list[Delivery]
    seconds: float
    chats: set[str]

    @property
    def acks(self) -> list[float]:
        return [d.ack for d in self.deliveries if d.ack is not None]

    @property
    def errors(self) -> int:
        return sum(len(d.failures) for d in self.deliveries)

    @property
    def unacked(self) -> int:
        return sum(d.ack is None for d in self.deliveries)

    @property
    def rate(self) -> float:
        return len(self.deliveries) / self.seconds if self.seconds else 0.0


async def offer(
    platform: Platform,
    traffic: Traffic,
    *,
    rate: float | None,
    seconds: float | None = None,
    count: int | None = None,
    concurrency: int = 40,
    during: Callable[[int], Awaitable[None]] | None = None,
    kinds: Sequence[str] | None = None,
) -> Run:
    """Offer updates at `rate` a second (or as fast as `concurrency` connections allow when None)."""
    deliveries: list[Delivery] = []
    chats: set[str] = set()
    slots = asyncio.Semaphore(concurrency if rate is None else 10_000)
    tasks: list[asyncio.Task[None]] = []
    traffic.begin()
    started = time.monotonic()

    async def one(body: bytes, chat: str) -> None:
        async with slots:
            deliveries.append(await platform.deliver(body, chat))

    n = 0
    while True:
        if count is not None and n >= count:
            break
        if seconds is not None and time.monotonic() - started >= seconds:
            break
        if rate is not None:
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        else:
            while len([t for t in tasks if not t.done()]) >= concurrency:
                await asyncio.sleep(0.001)
        body, chat, _kind = traffic.make(kinds[n % len(kinds)] if kinds else None)
        chats.add(chat)
        tasks.append(asyncio.create_task(one(body, chat)))
        n += 1
        if during is not None:
            await during(n)
    await asyncio.gather(*tasks)
    return Run(deliveries, time.monotonic() - started, chats)


# --- checks -----------------------------------------------------------------------------------------


class Checker:
    """Reads the fake's counts and the database's queues."""

    def __init__(self, fake_url: str, database_url: str) -> None:
        self.fake_url = fake_url
        self.database_url = database_url

    async def stats(self, low: int, high: int) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.fake_url}/stats", params={"low": low, "high": high}) as response,
        ):
            data: dict[str, Any] = await response.json()
            return data

    async def faults(self, **values: Any) -> None:
        async with aiohttp.ClientSession() as session, session.post(f"{self.fake_url}/faults", json=values) as resp:
            await resp.read()

    async def queues(self) -> dict[str, int]:
        import asyncpg
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        conn = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
        )
        try:
            rows = await conn.fetch(
                "SELECT 'inbox_' || status AS s, count(*) AS n FROM inbox GROUP BY status "
                "UNION ALL SELECT 'outbox_' || status, count(*) FROM outbox GROUP BY status"
            )
            return {r["s"]: int(r["n"]) for r in rows}
        finally:
            await conn.close()

    async def blocked_contacts(self, chats: Sequence[str]) -> int:
        query = "SELECT count(*) FROM chat_contacts WHERE channel = 'telegram' AND blocked AND chat_id = ANY($1)"
        return await self.count(query, list(chats))

    async def in_flight(self) -> int:
        """Outbox rows claimed for sending right now (by either replica): the most a crash can repeat."""
        return await self.count("SELECT count(*) FROM outbox WHERE status = 'sending' AND locked_until > now()")

    async def count(self, query: str, *args: Any) -> int:
        import asyncpg
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        conn = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
        )
        try:
            return int(await conn.fetchval(query, *args))
        finally:
            await conn.close()

    async def drained(self, chats: set[str], low: int, high: int, timeout: float, expect_silent: set[str]) -> float:
        """Wait until every chat was answered and nothing is pending; returns the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            stats = await self.stats(low, high)
            answered = set(stats["answered"])
            with contextlib.suppress(Exception):
                queues = await self.queues()
                pending = queues.get("inbox_pending", 0) + queues.get("outbox_pending", 0)
                pending += queues.get("outbox_sending", 0)
                if (chats - expect_silent) <= answered and pending == 0:
                    return time.monotonic() - started
            await asyncio.sleep(0.25)
        return float("nan")


@dataclass
class Row:
    """One line of the results table."""

    scenario: str
    traffic: str
    ack: str
    errors: str
    answered: str
    missing: int
    twice: int
    notes: str
    ok: bool


async def outcome(
    checker: Checker, run: Run, low: int, high: int, drain_timeout: float, silent: set[str] | None = None
) -> tuple[int, int, int, float, dict[str, Any]]:
    """(answered, missing, twice, drain seconds, stats) for the chats of a run."""
    silent = silent or set()
    drain = await checker.drained(run.chats, low, high, drain_timeout, silent)
    stats = await checker.stats(low, high)
    answered = set(stats["answered"])
    expected = run.chats - silent
    missing = len(expected - answered)
    twice = sum(int(n) for c, n in stats["twice"].items() if c in run.chats)
    if missing or twice:  # examples, to look them up in the kept database (--keep)
        print(
            f"    missing e.g. {sorted(expected - answered)[:5]}; twice e.g. {sorted(stats['twice'])[:5]}", flush=True
        )
    return len(expected & answered), missing, twice, drain, stats


def reply_p99(run: Run, stats: dict[str, Any]) -> float:
    posted: dict[str, float] = {}
    for d in run.deliveries:
        posted.setdefault(d.chat, d.posted_at)
    return pct([stats["first_at"][c] - posted[c] for c in posted if c in stats["first_at"]], 99)


# --- scenarios ----------------------------------------------------------------------------------------


@dataclass
class Env:
    replicas: list[Replica]
    redis: RedisServer
    platform: Platform
    checker: Checker
    traffic: Traffic
    options: argparse.Namespace
    rows: list[Row] = field(default_factory=list)

    def window(self) -> tuple[int, int]:
        """The chat ids the next scenario will use (each update id is its own chat)."""
        return self.traffic.next_id + 1, self.traffic.next_id + 10_000_000


async def calibrate(env: Env) -> list[float]:
    """The probed rates whose ack p99 stays ≤ 80 % of the target (room for a run 4–6× longer) with no
    errors, nothing missing and the replies keeping up; lowest first."""
    good_rates: list[float] = []
    for rate in env.options.rates:
        low, high = env.window()
        run = await offer(env.platform, env.traffic, rate=rate, seconds=env.options.probe_seconds)
        _answered, missing, _twice, _drain, stats = await outcome(env.checker, run, low, high, 60)
        p99, r99 = pct(run.acks, 99), reply_p99(run, stats)
        good = p99 <= PROBE_MARGIN * ACK_P99_TARGET and run.errors == 0 and missing == 0 and r99 <= REPLY_P99_TARGET
        good = good and run.rate >= 0.9 * rate
        print(
            f"  probe {rate:6.0f}/s: offered {run.rate:6.1f}/s, ack p99 {p99 * 1000:6.1f} ms, "
            f"reply p99 {r99 * 1000:7.0f} ms, errors {run.errors} -> {'ok' if good else 'over'}",
            flush=True,
        )
        if not good:
            break
        good_rates.append(rate)
    return good_rates or [env.options.rates[0]]


async def sustained(env: Env, rates: list[float]) -> None:
    """The highest calibrated rate held for the whole run; one step down if its p99 went over the target."""
    tried: list[str] = []
    for rate in sorted(rates, reverse=True)[:2]:
        rss_before = [r.rss() for r in env.replicas]
        low, high = env.window()
        run = await offer(env.platform, env.traffic, rate=rate, seconds=env.options.sustain_seconds)
        answered, missing, twice, drain, stats = await outcome(env.checker, run, low, high, 120)
        rss_after = [r.rss() for r in env.replicas]
        acks = run.acks
        fast = pct(acks, 99) <= ACK_P99_TARGET
        ok = (fast or not env.options.latency_gate) and run.errors == 0 and missing == 0 and twice == 0
        if not fast and not tried and len(rates) > 1:
            tried.append(f"{rate:.0f}/s first: ack p99 {pct(acks, 99) * 1000:.1f} ms, errors {run.errors}; ")
            print(f"  sustained {rate:.0f}/s: ack p99 {pct(acks, 99) * 1000:.1f} ms -> one step down", flush=True)
            continue
        rss = ", ".join(f"{b:.0f}→{a:.0f}" for b, a in zip(rss_before, rss_after, strict=True))
        env.rows.append(
            Row(
                "sustained",
                f"{run.rate:.0f}/s × {run.seconds:.0f} s ({len(run.deliveries)})",
                f"{pct(acks, 50) * 1000:.1f} / {pct(acks, 99) * 1000:.1f} ms",
                str(run.errors),
                f"{answered}/{len(run.chats)}",
                missing,
                twice,
                f"{''.join(tried)}{'' if fast else 'ack p99 over the 100 ms target (reported, not gated); '}"
                f"reply p99 {reply_p99(run, stats) * 1000:.0f} ms; RSS MiB {rss}; "
                f"drained in {drain:.1f} s",
                ok,
            )
        )
        return


async def crash(env: Env) -> None:
    victim = env.replicas[0]
    count = env.options.burst
    low, high = env.window()
    killed_at: list[float] = []
    in_flight: list[int] = []
    restart: list[asyncio.Task[None]] = []

    async def during(n: int) -> None:
        if n == count // 3 and not killed_at:
            victim.kill()
            killed_at.append(time.monotonic())
            in_flight.append(await env.checker.in_flight())

            async def back() -> None:
                await asyncio.sleep(2)
                await victim.start()

            restart.append(asyncio.create_task(back()))

    run = await offer(env.platform, env.traffic, rate=None, count=count, concurrency=40, during=during)
    await asyncio.gather(*restart)
    answered, missing, twice, drain, _stats = await outcome(env.checker, run, low, high, 180)
    acks = run.acks
    env.rows.append(
        Row(
            "crash (kill -9)",
            f"burst {len(run.deliveries)} at {run.rate:.0f}/s, 40 conns",
            f"{pct(acks, 50) * 1000:.1f} / {pct(acks, 99) * 1000:.1f} ms",
            f"{run.errors} (redelivered)",
            f"{answered}/{len(run.chats)}",
            missing,
            twice,
            f"killed at update {count // 3}, back after 2 s; outbox messages in flight at the kill "
            f"{in_flight[0]} (sent but not yet recorded ones go again: at least once); unacked {run.unacked}; "
            f"drained in {drain:.1f} s",
            missing == 0 and twice <= in_flight[0] and run.unacked == 0,
        )
    )


async def outage(
    env: Env,
    name: str,
    stop: Callable[[], Awaitable[None]],
    start: Callable[[], Awaitable[None]],
    seconds: float | None = None,
) -> None:
    """Traffic before, during and after a backing service is down; `/healthz` probed throughout.

    While it is down the webhook may answer 503 (the platform delivers again) or keep working; a 500 fails
    the scenario, as does a `/healthz` that says 200 while it is down or not 200 after.
    """
    down_for = env.options.outage_seconds if seconds is None else seconds
    rate = max(10.0, env.options.outage_rate)
    low, high = env.window()
    probes: list[tuple[str, int]] = []  # (phase, status)
    phase = ["before"]

    async def probe() -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
            while phase[0] != "done":
                for replica in env.replicas:
                    try:
                        async with session.get(replica.url + "/healthz") as resp:
                            probes.append((phase[0], resp.status))
                    except (aiohttp.ClientError, OSError, TimeoutError):
                        probes.append((phase[0], 0))
                await asyncio.sleep(0.25)

    async def script() -> None:
        await asyncio.sleep(3)
        phase[0] = "stopping"
        await stop()
        phase[0] = "down"
        await asyncio.sleep(down_for)
        phase[0] = "starting"
        await start()
        phase[0] = "after"

    env.platform.statuses.clear()  # what the earlier scenarios (a killed replica) saw is not this outage's
    prober = asyncio.create_task(probe())
    scripted = asyncio.create_task(script())
    run = await offer(env.platform, env.traffic, rate=rate, seconds=down_for + 10)
    await scripted
    answered, missing, twice, drain, stats = await outcome(env.checker, run, low, high, 180)
    phase[0] = "done"
    await prober
    down = [s for p, s in probes if p == "down"]
    before = [s for p, s in probes if p == "before"]
    after_ok = [s for p, s in probes if p == "after"][-2:]
    truthful = bool(down) and all(s == 200 for s in before) and after_ok == [200, 200]
    truthful = truthful and sum(s != 200 for s in down) >= 0.8 * len(down)
    codes = ", ".join(f"{k}×{v}" for k, v in sorted(env.platform.statuses.items()) if k != "200")
    server_errors = sum(v for k, v in env.platform.statuses.items() if k.isdigit() and k >= "500" and k != "503")
    env.platform.statuses.clear()
    apologies = len([c for c in stats["apologies"] if c in run.chats])
    env.rows.append(
        Row(
            name,
            f"{run.rate:.0f}/s × {run.seconds:.0f} s, down {down_for:.0f} s",
            f"{pct(run.acks, 50) * 1000:.1f} / {pct(run.acks, 99) * 1000:.1f} ms",
            f"{run.errors} ({codes or 'none'})",
            f"{answered}/{len(run.chats)}",
            missing,
            twice,
            f"/healthz while down: {sum(s != 200 for s in down)}/{len(down)} not 200, after: {after_ok}; "
            f"apologies {apologies}; drained in {drain:.1f} s",
            missing == 0 and twice == 0 and truthful and run.unacked == 0 and server_errors == 0,
        )
    )


async def outbox_faults(env: Env) -> None:
    low, high = env.window()
    count = env.options.fault_updates
    blocked = [str(low + n) for n in range(0, count, max(1, count // 20))][:20]
    await env.checker.faults(
        **{"429": 40, "retry_after": 1, "500": 40, "hang": 8, "hang_seconds": 8.0, "blocked": blocked}
    )
    run = await offer(env.platform, env.traffic, rate=env.options.outage_rate, count=count, kinds=["faq"])
    answered, missing, twice, drain, stats = await outcome(env.checker, run, low, high, 240, silent=set(blocked))
    await env.checker.faults(**{"429": 0, "500": 0, "hang": 0, "blocked": []})
    marked = await env.checker.blocked_contacts(blocked)
    delivered_to_blocked = sum(1 for c in blocked if c in stats["answered"])
    served = stats["served"]
    queues = await env.checker.queues()
    env.rows.append(
        Row(
            "outbox faults",
            f"{len(run.deliveries)} updates at {run.rate:.0f}/s",
            f"{pct(run.acks, 50) * 1000:.1f} / {pct(run.acks, 99) * 1000:.1f} ms",
            str(run.errors),
            f"{answered}/{len(run.chats) - len(blocked)}",
            missing,
            twice,
            f"served 429×{served['429']} 500×{served['500']} hang×{served['hang']} 403×{served['blocked']}; "
            f"blocked marked {marked}/{len(blocked)}, reached {delivered_to_blocked}; "
            f"undeliverable {queues.get('outbox_undeliverable', 0)}, failed {queues.get('outbox_failed', 0)}; "
            f"reply p99 {reply_p99(run, stats):.1f} s; drained in {drain:.1f} s",
            missing == 0 and twice == 0 and marked == len(blocked) and delivered_to_blocked == 0,
        )
    )


# --- set-up -------------------------------------------------------------------------------------------


async def seed(settings_env: dict[str, str]) -> list[str]:
    """Schema, catalogue and the demo dossiers through the project's own code; returns some dossier codes."""
    from sqlalchemy import select

    from bot import keys
    from bot.demo import load_demo
    from bot.runtime import open_app
    from bot.settings import Settings
    from storage.models import Dossier

    values: dict[str, Any] = {k.lower(): v for k, v in settings_env.items() if k.lower() in Settings.model_fields}
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    async with open_app(settings) as app:
        await load_demo(app[keys.SESSIONMAKER], app[keys.DOSSIERS], app[keys.CALENDAR])
        async with app[keys.SESSIONMAKER]() as session:
            return list((await session.execute(select(Dossier.code).limit(100))).scalars())


def default_cluster() -> str:
    """The machine's first PostgreSQL cluster, as /etc/postgresql lists it (Debian layout)."""
    versions = sorted(p.name for p in Path("/etc/postgresql").glob("*") if p.is_dir())
    return f"{versions[0] if versions else '15'} main"


def parse_options(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--short",
        action="store_true",
        help="the CI profile (< 2 minutes, no PostgreSQL restart; the ack p99 target is reported, not gated)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("RESILIENCE_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1/postgres"),
        help="a PostgreSQL server where a scratch database may be created (default: %(default)s)",
    )
    parser.add_argument(
        "--pg-cluster", default=default_cluster(), help="version and name for pg_ctlcluster (default: %(default)s)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and logs")
    options = parser.parse_args(argv)
    if options.short:
        options.rates = [25, 50, 100]
        options.probe_seconds = 4.0
        options.sustain_seconds = 15.0
        options.burst = 1000
        options.outage_seconds = 10.0
        options.outage_rate = 20.0
        options.fault_updates = 200
        options.pg_restart = False
        options.latency_gate = False  # CI: correctness fails the run; latency on a shared runner is reported
    else:
        options.rates = [25, 50, 75, 100, 125, 150, 200, 250, 300, 400]
        options.probe_seconds = 10.0
        options.sustain_seconds = 60.0
        options.burst = 3000
        options.outage_seconds = 10.0
        options.outage_rate = 40.0
        options.fault_updates = 600
        options.pg_restart = True
        options.latency_gate = True
    return options


async def bench(options: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    workdir = Path(tempfile.mkdtemp(prefix="motcua-resilience-"))
    database = f"motcua_resilience_{secrets.token_hex(4)}"
    admin_url = options.database_url
    db_url = make_url(admin_url).set(database=database).render_as_string(hide_password=False)
    await run_on_server(admin_url, f'CREATE DATABASE "{database}"')
    fake_port = free_port()
    fake_url = f"http://127.0.0.1:{fake_port}"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "DATABASE_", "REDIS_"))}
    base_env["PYTHONPATH"] = str(ROOT)
    fake = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.resilience", "--fake-server", str(fake_port)],
        env=base_env,
        stdout=(workdir / "fake.log").open("ab"),
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    redis = RedisServer(workdir)
    postgres = PostgresCluster(options.pg_cluster.split())
    replicas: list[Replica] = []
    platform: Platform | None = None
    rows: list[Row] = []
    started = time.monotonic()
    try:
        await redis.start()
        await wait_http(fake_url + "/stats", fake)
        env_vars = {
            **base_env,
            "DATABASE_URL": db_url,
            "REDIS_URL": redis.url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": fake_url + "/bot",
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_RATE_PER_SECOND": "0",
            "SCHEDULER_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            "INBOX_LEASE_SECONDS": "5",
            "OUTBOX_LEASE_SECONDS": "10",
            "OUTBOX_BACKOFF_MAX_SECONDS": "8",
        }
        codes = await seed(env_vars)
        replicas = [Replica(f"replica-{n + 1}", env_vars, workdir) for n in range(2)]
        await asyncio.gather(*(r.start() for r in replicas))
        platform = Platform([r.url for r in replicas])
        env = Env(replicas, redis, platform, Checker(fake_url, db_url), Traffic(codes, 1_000_000), options, rows)
        print(
            f"resilience ({'short' if options.short else 'full'} profile): 2 replicas on PostgreSQL "
            f"{database} + Redis :{redis.port}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        await sustained(env, await calibrate(env))
        await crash(env)

        async def redis_stop() -> None:
            redis.stop()

        await outage(env, "redis down", redis_stop, redis.start)
        if options.pg_restart:
            await outage(env, "pg restart", postgres.stop, postgres.start, seconds=5.0)
        await outbox_faults(env)
    finally:
        if postgres.stopped:
            await postgres.start()
        if platform is not None:
            await platform.close()
        for replica in replicas:
            replica.stop()
        redis.stop()
        fake.terminate()
        fake.wait(10)
        if not options.keep:
            with contextlib.suppress(Exception):
                await run_on_server(admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print_table(rows)
    print(f"total {time.monotonic() - started:.0f} s; logs in {workdir}")
    if options.json:
        options.json.write_text(json.dumps([row.__dict__ for row in rows], ensure_ascii=False, indent=2))
    return 0 if rows and all(row.ok for row in rows) else 1


def print_table(rows: Sequence[Row]) -> None:
    header = Row("scenario", "traffic", "ack p50 / p99", "errors", "answered", 0, 0, "notes", True)
    cells = [
        [r.scenario, r.traffic, r.ack, r.errors, r.answered, str(r.missing), str(r.twice), "ok" if r.ok else "FAIL"]
        for r in rows
    ]
    titles = [header.scenario, header.traffic, header.ack, header.errors, header.answered, "lost", "twice", ""]
    widths = [max(len(t), *(len(c[i]) for c in cells)) for i, t in enumerate(titles)]
    line = "  ".join(t.ljust(w) for t, w in zip(titles, widths, strict=True))
    print("\n" + line + "\n" + "-" * len(line))
    for row, cell in zip(rows, cells, strict=True):
        print("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)))
        print(" " * (widths[0] + 2) + row.notes)
    print()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--fake-server"]:
        run_fake_server(int(argv[1]))
        return 0
    return asyncio.run(bench(parse_options(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
