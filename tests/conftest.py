"""Shared fixtures: real SQLite always; real PostgreSQL and Redis when TEST_DATABASE_URL / TEST_REDIS_URL are set.

Any attempt to resolve a host outside loopback fails the test (no traffic to Telegram, Zalo or anywhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.settings import Settings
from storage.db import run_on_server

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def _per_worker_redis(url: str | None) -> str | None:
    """Under pytest-xdist each worker flushes its own Redis database (gw0 the given one, gw1 the one below…)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker.startswith("gw"):
        return url
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(database - int(worker[2:])) % 16}"))


TEST_REDIS_URL = _per_worker_redis(os.environ.get("TEST_REDIS_URL"))
LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0", "", None}

_real_getaddrinfo = socket.getaddrinfo


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name not in LOOPBACK and not str(name).startswith("127."):
        raise OSError(f"test tried to reach {name!r}: only 127.0.0.0/8 is allowed in tests")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)


def _backends() -> list[Any]:
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgres",
            id="postgres",
            marks=pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set: PostgreSQL skipped"),
        ),
    ]


def _state_backends() -> list[Any]:
    return [
        pytest.param("memory", id="memory"),
        pytest.param(
            "redis",
            id="redis",
            marks=pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL not set: Redis skipped"),
        ),
    ]


@pytest.fixture(params=_backends())
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated to head once per run; each test gets a copy of it."""
    assert TEST_DATABASE_URL
    name = f"motcua_tmpl_{uuid.uuid4().hex[:8]}"
    asyncio.run(run_on_server(TEST_DATABASE_URL, f'CREATE DATABASE "{name}"'))

    async def migrate() -> None:
        from storage.db import create_engine
        from storage.migrate import upgrade

        engine = create_engine(make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False))
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    try:
        yield name
    finally:
        asyncio.run(run_on_server(TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(db_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database for one test (SQLite file, or a copy of the migrated PostgreSQL template)."""
    if db_backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
        return
    assert TEST_DATABASE_URL
    template = request.getfixturevalue("pg_template")
    name = f"motcua_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(run_on_server(TEST_DATABASE_URL, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        asyncio.run(run_on_server(TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def empty_database_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (for migration tests)."""
    if db_backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    assert TEST_DATABASE_URL
    name = f"motcua_e_{uuid.uuid4().hex[:12]}"
    asyncio.run(run_on_server(TEST_DATABASE_URL, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run_on_server(TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=_state_backends())
def redis_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the in-process state store, or a flushed Redis database."""
    if request.param == "memory":
        yield None
        return
    assert TEST_REDIS_URL

    async def flush() -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(TEST_REDIS_URL)
        try:
            await client.flushdb()
        finally:
            await client.aclose()

    asyncio.run(flush())
    yield TEST_REDIS_URL


class RedisProcess:
    """A redis-server of the test's own on a free loopback port, which the test may stop and start again."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def redis_process(tmp_path: Path, unused_tcp_port: int) -> Iterator[RedisProcess]:
    """A Redis server to take down in a test (never the shared one); skipped where redis-server is missing."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisProcess(unused_tcp_port, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """Build explicit test settings; keyword arguments override fields."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "redis_url": None,
            "public_base_url": "http://127.0.0.1:8080",
            "scheduler_enabled": False,
            "session_cookie_secure": False,
            "telegram_api_base_url": "http://127.0.0.1:9/bot",
            "zalo_api_base_url": "http://127.0.0.1:9",
            "zalo_oauth_base_url": "http://127.0.0.1:9",
            "zalo_zns_base_url": "http://127.0.0.1:9",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> Any:
    """A test client on a real aiohttp server running `create_app(settings)`."""
    from bot.app import create_app

    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def api_key(client: Any) -> Callable[..., Any]:
    """Create API keys on the running app: `await api_key("admin")`, `await api_key("officer", "so-tu-phap")`."""
    from bot import keys
    from storage.apikeys import create_api_key

    async def make(role: str = "admin", department: str | None = None) -> dict[str, str]:
        async with client.app[keys.SESSIONMAKER].begin() as session:
            _row, secret = await create_api_key(session, name=f"test-{role}", role=role, department_id=department)
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
async def raw_engine(database_url: str) -> AsyncIterator[Any]:
    """An engine on the test database (for direct checks)."""
    from storage.db import create_engine

    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


__all__ = ["TEST_DATABASE_URL", "TEST_REDIS_URL", "RedisProcess", "text"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that use both a database and a state store run on SQLite + memory and PostgreSQL + Redis.

    The two mixed pairs add time, not coverage (each backend's own contract tests run separately);
    MOTCUA_ALL_COMBINATIONS=1 runs them too.
    """
    if os.environ.get("MOTCUA_ALL_COMBINATIONS") == "1":
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "db_backend" in params and "redis_url" in params:
            pair = (params["db_backend"], params["redis_url"])
            if pair not in {("sqlite", "memory"), ("postgres", "redis")}:
                dropped.append(item)
                continue
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def backends_notice(database_url: str | None, redis_url: str | None, skipped: int) -> str | None:
    """One line saying why tests were skipped when PostgreSQL and/or Redis were not given (None otherwise)."""
    missing = [name for name, url in (("TEST_DATABASE_URL", database_url), ("TEST_REDIS_URL", redis_url)) if not url]
    if not missing or not skipped:
        return None
    return (
        f"{skipped} tests skipped because {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: "
        "they run the same checks on PostgreSQL/Redis. Give both, e.g. "
        "TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres "
        "TEST_REDIS_URL=redis://127.0.0.1:6379/15 make test"
    )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Say once, at the end, why tests were skipped (instead of one skip reason per test in -rs)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    notice = backends_notice(
        TEST_DATABASE_URL, os.environ.get("TEST_REDIS_URL"), len(terminalreporter.stats.get("skipped", []))
    )
    if notice:
        terminalreporter.write_line(notice, yellow=True)
