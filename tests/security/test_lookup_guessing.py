"""Dossier codes guessed from a chat that is not linked to them: no personal data, and guessing is rate-limited.

Through the Telegram webhook and the fake Bot API, as a citizen would; with Redis, the limit holds across
replicas (guesses spread over two app instances share one budget).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot import keys
from bot.app import create_app
from bot.settings import Settings
from tests.channels.support import FAST, TG_HEADERS
from tests.fakes import FakeTelegram, telegram_message_update
from tests.fakes.fixtures import fake_telegram

__all__ = ["fake_telegram"]

LIMIT = 3
NAME, PHONE = "Lâm Thị Thu Hà", "0913579246"
RATE_LIMITED = "tra cứu không thành công nhiều lần"
NOT_FOUND = "Không tìm thấy hồ sơ"


class Citizen:
    """One Telegram chat talking to the bot (through any of the given app clients)."""

    def __init__(self, clients: list[Any], fake: FakeTelegram, chat: int) -> None:
        self.clients, self.fake, self.chat = clients, fake, chat
        self.sent = 0

    async def say(self, text: str) -> str:
        """Send `text` (to the replicas in turn) and return the bot's answer."""
        before = len(self.fake.sent(self.chat))
        client = self.clients[self.sent % len(self.clients)]
        self.sent += 1
        update = telegram_message_update(self.chat * 1000 + self.sent, self.chat, text)
        resp = await client.post("/webhooks/telegram", json=update, headers=TG_HEADERS)
        assert resp.status == 200
        await self.fake.wait_for(lambda: len(self.fake.sent(self.chat)) > before, timeout=15)
        return "\n".join(self.fake.texts(self.chat)[before:])


@pytest.fixture
def settings_for(make_settings: Callable[..., Settings], fake_telegram: FakeTelegram, redis_url: str | None) -> Any:
    return make_settings(**fake_telegram.settings(), **FAST, redis_url=redis_url, lookup_fail_limit_per_hour=LIMIT)


@pytest.fixture
async def bot(aiohttp_client: Any, settings_for: Settings) -> Any:
    return await aiohttp_client(create_app(settings_for))


@pytest.fixture
async def code(bot: Any, api_key: Any) -> str:
    proc = next(p for p in bot.app[keys.KB].procedures if p.processing_time.days)
    body = {"procedure_id": proc.id, "applicant": {"name": NAME, "phone": PHONE}, "channel": "online"}
    resp = await bot.post("/api/v1/dossiers", json=body, headers=await api_key("admin"))
    assert resp.status == 201
    return str((await resp.json())["code"])


def wrong_code(code: str, n: int) -> str:
    return f"{code[:-4]}{(int(code[-4:]) + 500 + n) % 10000:04d}"


async def test_an_unlinked_chat_sees_no_personal_data(bot: Any, fake_telegram: FakeTelegram, code: str) -> None:
    answer = await Citizen([bot], fake_telegram, 6001).say(code)
    assert code in answer
    assert NAME not in answer and PHONE not in answer and PHONE[-4:] not in answer


async def test_guessing_codes_is_rate_limited(bot: Any, fake_telegram: FakeTelegram, code: str) -> None:
    guesser = Citizen([bot], fake_telegram, 6002)
    for n in range(LIMIT):
        assert NOT_FOUND in await guesser.say(f"tra cứu {wrong_code(code, n)}")
    # Past the limit even the right code is not looked up: nothing about the dossier is shown.
    answer = await guesser.say(code)
    assert RATE_LIMITED in answer
    assert "Đang xử lý" not in answer and "Được tiếp nhận" not in answer and NAME not in answer
    # Another chat is not affected.
    assert code in await Citizen([bot], fake_telegram, 6003).say(code)


async def test_guessing_the_phone_digits_is_rate_limited(bot: Any, fake_telegram: FakeTelegram, code: str) -> None:
    guesser = Citizen([bot], fake_telegram, 6004)
    assert code in await guesser.say(code)
    wrong = [f"{(int(PHONE[-4:]) + k) % 10000:04d}" for k in range(1, LIMIT + 1)]
    for digits in wrong:
        answer = await guesser.say(digits)
        assert "không khớp" in answer or RATE_LIMITED in answer
    answer = await guesser.say(PHONE[-4:])
    assert RATE_LIMITED in answer
    assert NAME not in answer
    # Not linked: a later look-up still hides the applicant.
    answer = await guesser.say(code)
    assert NAME not in answer


async def test_the_limit_is_shared_by_replicas(
    aiohttp_client: Any, settings_for: Settings, bot: Any, fake_telegram: FakeTelegram, code: str
) -> None:
    """Two replicas on one Redis: guesses sent to each in turn use one budget."""
    if settings_for.redis_url is None:
        pytest.skip("the in-process state store is per process; replicas need REDIS_URL")
    replica = await aiohttp_client(create_app(settings_for))
    guesser = Citizen([bot, replica], fake_telegram, 6005)
    for n in range(LIMIT):
        assert NOT_FOUND in await guesser.say(f"tra cứu {wrong_code(code, n)}")
    assert RATE_LIMITED in await guesser.say(code)
    assert RATE_LIMITED in await guesser.say(code)
