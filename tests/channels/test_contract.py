"""The channel contract, run against every channel of the registry (`bot.channels.registry.CHANNELS`):
each declares its name, display name, limits and rates; the pipeline shapes replies to those limits; a
message within them is accepted by the platform's fake; a platform refusal becomes an outcome, never an
exception. A new channel joins these cases by its registry line; it adds a recipient its fake accepts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot import keys
from bot.app import create_app
from bot.channels.base import SENDERS, Sender, limits_of
from bot.channels.registry import CHANNELS as REGISTRY
from bot.inbox import PIPELINE
from bot.settings import Settings
from handlers.base import Button, IncomingMessage, Reply
from tests.channels.support import FAST
from tests.fakes import FakeTelegram, FakeZalo
from tests.fakes.sms import FakeSmsGateway

CHANNELS = [cls.channel for cls in REGISTRY]
# A recipient of each channel its fake accepts.
RECIPIENTS = {"telegram": "4242", "zalo": "zc1", "zns": "84912345678", "sms": "84912345678", "console": "c1"}


@pytest.fixture
async def app(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    fake_telegram: FakeTelegram,
    fake_zalo: FakeZalo,
    fake_sms: FakeSmsGateway,
) -> Any:
    settings = make_settings(
        **fake_telegram.settings(), **fake_zalo.settings(), **fake_sms.settings(), **FAST, workers_enabled=False
    )
    fake_zalo.interacted("zc1")
    client = await aiohttp_client(create_app(settings))
    return client.app


def sender(app: Any, name: str) -> Sender:
    senders = app[SENDERS]
    assert name in senders, f"channel {name} is not registered"
    return senders[name]


def payload_for(name: str, reply: Reply) -> dict[str, Any]:
    payload = reply.to_payload()
    if name == "zns":  # template messages carry their template
        payload["zns"] = {"template_id": "tpl", "template_data": {"dossier_code": "X-1"}, "tracking_id": "t-1"}
    return payload


def test_every_channel_of_the_registry_is_opened_and_has_a_recipient(app: Any) -> None:
    assert sorted(app[SENDERS]) == sorted(CHANNELS)
    assert sorted(RECIPIENTS) == sorted(CHANNELS)
    assert len(set(CHANNELS)) == len(CHANNELS)


@pytest.mark.parametrize("cls", REGISTRY)
def test_a_channel_class_declares_what_the_app_reads(cls: Any) -> None:
    assert cls.channel and cls.display_name
    assert all(method in ("GET", "POST") and path.startswith("/webhooks/") for method, path, _ in cls.routes())


@pytest.mark.parametrize("name", CHANNELS)
def test_a_channel_declares_its_name_limits_and_rates(app: Any, name: str) -> None:
    channel = sender(app, name)
    assert channel.channel == name
    assert channel.display_name == app[keys.CONTEXT].channel_names[name]
    limits = limits_of(channel)
    assert limits.text is None or limits.text >= 160
    assert limits.buttons is None or limits.buttons >= 0
    for rate in (channel.rate_per_second, channel.per_recipient_per_second):
        assert rate is None or rate > 0


@pytest.mark.parametrize("name", CHANNELS)
def test_long_text_is_split_within_the_channel_limit(app: Any, name: str) -> None:
    limit = limits_of(sender(app, name)).text
    incoming = IncomingMessage(channel=name, chat_id=RECIPIENTS[name], user_id=RECIPIENTS[name])
    text = "Đoạn đầu.\n\n" + "Một câu khá dài về thủ tục hành chính. " * 300
    rows = app[PIPELINE].outgoing(incoming, [Reply(text)], "contract")
    assert "".join("".join(r.payload["text"].split()) for r in rows) == "".join(text.split())
    if limit is not None:
        assert len(rows) > 1 and all(len(r.payload["text"]) <= limit for r in rows)


@pytest.mark.parametrize("name", CHANNELS)
async def test_buttons_are_fitted_to_the_channel_never_dropped(app: Any, name: str) -> None:
    limit = limits_of(sender(app, name)).buttons
    incoming = IncomingMessage(channel=name, chat_id=RECIPIENTS[name], user_id=RECIPIENTS[name])
    buttons = [Button(f"Lựa chọn {n}", f"kb:x:{n}") for n in range(8)]
    [fitted] = await app[PIPELINE].fit(incoming, [Reply.with_buttons("Chọn:", buttons)])
    shown = [b for row in fitted.buttons for b in row]
    if limit is None or limit < 2 or limit >= len(buttons):
        assert shown == buttons
    else:
        assert len(shown) == limit and shown[-1].label == "Xem thêm"
        assert shown[:-1] == buttons[: limit - 1]


@pytest.mark.parametrize("name", CHANNELS)
async def test_a_message_within_the_limits_is_sent(app: Any, name: str) -> None:
    channel = sender(app, name)
    limits = limits_of(channel)
    buttons = [Button("Có", "yes"), Button("Không", "no")] if (limits.buttons is None or limits.buttons >= 2) else []
    outcome = await channel.send(RECIPIENTS[name], payload_for(name, Reply.with_buttons("Xin chào Ông/Bà", buttons)))
    assert outcome.status == "sent", outcome


@pytest.mark.parametrize("name", ["telegram", "zalo", "zns", "sms"])
async def test_a_platform_refusal_is_an_outcome_not_an_exception(
    app: Any, name: str, fake_telegram: FakeTelegram, fake_zalo: FakeZalo, fake_sms: FakeSmsGateway
) -> None:
    if name == "telegram":
        fake_telegram.fail(status=500, times=None)
    elif name in ("zalo", "zns"):
        fake_zalo.fail(status=500, times=None)
    else:
        await fake_sms_down(app)
    outcome = await sender(app, name).send(RECIPIENTS[name], payload_for(name, Reply("Xin chào Ông/Bà")))
    assert outcome.status == "retry"


async def fake_sms_down(app: Any) -> None:
    """The gateway's server goes away (refused connection)."""
    from bot.sms import Template

    gateway = sender(app, "sms").gateway  # type: ignore[attr-defined]
    gateway.url = Template.parse("http://127.0.0.1:9/sms/send", "SMS_GATEWAY_URL")


def test_the_console_channel_needs_no_platform(app: Any) -> None:
    assert limits_of(sender(app, "console")).text is None and keys.SETTINGS in app
