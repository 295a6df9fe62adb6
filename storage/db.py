"""Engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, NullPool

SessionMaker = async_sessionmaker[AsyncSession]


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False, persistent: bool = False) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, foreign keys and a busy timeout.

    `persistent` keeps up to `pool_size` SQLite connections open (each aiosqlite connection is a thread):
    for the inbox/outbox workers, whose many small transactions would otherwise each open one.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
        if persistent:
            kwargs["poolclass"] = AsyncAdaptedQueuePool
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = 0
        else:
            # One connection per use: SQLite serialises writers anyway and NullPool keeps tests isolated.
            kwargs["poolclass"] = NullPool
    else:
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = pool_size
        kwargs["pool_pre_ping"] = True
        kwargs["pool_timeout"] = 5
        kwargs["connect_args"] = {"timeout": 5, "command_timeout": 30}
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Raise when the database cannot answer a trivial query."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


async def run_on_server(url: str, statement: str) -> None:
    """Run one statement on the PostgreSQL server of `url` (connected to its database, or `postgres`) outside
    any transaction: CREATE DATABASE and DROP DATABASE for tests and benchmarks' scratch databases."""
    import asyncpg

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database=parsed.database or "postgres",
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
