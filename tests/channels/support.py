"""Helpers of the channel tests: settings for speed, and looks into the inbox, the outbox and the contacts."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bot import keys
from storage.models import ChatContact, InboxUpdate, OutboxMessage

TG_SECRET = "webhook-secret"
TG_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
# Quick polling and tiny back-off so tests wait on conditions, not on timers.
FAST = {
    "outbox_poll_interval_seconds": 0.05,
    "outbox_backoff_seconds": 0.01,
    "outbox_backoff_max_seconds": 0.05,
    "telegram_rate_per_chat_per_second": 0,
}


async def inbox_rows(app: web.Application) -> list[InboxUpdate]:
    async with app[keys.SESSIONMAKER]() as session:
        return list((await session.execute(select(InboxUpdate).order_by(InboxUpdate.id))).scalars())


async def outbox_rows(app: web.Application) -> list[OutboxMessage]:
    async with app[keys.SESSIONMAKER]() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def count(app: web.Application, model: Any) -> int:
    async with app[keys.SESSIONMAKER]() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def contact(app: web.Application, channel: str, chat_id: str) -> ChatContact | None:
    async with app[keys.SESSIONMAKER]() as session:
        result = await session.execute(
            select(ChatContact).where(ChatContact.channel == channel, ChatContact.chat_id == chat_id)
        )
        return result.scalar_one_or_none()


__all__ = ["FAST", "TG_HEADERS", "TG_SECRET", "contact", "count", "inbox_rows", "outbox_rows"]
