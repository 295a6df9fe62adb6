"""`motcua recipients add|list|remove`: officers who receive a department's daily due-date alert."""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.runtime import open_app
from bot.settings import Settings
from storage.errors import DomainError
from storage.models import Department
from storage.phones import mask_phone
from storage.recipients import NewRecipient, add_recipient, deactivate_recipient, list_recipients


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("recipients", help="officer recipients of the daily due-date alert")
    rec_sub = parser.add_subparsers(dest="recipients_command", metavar="ACTION")
    rec_sub.required = True
    add = rec_sub.add_parser("add", help="register an officer for a department's alert")
    add.add_argument("--department", required=True, help="department id (see `motcua recipients list`)")
    add.add_argument("--name", required=True)
    add.add_argument("--phone")
    add.add_argument("--telegram-chat-id")
    add.add_argument("--zalo-user-id")
    add.add_argument("--channel", required=True, choices=["sms", "telegram", "zalo"])
    add.set_defaults(func=run_add)
    listing = rec_sub.add_parser("list", help="list recipients")
    listing.add_argument("--department")
    listing.add_argument("--all", action="store_true", help="include removed recipients")
    listing.set_defaults(func=run_list)
    remove = rec_sub.add_parser("remove", help="stop the alerts to a recipient (by id)")
    remove.add_argument("id", type=int)
    remove.set_defaults(func=run_remove)


def run_add(args: argparse.Namespace, settings: Settings) -> int:
    new = NewRecipient(
        department_id=args.department,
        name=args.name,
        channel=args.channel,
        phone=args.phone,
        telegram_chat_id=args.telegram_chat_id,
        zalo_user_id=args.zalo_user_id,
    )

    async def go() -> int:
        async with open_app(settings) as app:
            try:
                async with app[keys.SESSIONMAKER].begin() as session:
                    row = await add_recipient(session, new)
            except DomainError as exc:
                print(f"error: {exc.message}", file=sys.stderr)
                return 2
        print(f"recipient #{row.id} {row.name} ({row.department_id}) added: alerts by {row.channel}")
        return 0

    return asyncio.run(go())


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        async with open_app(settings) as app, app[keys.SESSIONMAKER]() as session:
            rows = await list_recipients(session, department_id=args.department, include_inactive=args.all)
        if not rows:
            print("no recipients (add one: motcua recipients add --department ID --name N --phone P --channel sms)")
            return 0
        print("id\tdepartment\tname\tchannel\tphone\ttelegram\tzalo\tstate")
        for row in rows:
            print(
                f"{row.id}\t{row.department_id}\t{row.name}\t{row.channel}\t{row.phone or '-'}\t"
                f"{row.telegram_chat_id or '-'}\t{row.zalo_user_id or '-'}\t{'active' if row.active else 'removed'}"
            )
        return 0

    return asyncio.run(go())


def run_remove(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        async with open_app(settings) as app:
            try:
                async with app[keys.SESSIONMAKER].begin() as session:
                    row = await deactivate_recipient(session, args.id)
            except DomainError as exc:
                print(f"error: {exc.message}", file=sys.stderr)
                return 2
        print(f"recipient #{row.id} {row.name} removed: no more alerts")
        return 0

    return asyncio.run(go())


DEMO_PHONE_PREFIX = "0900000"


async def add_demo_recipients(app: web.Application) -> None:
    """One demo officer per department (SMS to a 0900000xxx number; the console gateway logs them)."""
    async with app[keys.SESSIONMAKER].begin() as session:
        departments = list(
            (await session.execute(select(Department).where(Department.active.is_(True)).order_by(Department.id)))
            .scalars()
            .all()
        )
        existing = {(r.department_id, r.phone) for r in await list_recipients(session, include_inactive=True)}
        added = 0
        for n, department in enumerate(departments, start=1):
            phone = f"{DEMO_PHONE_PREFIX}{n:03d}"
            if (department.id, phone) in existing:
                continue
            name = f"Lãnh đạo {department.short_name or department.name} (demo)"
            await add_recipient(session, NewRecipient(department.id, name, "sms", phone=phone))
            added += 1
    if added:
        print(f"demo: {added} officer recipient(s) added (SMS to {mask_phone(DEMO_PHONE_PREFIX + '001')}…)")
