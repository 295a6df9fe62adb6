"""`motcua demo`, `motcua import dossiers FILE.csv`, `motcua apikey create|list|revoke`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import keys
from bot.cli.recipients import add_demo_recipients
from bot.demo import add_demo_ratings, load_demo
from bot.runtime import open_app
from bot.settings import Settings
from storage.apikeys import create_api_key, list_api_keys, revoke_api_key
from storage.errors import DomainError
from storage.importer import import_dossiers


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="load demo departments, procedures and ~200 dossiers")
    demo.set_defaults(func=run_demo)

    imp = sub.add_parser("import", help="import data")
    imp_sub = imp.add_subparsers(dest="import_what", metavar="WHAT")
    imp_sub.required = True
    dossiers = imp_sub.add_parser("dossiers", help="import dossiers from a CSV file")
    dossiers.add_argument("file", type=Path)
    dossiers.set_defaults(func=run_import)

    key = sub.add_parser("apikey", help="API keys")
    key_sub = key.add_subparsers(dest="apikey_command", metavar="ACTION")
    key_sub.required = True
    create = key_sub.add_parser("create", help="create a key (printed once, on the last line)")
    create.add_argument("--role", required=True, choices=["admin", "officer", "integration"])
    create.add_argument("--department", help="department id (required for officer)")
    create.add_argument("--name", required=True)
    create.set_defaults(func=run_apikey_create)
    listing = key_sub.add_parser("list", help="list keys (never the secrets)")
    listing.set_defaults(func=run_apikey_list)
    revoke = key_sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=run_apikey_revoke)


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        async with open_app(settings) as app:
            report = await load_demo(app[keys.SESSIONMAKER], app[keys.DOSSIERS], app[keys.CALENDAR])
            for setup in DEMO_EXTRAS:
                await setup(app)
        print(f"demo: {report.created} dossiers created, {report.existing} already there")
        return 0

    return asyncio.run(go())


# Other features add demo data (officer recipients, ratings) with `async def f(app)`.
DEMO_EXTRAS: list = [add_demo_recipients, add_demo_ratings]


def _progress_bar(total: int) -> Callable[[int], None]:
    def show(done: int) -> None:
        if total <= 0:
            return
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def run_import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    total = max(0, text.count("\n") - 1)

    async def go() -> int:
        async with open_app(settings) as app:
            try:
                report = await import_dossiers(
                    app[keys.SESSIONMAKER],
                    app[keys.DOSSIERS],
                    text,
                    tz=ZoneInfo(settings.timezone),
                    actor=f"import:{args.file.name}",
                    progress=_progress_bar(total),
                )
            except DomainError as exc:
                print(f"import refused: {exc.message}", file=sys.stderr)
                return 2
        print(
            f"accepted: {report.accepted}, unchanged (already imported): {report.unchanged}, "
            f"rejected: {len(report.rejected)}"
        )
        for error in report.rejected:
            print(f"  line {error.line}: {error.reason}")
        return 1 if report.rejected else 0

    return asyncio.run(go())


def run_apikey_create(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        async with open_app(settings) as app:
            try:
                async with app[keys.SESSIONMAKER].begin() as session:
                    row, secret = await create_api_key(
                        session, name=args.name, role=args.role, department_id=args.department
                    )
            except DomainError as exc:
                print(f"error: {exc.message}", file=sys.stderr)
                return 2
        scope = f" for department {row.department_id}" if row.department_id else ""
        print(f"API key #{row.id} '{row.name}' ({row.role}{scope}) created. It is shown only once:")
        print(secret)
        return 0

    return asyncio.run(go())


def run_apikey_list(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        async with open_app(settings) as app, app[keys.SESSIONMAKER].begin() as session:
            rows = await list_api_keys(session)
        for row in rows:
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            print(f"#{row.id}\t{row.name}\t{row.role}\t{row.department_id or '-'}\tmc_{row.prefix}_…\t{state}")
        return 0

    return asyncio.run(go())


def run_apikey_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        async with open_app(settings) as app:
            try:
                async with app[keys.SESSIONMAKER].begin() as session:
                    row = await revoke_api_key(session, args.id)
            except DomainError as exc:
                print(f"error: {exc.message}", file=sys.stderr)
                return 2
        print(f"API key #{row.id} revoked")
        return 0

    return asyncio.run(go())
