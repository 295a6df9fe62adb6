"""Loopback fakes of the platforms the bot talks to (Telegram Bot API, Zalo OA API), for tests and benchmarks.

Fixtures live in `tests.fakes.fixtures`; import them into a test module (or a conftest) to use them:
`from tests.fakes.fixtures import fake_telegram, fake_zalo`.
"""

from tests.fakes.telegram import FakeTelegram, telegram_callback_update, telegram_message_update
from tests.fakes.zalo import FakeZalo, sign_zalo_event, zalo_event

__all__ = [
    "FakeTelegram",
    "FakeZalo",
    "sign_zalo_event",
    "telegram_callback_update",
    "telegram_message_update",
    "zalo_event",
]
