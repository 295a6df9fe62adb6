"""`motcua db upgrade|current|check`: schema migrations (alembic)."""

from __future__ import annotations

import argparse
import asyncio

from bot.settings import Settings
from storage.db import create_engine
from storage.migrate import current_revision, migration_lock, upgrade


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("db", help="database schema")
    db_sub = parser.add_subparsers(dest="db_command", metavar="ACTION")
    db_sub.required = True
    up = db_sub.add_parser("upgrade", help="apply migrations up to REVISION (default head)")
    up.add_argument("revision", nargs="?", default="heads")
    up.set_defaults(func=run_upgrade)
    cur = db_sub.add_parser("current", help="print the schema revision")
    cur.set_defaults(func=run_current)
    check = db_sub.add_parser("check", help="exit 0 when the schema is at head, 1 otherwise (before a replica starts)")
    check.set_defaults(func=run_check)


def run_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            async with migration_lock(engine):
                await upgrade(engine, args.revision)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    print(f"schema at revision {asyncio.run(go())}")
    return 0


async def _current(settings: Settings) -> str | None:
    """The database's schema revision (None when empty)."""
    engine = create_engine(settings.database_url)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


def run_current(args: argparse.Namespace, settings: Settings) -> int:
    print(asyncio.run(_current(settings)) or "empty (run: motcua db upgrade)")
    return 0


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    """0 when the database's schema is at the code's head revision; 1 (and why) otherwise."""
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())

    current = asyncio.run(_current(settings))
    if current in heads:
        print(f"schema at head ({current})")
        return 0
    print(f"schema at {current or 'nothing'}, code expects {', '.join(sorted(heads))}: run motcua db upgrade")
    return 1
