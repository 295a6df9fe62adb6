"""The Zalo OA client: tokens (refresh once, under a shared lock, stored before use) and error codes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot import keys
from bot.channels.zalo import ZaloAuthError, ZaloChannel, ZaloClient, ZaloTokens, token_row_name
from bot.settings import Settings
from handlers.base import Attachment, Button, Reply
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade
from storage.models import PlatformToken, utcnow
from storage.state import StateStore, create_state_store
from tests.fakes import FakeZalo
from tests.fakes.base import wait_until


@dataclass
class Replica:
    """One replica's Zalo stack: its own engine, HTTP session, token store and channel."""

    tokens: ZaloTokens
    channel: ZaloChannel


@pytest.fixture
def zalo_settings(make_settings: Callable[..., Settings], fake_zalo: FakeZalo) -> Settings:
    for user in ("u1", "u2"):  # the citizens wrote a minute ago: consultation messages may answer
        fake_zalo.interacted(user)
    return make_settings(**fake_zalo.settings())


@pytest.fixture
async def replicas(
    zalo_settings: Settings, redis_url: str | None, db_backend: str
) -> AsyncIterator[Callable[[int], list[Replica]]]:
    """Build n replicas on the same database (and, with Redis, the same state)."""
    engines: list[Any] = []
    sessions: list[aiohttp.ClientSession] = []
    states: list[StateStore] = []
    migrated = create_engine(zalo_settings.database_url)
    await upgrade(migrated)
    await migrated.dispose()
    # A single SQLite process shares one in-process state store; replicas need Redis or PostgreSQL locks.
    shared = create_state_store(redis_url)
    states.append(shared)

    def build(n: int) -> list[Replica]:
        built = []
        for _ in range(n):
            engine = create_engine(zalo_settings.database_url)
            http = aiohttp.ClientSession()
            if redis_url is None and db_backend == "sqlite":
                state = shared
            else:
                state = create_state_store(redis_url)
                states.append(state)
            engines.append(engine)
            sessions.append(http)
            tokens = ZaloTokens(
                http=http, settings=zalo_settings, sessionmaker=create_sessionmaker(engine), state=state
            )
            built.append(Replica(tokens, ZaloChannel(zalo_settings, state, ZaloClient(http, zalo_settings, tokens))))
        return built

    yield build
    for http in sessions:
        await http.close()
    for engine in engines:
        await engine.dispose()
    for state in states:
        await state.close()


async def stored_pair(settings: Settings) -> PlatformToken:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            query = select(PlatformToken).where(PlatformToken.name == token_row_name(settings))
            return (await session.execute(query)).scalar_one()
    finally:
        await engine.dispose()


# --- tokens -----------------------------------------------------------------------------------------


async def test_a_rejected_token_is_refreshed_once_and_the_call_retried(
    replicas: Callable[[int], list[Replica]], fake_zalo: FakeZalo, zalo_settings: Settings
) -> None:
    [replica] = replicas(1)
    assert (await replica.channel.send("u1", Reply(text="một").to_payload())).status == "sent"
    fake_zalo.expire_access_token()
    outcome = await replica.channel.send("u1", Reply(text="hai").to_payload())
    assert outcome.status == "sent"
    assert [c["refresh_token"] for c in fake_zalo.refresh_calls] == ["REFRESH-0"]
    assert fake_zalo.texts("u1") == ["một", "hai"]
    row = await stored_pair(zalo_settings)  # the rotated pair is stored
    assert (row.access_token, row.refresh_token) == (fake_zalo.access_token, fake_zalo.refresh_token)
    assert row.expires_at > utcnow() + timedelta(hours=24)


async def test_two_workers_racing_use_the_single_use_refresh_token_once(
    replicas: Callable[[int], list[Replica]], fake_zalo: FakeZalo, zalo_settings: Settings
) -> None:
    first, second = replicas(2)
    # Both start with the configured token, which Zalo has meanwhile expired.
    fake_zalo.expire_access_token()
    fake_zalo.refresh_delay = 0.3  # a slow OAuth answer widens the window for a race
    outcomes = await asyncio.gather(
        first.channel.send("u1", Reply(text="từ máy một").to_payload()),
        second.channel.send("u2", Reply(text="từ máy hai").to_payload()),
    )
    assert [o.status for o in outcomes] == ["sent", "sent"]
    assert len(fake_zalo.refresh_calls) == 1, fake_zalo.refresh_calls  # one refresh, no reuse refused
    assert first.tokens.refreshes + second.tokens.refreshes == 1
    row = await stored_pair(zalo_settings)
    assert row.refresh_token == fake_zalo.refresh_token != "REFRESH-0"
    # Later, both keep working with the rotated pair without refreshing again.
    assert (await first.channel.send("u1", Reply(text="tiếp").to_payload())).status == "sent"
    assert (await second.channel.send("u2", Reply(text="tiếp").to_payload())).status == "sent"
    assert len(fake_zalo.refresh_calls) == 1


async def test_a_token_close_to_expiry_is_refreshed_before_use(
    replicas: Callable[[int], list[Replica]], fake_zalo: FakeZalo, zalo_settings: Settings
) -> None:
    [replica] = replicas(1)
    assert (await replica.channel.send("u1", Reply(text="một").to_payload())).status == "sent"
    engine = create_engine(zalo_settings.database_url)
    async with create_sessionmaker(engine).begin() as session:
        row = await session.get(PlatformToken, token_row_name(zalo_settings))
        assert row is not None
        row.expires_at = utcnow() + timedelta(hours=1)
    await engine.dispose()
    fresh = replicas(1)[0]  # a new process reads the row
    assert (await fresh.channel.send("u1", Reply(text="hai").to_payload())).status == "sent"
    assert len(fake_zalo.refresh_calls) == 1
    assert [c.ok for c in fake_zalo.calls if c.path.endswith("/cs")] == [True, True]  # no -216 round trip


async def test_new_tokens_in_the_settings_start_over_from_them(
    replicas: Callable[[int], list[Replica]], make_settings: Callable[..., Settings], fake_zalo: FakeZalo
) -> None:
    old = make_settings(**fake_zalo.settings())
    new = make_settings(**{**fake_zalo.settings(), "zalo_refresh_token": "REFRESH-re-granted"})
    assert token_row_name(old) != token_row_name(new)


async def test_refresh_refused_is_a_retry_and_logs_no_secret(
    replicas: Callable[[int], list[Replica]], fake_zalo: FakeZalo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    [replica] = replicas(1)
    fake_zalo.expire_access_token()
    fake_zalo.refresh_token = "SOMETHING-ELSE"  # the stored refresh token is no longer valid
    outcome = await replica.channel.send("u1", Reply(text="một").to_payload())
    assert outcome.status == "retry" and "refused" in (outcome.error or "")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "REFRESH-0" not in logged and "ACCESS-0" not in logged and "app-secret-key" not in logged
    with pytest.raises(ZaloAuthError):
        await replica.tokens.refresh(stale="ACCESS-0")


# --- error codes and message shapes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (-213, "blocked"),
        (-230, "reroute"),
        (-232, "reroute"),
        (-244, "blocked"),
        (-32, "retry"),
        (-200, "retry"),
        (-201, "failed"),
    ],
)
async def test_zalo_error_codes_map_to_outbox_outcomes(
    replicas: Callable[[int], list[Replica]], fake_zalo: FakeZalo, error: int, status: str
) -> None:
    [replica] = replicas(1)
    fake_zalo.fail(error=error, user_id="u1")
    outcome = await replica.channel.send("u1", Reply(text="một").to_payload())
    assert outcome.status == status and str(error) in (outcome.error or "")
    if error == -32:
        assert outcome.retry_after == 60.0  # the OA's rate limit: back off, do not hammer


async def test_http_level_failures_are_retried(replicas: Callable[[int], list[Replica]], fake_zalo: FakeZalo) -> None:
    [replica] = replicas(1)
    fake_zalo.fail(status=502, user_id="u1")
    outcome = await replica.channel.send("u1", Reply(text="một").to_payload())
    assert outcome.status == "retry"


async def test_long_text_is_split_and_buttons_ride_on_the_last_part(
    replicas: Callable[[int], list[Replica]], fake_zalo: FakeZalo
) -> None:
    [replica] = replicas(1)
    buttons = [Button(f"Nút {n}", f"kb:x:{n}") for n in range(7)]
    reply = Reply.with_buttons("Câu trả lời dài. " * 300, buttons)
    assert (await replica.channel.send("u1", reply.to_payload())).status == "sent"
    messages = [c.params["message"] for c in fake_zalo.messages("u1")]
    assert len(messages) == 3 and all(len(m["text"]) <= 2000 for m in messages)
    assert "attachment" not in messages[0] and "attachment" not in messages[1]
    sent_buttons = messages[-1]["attachment"]["payload"]["buttons"]
    assert [b["title"] for b in sent_buttons] == [f"Nút {n}" for n in range(5)]  # Zalo shows at most 5


async def test_images_and_files_are_uploaded_first(
    replicas: Callable[[int], list[Replica]], fake_zalo: FakeZalo
) -> None:
    [replica] = replicas(1)
    image = Reply(text="Mã QR", image=Attachment("qr.png", "image/png", b"\x89PNG fake"))
    document = Reply(text="Phiếu biên nhận", document=Attachment("bn.pdf", "application/pdf", b"%PDF fake"))
    assert (await replica.channel.send("u1", image.to_payload())).status == "sent"
    assert (await replica.channel.send("u1", document.to_payload())).status == "sent"
    uploads = [c for c in fake_zalo.calls if "/upload/" in c.path]
    assert [u.path for u in uploads] == ["/v2.0/oa/upload/image", "/v2.0/oa/upload/file"]
    assert uploads[0].files["file"] == b"\x89PNG fake"
    media, text_before_file, file = [c.params["message"] for c in fake_zalo.messages("u1")]
    assert media["attachment"]["payload"]["elements"][0]["attachment_id"].startswith("att-")
    assert media["text"] == "Mã QR"
    assert file["attachment"] == {"type": "file", "payload": {"token": file["attachment"]["payload"]["token"]}}
    assert text_before_file == {"text": "Phiếu biên nhận"}


async def test_the_server_refreshes_ahead_of_expiry_without_sending(
    aiohttp_client: Any, zalo_settings: Settings, fake_zalo: FakeZalo
) -> None:
    from bot.app import create_app
    from bot.runtime import open_app

    async with open_app(zalo_settings) as app:  # seeds the stored pair, then it nears its expiry
        tokens = ZaloTokens(
            http=aiohttp.ClientSession(),
            settings=zalo_settings,
            sessionmaker=app[keys.SESSIONMAKER],
            state=app[keys.STATE],
        )
        try:
            await tokens.access_token()
        finally:
            await tokens.http.close()
        async with app[keys.SESSIONMAKER].begin() as session:
            row = await session.get(PlatformToken, token_row_name(zalo_settings))
            assert row is not None
            row.expires_at = utcnow() + timedelta(minutes=30)
    assert fake_zalo.refresh_calls == []
    await aiohttp_client(create_app(zalo_settings))
    await fake_zalo.wait_for(lambda: len(fake_zalo.refresh_calls) == 1)
    await wait_until(lambda: _stored_refresh(zalo_settings, fake_zalo.refresh_token))


async def _stored_refresh(settings: Settings, expected: str) -> bool:
    return (await stored_pair(settings)).refresh_token == expected
