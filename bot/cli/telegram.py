"""`motcua telegram set-webhook|delete-webhook|webhook-info`: register the webhook once, by hand.

The webhook is never re-registered when the server starts (every replica would do it on every deploy);
run `set-webhook` once after deploying or when PUBLIC_BASE_URL or TELEGRAM_WEBHOOK_SECRET change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any
from urllib.parse import urlsplit

from telegram.error import InvalidToken, TelegramError

from bot.channels.telegram import ALLOWED_UPDATES, create_bot
from bot.settings import Settings

WEBHOOK_PATH = "/webhooks/telegram"


class CommandError(Exception):
    """A problem the operator can fix; printed without a traceback."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("telegram", help="Telegram webhook registration")
    tg_sub = parser.add_subparsers(dest="telegram_command", metavar="ACTION")
    tg_sub.required = True
    setter = tg_sub.add_parser("set-webhook", help="point Telegram at PUBLIC_BASE_URL/webhooks/telegram")
    setter.add_argument("--drop-pending-updates", action="store_true", help="discard updates Telegram holds")
    setter.add_argument("--max-connections", type=int, default=40, help="parallel connections (1-100)")
    setter.add_argument(
        "--allow-http",
        action="store_true",
        help="allow a plain-http URL (a local Bot API server; not api.telegram.org)",
    )
    setter.set_defaults(func=lambda args, settings: _run(set_webhook(settings, args), settings))
    deleter = tg_sub.add_parser("delete-webhook", help="stop webhook delivery")
    deleter.add_argument("--drop-pending-updates", action="store_true")
    deleter.set_defaults(func=lambda args, settings: _run(delete_webhook(settings, args), settings))
    info = tg_sub.add_parser("webhook-info", help="what Telegram knows about the webhook (JSON)")
    info.set_defaults(func=lambda args, settings: _run(webhook_info(settings), settings))


def webhook_url(settings: Settings, allow_http: bool = False) -> str:
    """PUBLIC_BASE_URL + /webhooks/telegram, checked to be a URL Telegram accepts."""
    base = settings.public_base_url.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise CommandError(f"PUBLIC_BASE_URL is not a URL: {settings.public_base_url!r}")
    if parts.scheme == "http" and not allow_http:
        raise CommandError("Telegram needs an https URL: set PUBLIC_BASE_URL=https://… (or pass --allow-http)")
    return base + WEBHOOK_PATH


async def set_webhook(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """Register the webhook with the secret token and the update types the bot handles."""
    if settings.telegram_webhook_secret is None:
        raise CommandError("TELEGRAM_WEBHOOK_SECRET is not set: the webhook would refuse every update")
    url = webhook_url(settings, getattr(args, "allow_http", False))
    async with create_bot(settings) as bot:
        ok = await bot.set_webhook(
            url,
            secret_token=settings.telegram_webhook_secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
            max_connections=max(1, min(100, getattr(args, "max_connections", 40))),
            drop_pending_updates=getattr(args, "drop_pending_updates", False),
        )
    return {"ok": ok, "url": url, "allowed_updates": ALLOWED_UPDATES}


async def delete_webhook(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    async with create_bot(settings) as bot:
        ok = await bot.delete_webhook(drop_pending_updates=getattr(args, "drop_pending_updates", False))
    return {"ok": ok}


async def webhook_info(settings: Settings) -> dict[str, Any]:
    async with create_bot(settings) as bot:
        info = await bot.get_webhook_info()
    return {
        "url": info.url,
        "pending_update_count": info.pending_update_count,
        "allowed_updates": list(info.allowed_updates or ()),
        "max_connections": info.max_connections,
        "last_error_date": info.last_error_date.isoformat() if info.last_error_date else None,
        "last_error_message": info.last_error_message,
    }


def _run(job: Any, settings: Settings) -> int:
    if settings.telegram_bot_token is None:
        job.close()
        print("motcua telegram: TELEGRAM_BOT_TOKEN is not set", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(job)
    except CommandError as exc:
        print(f"motcua telegram: {exc}", file=sys.stderr)
        return 2
    except InvalidToken:  # its message repeats the token: say it without
        print("motcua telegram: the Bot API rejected TELEGRAM_BOT_TOKEN", file=sys.stderr)
        return 1
    except TelegramError as exc:
        print(f"motcua telegram: the Bot API refused: {type(exc).__name__}: {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0
