"""Webhook benchmark: `motcua serve` (inbox + outbox) against a bare python-telegram-bot echo bot.

Run `python -m benchmarks.webhook [--updates 5000] [--concurrency 40] [--database-url URL] [--redis-url URL]`.

Every server runs as a subprocess whose Telegram API base URL points at a lean fake Bot API (its own
process on 127.0.0.1, timing the first reply to each chat). This process posts Telegram updates, each from
its own chat, and measures for each server:

* saturated: `--updates` posted with `--concurrency` requests always in flight (Telegram's default webhook
  `max_connections` is 40) — updates fully handled per second, from the first POST to the last reply seen
  by the fake, and the server's CPU time per update (from /proc: independent of what else the machine runs);
* paced: `--paced-updates` offered at `--paced-rate` a second — the acknowledgement latency (p50, p99) a
  server shows below its limit. (Saturated, every request queues behind the 39 others: there the
  acknowledgement time is just concurrency / throughput.)

The baseline is PTB's custom-webhook pattern on aiohttp (`Update.de_json` → `update_queue` → a handler
that calls `reply_text`, `concurrent_updates` on so it is not held back by one-at-a-time handling); it
stores nothing and retries nothing. It runs on PTB's default HTTP transport (httpx) and on the aiohttp
transport motcua gives PTB. `motcua serve` stores each update in the inbox before answering, handles it
through the pipeline — asked "/help" (a handler as trivial as an echo: the cost of the inbox/outbox
guarantees) and a mix of FAQ questions (the matcher on top) — and sends the reply through the outbox
(claimed, rate-limited, marked sent). Its overall Telegram rate limit is lifted (`TELEGRAM_RATE_PER_SECOND=0`:
the fake has no limit); the per-chat limit stays on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web

from benchmarks.common import QUESTIONS, free_port, message_update, pct

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret"


# --- a lean fake Bot API in its own process, timing each reply ---------------------------------------
# (tests/fakes/telegram.py records and parses everything; here the fake must cost far less than the
# servers it measures.) Times are CLOCK_MONOTONIC, comparable across processes.

BOT_USER = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}


def run_fake_server(port: int) -> None:
    replied_at: dict[str, float] = {}
    counter = iter(range(1, 10**9))

    async def api(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "getMe":
            return web.json_response({"ok": True, "result": BOT_USER})
        if method != "sendMessage":
            return web.json_response({"ok": True, "result": True})
        body = await request.read()
        if request.content_type == "application/json":
            chat = str(json.loads(body).get("chat_id"))
        else:
            chat = parse_qs(body.decode()).get("chat_id", ["0"])[0]
        replied_at.setdefault(chat, time.monotonic())
        message = {"message_id": next(counter), "date": int(time.time()), "chat": {"id": int(chat), "type": "private"}}
        return web.json_response({"ok": True, "result": message})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(replied_at)

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", api)
    app.router.add_get("/stats", stats)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def replies(fake_url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(fake_url + "/stats") as response:
        data: dict[str, float] = await response.json()
        return data


# --- the baseline: a bare PTB custom-webhook echo bot --------------------------------------------------


def run_baseline_server(port: int, api_base_url: str, token: str, concurrency: int, transport: str) -> None:
    """PTB custom webhook on aiohttp: parse, queue, echo. No inbox, no outbox."""
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    sys.path.insert(0, str(ROOT))
    from bot.channels.telegram import AiohttpRequest

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(update.message.text or "")

    async def main() -> None:
        builder = Application.builder().token(token).base_url(api_base_url).updater(None)
        if transport == "aiohttp":  # the HTTP transport motcua gives PTB, for a like-for-like comparison
            builder = builder.request(AiohttpRequest(pool_size=256)).get_updates_request(AiohttpRequest(1))
        if concurrency > 1:
            builder = builder.concurrent_updates(concurrency)
        application = builder.build()
        application.add_handler(MessageHandler(filters.TEXT, echo))

        async def webhook(request: web.Request) -> web.Response:
            if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
                return web.Response(status=403)
            await application.update_queue.put(Update.de_json(await request.json(), application.bot))
            return web.Response()

        async def health(request: web.Request) -> web.Response:
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/webhooks/telegram", webhook)
        app.router.add_get("/healthz", health)
        runner = web.AppRunner(app, access_log=None)
        async with application:
            await application.start()
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            await asyncio.Event().wait()

    asyncio.run(main())


# --- load ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    updates: int
    seconds: float
    ack: list[float]
    handled: list[float]
    cpu: float | None = None  # CPU seconds the server process used (user + system)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def line(self, phase: str) -> str:
        ack = sorted(self.ack)
        handled = sorted(self.handled)
        return (
            f"{self.name:<14} {phase:<9} {self.updates:>5} updates in {self.seconds:6.2f} s "
            f"= {self.rate:7.1f}/s handled; "
            f"ack p50 {pct(ack, 50) * 1000:6.2f} ms p99 {pct(ack, 99) * 1000:6.2f} ms; "
            f"reply p50 {pct(handled, 50) * 1000:7.1f} ms p99 {pct(handled, 99) * 1000:7.1f} ms"
            + (f"; server CPU {self.cpu / self.updates * 1000:.2f} ms/update" if self.cpu is not None else "")
        )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), independent of what else the machine runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}")
            try:
                async with session.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("server did not become healthy")


async def load(
    name: str,
    url: str,
    fake_url: str,
    first_id: int,
    count: int,
    concurrency: int,
    timeout: float,
    questions: Sequence[str] = QUESTIONS,
    rate: float | None = None,
) -> Result:
    """Post `count` updates, each from its own chat, and wait for every reply at the fake.

    Without `rate`, `concurrency` posters send as fast as the server acknowledges (saturation); with it,
    updates are offered at `rate` a second (at most `concurrency` in flight), which shows the
    acknowledgement latency a server has below its limit.
    """
    updates = [
        message_update(first_id + n, 10_000_000 + first_id + n, questions[n % len(questions)]) for n in range(count)
    ]
    bodies = [json.dumps(u).encode() for u in updates]
    ack: list[float] = []
    posted_at: dict[str, float] = {}
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    slots = asyncio.Semaphore(concurrency)
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(n: int) -> None:
            chat = str(updates[n]["message"]["chat"]["id"])
            async with slots:
                t0 = time.monotonic()
                posted_at[chat] = t0
                async with session.post(url + "/webhooks/telegram", data=bodies[n], headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{name}: webhook answered {response.status}")
                ack.append(time.monotonic() - t0)

        if rate is None:
            await asyncio.gather(*(post(n) for n in range(count)))
        else:
            tasks = []
            for n in range(count):
                await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
                tasks.append(asyncio.create_task(post(n)))
            await asyncio.gather(*tasks)
    chats = list(posted_at)
    deadline = time.monotonic() + timeout
    while True:
        seen = await replies(fake_url)
        if all(c in seen for c in chats):
            break
        if time.monotonic() > deadline:
            missing = sum(c not in seen for c in chats)
            raise RuntimeError(f"{name}: {missing} of {count} replies missing after {timeout} s")
        await asyncio.sleep(0.1)
    finished = max(seen[c] for c in chats)
    handled = [seen[c] - posted_at[c] for c in chats]
    return Result(name, count, finished - started, ack, handled)


def start_server(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(args, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=log.parent)


async def measure(
    name: str,
    command: list[str],
    env: dict[str, str],
    port: int,
    fake_url: str,
    first_id: int,
    options: Any,
    questions: Sequence[str],
) -> tuple[Result, Result]:
    """Start a server, warm it up, saturate it, then offer a steady rate; stop it."""
    process = start_server(command, env, Path(env["BENCH_WORKDIR"]) / f"{name.replace('/', '-')}.log")
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(url, process)
        await load("warm-up", url, fake_url, first_id, options.warmup, options.concurrency, 120, questions)
        cpu_before = cpu_seconds(process.pid)
        full = await load(
            name, url, fake_url, first_id + 1_000_000, options.updates, options.concurrency, 900, questions
        )
        full.cpu = cpu_seconds(process.pid) - cpu_before
        paced = await load(
            name,
            url,
            fake_url,
            first_id + 2_000_000,
            options.paced_updates,
            options.concurrency,
            900,
            questions,
            rate=options.paced_rate,
        )
        return full, paced
    finally:
        process.terminate()
        process.wait(20)


async def bench(options: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="motcua-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "DATABASE_", "REDIS_"))}
    env.update(PYTHONPATH=str(ROOT), BENCH_WORKDIR=str(workdir))
    token = "123456:BENCH"
    fake_port = free_port()
    fake_url = f"http://127.0.0.1:{fake_port}"
    api_base = fake_url + "/bot"
    fake = start_server(
        [sys.executable, "-m", "benchmarks.webhook", "--fake-server", str(fake_port)], env, workdir / "fake.log"
    )
    # What each server is asked: the echo bot echoes; motcua answers "/help" (a handler as trivial as an
    # echo: the cost of the inbox/outbox guarantees) and a mix of FAQ questions (the matcher's cost on top).
    texts = {"help": ["/help"], "faq": QUESTIONS, "httpx": ["/help"], "aiohttp": ["/help"]}
    # The echo bot runs on PTB's default HTTP transport (httpx) and on the aiohttp transport motcua uses.
    runs = [("ptb-echo", transport) for transport in options.baseline_transports]
    runs += [("motcua", mode) for mode in options.texts]
    results: dict[tuple[str, str], list[tuple[Result, Result]]] = {run: [] for run in runs}
    try:
        await wait_until_up(fake_url + "/stats", fake)
        for round_ in range(options.rounds):
            for n, (name, mode) in enumerate(runs):
                base = 10_000_000 * (round_ * len(runs) + n + 1)
                port = free_port()
                if name == "ptb-echo":
                    command = [
                        sys.executable, "-m", "benchmarks.webhook", "--baseline-server",
                        str(port), api_base, token, str(options.baseline_concurrency), mode,
                    ]  # fmt: skip
                    run_env = env
                else:
                    command = [sys.executable, "-m", "bot", "serve"]
                    run_env = {
                        **env,
                        "DATABASE_URL": options.database_url or f"sqlite+aiosqlite:///{workdir / f'b{base}.sqlite3'}",
                        "TELEGRAM_BOT_TOKEN": token,
                        "TELEGRAM_API_BASE_URL": api_base,
                        "TELEGRAM_WEBHOOK_SECRET": SECRET,
                        "TELEGRAM_RATE_PER_SECOND": "0",
                        "SCHEDULER_ENABLED": "false",
                        "LOG_LEVEL": "WARNING",
                        "PORT": str(port),
                        "OUTBOX_BATCH_SIZE": str(options.outbox_batch),
                    }
                    if options.redis_url:
                        run_env["REDIS_URL"] = options.redis_url
                label = f"{name}/{mode}"
                results[(name, mode)].append(
                    await measure(label, command, run_env, port, fake_url, base, options, texts[mode])
                )
    finally:
        fake.terminate()
        fake.wait(10)

    backend = "PostgreSQL" if options.database_url and "postgresql" in options.database_url else "SQLite"
    state = "Redis" if options.redis_url else "memory"
    print(
        f"webhook benchmark: {options.updates} updates at saturation ({options.concurrency} in flight), then "
        f"{options.paced_updates} at {options.paced_rate:g}/s; x {options.rounds} round(s); motcua on {backend} + "
        f"{state} state; baseline PTB concurrent_updates={options.baseline_concurrency}; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for run in runs:
        for full, paced in results[run]:
            print(full.line("saturated"))
            print(paced.line(f"{options.paced_rate:g}/s"))
    for transport in options.baseline_transports:
        baseline = results[("ptb-echo", transport)]
        ptb = statistics.median(full.rate for full, _ in baseline)
        ptb_cpu = statistics.median((full.cpu or 0) / full.updates for full, _ in baseline)
        for mode in options.texts:
            ours = results[("motcua", mode)]
            rate = statistics.median(full.rate for full, _ in ours)
            cpu = statistics.median((full.cpu or 0) / full.updates for full, _ in ours)
            print(
                f"motcua/{mode} vs ptb-echo/{transport}: throughput {rate / ptb:.2f}x (target >= 0.6x), "
                f"server CPU per update {cpu / ptb_cpu:.2f}x"
            )
    for mode in options.texts:
        ours = results[("motcua", mode)]
        ack99 = statistics.median(pct(sorted(paced.ack), 99) for _, paced in ours)
        ack99_full = statistics.median(pct(sorted(full.ack), 99) for full, _ in ours)
        print(
            f"motcua/{mode}: ack p99 {ack99 * 1000:.1f} ms at {options.paced_rate:g}/s (target <= 50 ms), "
            f"{ack99_full * 1000:.1f} ms saturated ({options.concurrency} requests always waiting)"
        )
    print(f"logs: {workdir}")
    return 0


async def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"fake exited with {process.returncode}")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("fake did not start")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--baseline-server"]:
        run_baseline_server(int(argv[1]), argv[2], argv[3], int(argv[4]), argv[5])
        return 0
    if argv[:1] == ["--fake-server"]:
        run_fake_server(int(argv[1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--baseline-concurrency", type=int, default=256, help="PTB concurrent_updates (1 = off)")
    parser.add_argument("--baseline-transports", nargs="+", choices=["httpx", "aiohttp"], default=["httpx", "aiohttp"])
    parser.add_argument("--outbox-batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1, help="alternate baseline and motcua this many times")
    parser.add_argument("--paced-updates", type=int, default=1000, help="updates offered at --paced-rate")
    parser.add_argument("--paced-rate", type=float, default=50.0, help="updates a second in the paced phase")
    parser.add_argument(
        "--texts", nargs="+", choices=["help", "faq"], default=["help", "faq"], help="what motcua is asked"
    )
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--redis-url", help="default: in-process state")
    return asyncio.run(bench(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
