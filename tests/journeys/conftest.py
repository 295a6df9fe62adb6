"""A real journey environment: migrated database (SQLite/PostgreSQL), state store (memory/Redis), the dossier
service with the notification hook, a fake clock, and the journey handlers in their production order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import catalogue_specs, create_calendar, load_knowledge
from bot.channels.registry import display_names
from bot.settings import Settings
from handlers.base import Context, Handler, IncomingMessage, Reply
from handlers.dossier_lookup import handle_dossier_lookup
from handlers.handoff import handle_handoff
from handlers.language import handle_language
from handlers.notifications import create_notification_hook
from handlers.rating import handle_rating
from handlers.subscribe import handle_phone_link, handle_subscribe
from knowledge import KnowledgeBase, Matcher
from storage.catalogue import sync_catalogue
from storage.contacts import note_inbound, touch_contacts
from storage.db import create_engine, create_sessionmaker
from storage.dossiers import DossierService, NewDossier
from storage.migrate import upgrade
from storage.models import ChatContact, Dossier, OutboxMessage
from storage.state import create_state_store

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Monday 23 November 2026, 10:00 in Hà Nội: a working day, inside working hours, outside quiet hours.
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
OFFICERS_CHAT = "-1001234567890"
PROCEDURE = "cap-phieu-ly-lich-tu-phap"  # cong-an, 10 working days

JOURNEY_HANDLERS: list[Handler] = [
    handle_language,
    handle_handoff,
    handle_subscribe,
    handle_phone_link,
    handle_rating,
    handle_dossier_lookup,
]


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now = self.now + timedelta(**delta)

    def set_local(self, year: int, month: int, day: int, hour: int, minute: int = 0) -> None:
        self.now = datetime(year, month, day, hour, minute, tzinfo=TZ)


@dataclass
class Journey:
    """Talk to the journey handlers and inspect what they stored."""

    ctx: Context
    clock: FakeClock
    handlers: list[Handler] = field(default_factory=lambda: list(JOURNEY_HANDLERS))

    async def send(self, msg: IncomingMessage) -> list[Reply] | None:
        """The replies of the first handler that answers, None when no journey handler does.

        Like the inbox, a private chat's message refreshes its contact and opens the reply window."""
        replies: list[Reply] | None = None
        for handler in self.handlers:
            replies = await handler(msg, self.ctx)
            if replies is not None:
                break
        if msg.chat_type == "private" and msg.kind != "unfollow":
            async with self.ctx.sessionmaker.begin() as session:
                ids = await touch_contacts(session, [(msg.channel, msg.chat_id, msg.user_id, msg.language)])
                await note_inbound(session, ids[(msg.channel, msg.chat_id)], self.clock(), msg.message_id)
        return replies

    async def say(self, text: str = "", *, chat: str = "100", channel: str = "telegram", **fields: Any) -> list[Reply]:
        """Send a message and require that a journey handler answers it."""
        replies = await self.send(IncomingMessage(channel=channel, chat_id=chat, user_id=chat, text=text, **fields))  # type: ignore[arg-type]
        assert replies is not None, f"no journey handler answered {text!r} {fields}"
        return replies

    async def send_text(self, text: str, *, chat: str = "100", channel: str = "telegram") -> list[Reply] | None:
        """Send a text that journey handlers may leave to others (None)."""
        return await self.send(IncomingMessage(channel=channel, chat_id=chat, user_id=chat, text=text))  # type: ignore[arg-type]

    async def press(self, payload: str, *, chat: str = "100", channel: str = "telegram") -> list[Reply]:
        return await self.say(chat=chat, channel=channel, kind="button", payload=payload)

    async def new_dossier(self, **fields: Any) -> Dossier:
        values: dict[str, Any] = {
            "procedure_id": PROCEDURE,
            "applicant_name": "Nguyễn Thị Hoa",
            "applicant_phone": "0912345678",
            "applicant_id_number": "001190012345",
            "channel": "direct",
            "documents": ["Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp", "Bản chụp CCCD"],
            "fees": 200000,
        }
        values.update(fields)
        async with self.ctx.sessionmaker.begin() as session:
            return await self.ctx.dossiers.create(session, NewDossier(**values), actor="test")

    async def change(self, dossier: Dossier, **fields: Any) -> bool:
        async with self.ctx.sessionmaker.begin() as session:
            fresh = await self.ctx.dossiers.get(session, dossier.code)
            _d, changed = await self.ctx.dossiers.change(session, fresh, actor="test", **fields)
        return changed

    async def outbox(self, kind: str | None = None) -> list[OutboxMessage]:
        async with self.ctx.sessionmaker() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if kind is not None:
                query = query.where(OutboxMessage.kind == kind)
            return list((await session.execute(query)).scalars())

    async def contact(self, chat: str = "100", channel: str = "telegram") -> ChatContact | None:
        async with self.ctx.sessionmaker() as session:
            result = await session.execute(
                select(ChatContact).where(ChatContact.channel == channel, ChatContact.chat_id == chat)
            )
            return result.scalar_one_or_none()


MakeJourney = Callable[..., Awaitable[Journey]]


@pytest.fixture(scope="session")
def knowledge() -> tuple[KnowledgeBase, Matcher]:
    return load_knowledge(Settings(_env_file=None))  # type: ignore[call-arg]


@pytest.fixture
async def make_journey(
    make_settings: Callable[..., Settings], redis_url: str | None, knowledge: tuple[KnowledgeBase, Matcher]
) -> AsyncIterator[MakeJourney]:
    """`await make_journey(**settings_overrides)` → a Journey on a fresh database and state store."""
    engines: list[Any] = []
    stores: list[Any] = []

    async def build(**overrides: Any) -> Journey:
        values: dict[str, Any] = {
            "redis_url": redis_url,
            "officers_telegram_chat_id": int(OFFICERS_CHAT),
            "centre_address": "Số 1 Đường Trần Phú, phường Hạc Thành",
        }
        values.update(overrides)
        settings = make_settings(**values)
        clock = FakeClock(MONDAY_10AM)
        engine = create_engine(settings.database_url)
        engines.append(engine)
        await upgrade(engine)
        kb, matcher = knowledge
        departments, procedures = catalogue_specs(kb)
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker.begin() as session:
            await sync_catalogue(session, departments, procedures)
        state = create_state_store(settings.redis_url)
        stores.append(state)
        calendar = create_calendar(settings)
        service = DossierService(
            calendar,
            code_pattern=settings.dossier_code_pattern,
            centre_code=settings.centre_code,
            clock=clock,
        )
        service.hooks.append(create_notification_hook(settings, calendar, clock))
        ctx = Context(
            settings=settings,
            sessionmaker=sessionmaker,
            state=state,
            kb=kb,
            matcher=matcher,
            calendar=calendar,
            clock=clock,
            dossiers=service,
            channel_names=display_names(),
        )
        return Journey(ctx=ctx, clock=clock)

    try:
        yield build
    finally:
        for store in stores:
            await store.close()
        for engine in engines:
            await engine.dispose()


@pytest.fixture
async def journey(make_journey: MakeJourney) -> Journey:
    return await make_journey()


def texts(replies: list[Reply] | None) -> str:
    """All reply texts joined (for substring checks)."""
    assert replies is not None
    return "\n---\n".join(r.text for r in replies)


# The loopback fakes of the platforms, for the end-to-end journeys.
from tests.fakes.fixtures import fake_sms, fake_telegram, fake_zalo  # noqa: E402

__all__ = ["fake_sms", "fake_telegram", "fake_zalo"]
