"""Telegram end to end: updates posted as Telegram posts them, replies seen at the fake Bot API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot import keys
from bot.app import create_app
from bot.channels.telegram import TELEGRAM
from bot.inbox import INBOX_WRITER
from bot.settings import Settings
from handlers.base import Button, Reply
from storage.db import create_engine, create_sessionmaker
from storage.models import InboxUpdate
from tests.channels.support import FAST, TG_HEADERS, contact, count, inbox_rows
from tests.fakes import FakeTelegram, telegram_callback_update, telegram_message_update
from tests.fakes.base import wait_until


@pytest.fixture
async def tg(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_telegram: FakeTelegram, redis_url: str | None
) -> Any:
    """A running app wired to the fake Bot API, workers on, over each state backend."""
    settings = make_settings(**fake_telegram.settings(), **FAST, redis_url=redis_url)
    return await aiohttp_client(create_app(settings))


async def post(client: Any, update: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return await client.post("/webhooks/telegram", json=update, headers=TG_HEADERS if headers is None else headers)


# --- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, id="wrong"),
        pytest.param({"X-Telegram-Bot-Api-Secret-Token": "webhook-secre"}, id="prefix"),
    ],
)
async def test_wrong_secret_is_403_and_nothing_is_stored(tg: Any, headers: dict[str, str]) -> None:
    response = await post(tg, telegram_message_update(1, 42), headers)
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "forbidden"
    assert await count(tg.app, InboxUpdate) == 0


async def test_without_a_configured_secret_every_update_is_refused(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake_telegram: FakeTelegram
) -> None:
    settings = make_settings(**{**fake_telegram.settings(), "telegram_webhook_secret": None})
    client = await aiohttp_client(create_app(settings))
    response = await post(client, telegram_message_update(1, 42), {"X-Telegram-Bot-Api-Secret-Token": ""})
    assert response.status == 403
    assert await count(client.app, InboxUpdate) == 0


async def test_telegram_not_configured_is_404(client: Any) -> None:
    response = await post(client, telegram_message_update(1, 42))
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(b"{not json", "invalid_json", id="malformed"),
        pytest.param(b"", "invalid_json", id="empty"),
        pytest.param(b"[1, 2]", "invalid_update", id="array"),
        pytest.param(b'{"message": {}}', "invalid_update", id="no-update-id"),
        pytest.param(b'{"update_id": "7"}', "invalid_update", id="string-id"),
        pytest.param(b'{"update_id": 7, "message": {"text": "x"}}', "invalid_update", id="broken-message"),
        pytest.param(b"[" * 1500 + b"]" * 1500, "invalid_json", id="nested-3kb"),
        pytest.param(b'{"update_id": 7, "x": ' + b"[" * 40 + b"]" * 40 + b"}", "invalid_json", id="nested-40"),
    ],
)
async def test_bad_bodies_get_a_400_json_error(tg: Any, body: bytes, code: str) -> None:
    response = await tg.post(
        "/webhooks/telegram", data=body, headers={**TG_HEADERS, "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["error"]["code"] == code
    assert await count(tg.app, InboxUpdate) == 0


async def test_database_down_is_503_so_telegram_retries(tg: Any, db_backend: str, tmp_path: Any) -> None:
    url = (
        f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.sqlite3"
        if db_backend == "sqlite"
        else "postgresql+asyncpg://postgres@127.0.0.1:1/down"
    )
    engine = create_engine(url)
    if db_backend == "sqlite":
        (tmp_path / "missing" / "dir").rmdir()  # the engine made it; a file in its place: cannot open
        (tmp_path / "missing" / "dir").write_text("a file where a directory should be")
    writer = tg.app[INBOX_WRITER]
    writer.sessionmaker = create_sessionmaker(engine)
    try:
        response = await post(tg, telegram_message_update(1, 42))
        assert response.status == 503
        assert (await response.json())["error"]["code"] == "unavailable"
    finally:
        await engine.dispose()


# --- conversations ----------------------------------------------------------------------------------


async def test_start_gets_the_welcome_with_an_inline_keyboard(tg: Any, fake_telegram: FakeTelegram) -> None:
    response = await post(tg, telegram_message_update(1, 42, "/start"))
    assert response.status == 200
    assert await response.json() == {"ok": True}
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(42)) == 1)
    call = fake_telegram.sent(42)[0]
    assert call.params["text"].startswith("Xin chào Ông/Bà!")
    keyboard = call.params["reply_markup"]["inline_keyboard"]  # PTB posts it as a JSON string
    assert keyboard[0][0] == {"text": "Giờ làm việc", "callback_data": "kb:gio-lam-viec:overview"}
    [row] = await inbox_rows(tg.app)
    assert row.status == "done" and row.chat_key == "42"
    await fake_telegram.wait_for(lambda: bool(fake_telegram.sent(42)))
    stored = await contact(tg.app, "telegram", "42")
    assert stored is not None and stored.language == "vi"


async def test_a_question_gets_the_fee_of_the_procedure(tg: Any, fake_telegram: FakeTelegram) -> None:
    await post(tg, telegram_message_update(5, 42, "le phi ly lich tu phap bao nhieu"))
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(42)) == 1)
    text = fake_telegram.texts(42)[0]
    assert "lý lịch tư pháp" in text and "200.000 đồng" in text


async def test_duplicate_update_is_acknowledged_and_answered_once(tg: Any, fake_telegram: FakeTelegram) -> None:
    first = await post(tg, telegram_message_update(10, 42, "/start"))
    again = await post(tg, telegram_message_update(10, 42, "/start"))
    assert first.status == again.status == 200
    assert await again.json() == {"ok": True, "duplicate": True}
    # A later update of the same chat is answered after anything the duplicate could have caused.
    await post(tg, telegram_message_update(11, 42, "/help"))
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(42)) >= 2)
    texts = fake_telegram.texts(42)
    assert len(texts) == 2
    assert texts[0].startswith("Xin chào") and texts[1].startswith("Cách hỏi")
    assert await count(tg.app, InboxUpdate) == 2


async def test_messages_of_one_chat_are_answered_in_order(tg: Any, fake_telegram: FakeTelegram) -> None:
    questions = ["/start", "/help", "giờ làm việc", "/help", "/start"]
    for n, text in enumerate(questions):
        await post(tg, telegram_message_update(100 + n, 7, text))
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(7)) == len(questions))
    firsts = [t.split("\n", 1)[0][:8] for t in fake_telegram.texts(7)]
    assert firsts == ["Xin chào", "Cách hỏi", "Giờ làm ", "Cách hỏi", "Xin chào"]


async def test_button_press_answers_the_aspect_and_the_callback(tg: Any, fake_telegram: FakeTelegram) -> None:
    await post(tg, telegram_callback_update(20, 42, "kb:gio-lam-viec:overview", label="Giờ làm việc"))
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(42)) == 1)
    assert "Thứ Hai – Thứ Sáu" in fake_telegram.texts(42)[0]
    await fake_telegram.wait_for(lambda: any(c.path == "answerCallbackQuery" for c in fake_telegram.calls), timeout=5)
    answered = [c for c in fake_telegram.calls if c.path == "answerCallbackQuery"]
    assert answered[0].params["callback_query_id"] == "cb-20"


async def test_long_button_payloads_travel_as_a_short_key(tg: Any, fake_telegram: FakeTelegram) -> None:
    # `kb:<id>:<aspect>` payloads of long procedure ids exceed the 64 bytes Telegram allows.
    procedure = max(tg.app[keys.KB].procedures, key=lambda p: len(p.id))
    payload = f"kb:{procedure.id}:processing_time"
    assert len(payload.encode()) > 64
    reply = Reply.with_buttons("Chọn:", [Button("Thời hạn", payload), Button("Giờ", "kb:gio-lam-viec:overview")])
    outcome = await tg.app[TELEGRAM].send("42", reply.to_payload())
    assert outcome.status == "sent" and outcome.platform_message_id
    [long_button, short_button] = fake_telegram.sent(42)[0].params["reply_markup"]["inline_keyboard"][0]
    assert short_button["callback_data"] == "kb:gio-lam-viec:overview"
    assert long_button["callback_data"].startswith("h:") and len(long_button["callback_data"].encode()) <= 64
    await post(tg, telegram_callback_update(31, 42, long_button["callback_data"], label="Thời hạn"))
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(42)) == 2)
    answer = fake_telegram.texts(42)[1]
    assert answer.startswith(procedure.title) and "Thời hạn giải quyết" in answer


async def test_start_with_a_payload_reaches_the_handlers_as_start_param(tg: Any) -> None:
    channel = tg.app[TELEGRAM]
    msg = await channel.to_message(telegram_message_update(40, 42, "/start tok_AbC-123"))
    assert msg is not None
    assert (msg.kind, msg.start_param, msg.chat_type, msg.language) == ("start", "tok_AbC-123", "private", "vi")
    bare = await channel.to_message(telegram_message_update(41, 42, "/start"))
    assert bare is not None and bare.start_param is None


async def test_a_shared_contact_counts_only_when_it_is_the_senders_own(tg: Any, fake_telegram: FakeTelegram) -> None:
    channel = tg.app[TELEGRAM]
    own = {"phone_number": "+84912345678", "first_name": "Lan", "user_id": 42}
    other = {"phone_number": "+84987654321", "first_name": "Hoa", "user_id": 99}
    card = {"phone_number": "+84987654321", "first_name": "Hoa"}
    for shared, phone in ((own, "+84912345678"), (other, None), (card, None)):
        msg = await channel.to_message(telegram_message_update(50, 42, None, contact=shared))
        assert msg is not None and msg.kind == "contact" and msg.phone == phone
    await post(tg, telegram_message_update(51, 42, None, contact=own))
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(42)) == 1)
    stored = await contact(tg.app, "telegram", "42")
    assert stored is not None and stored.phone == "0912345678"


async def test_officers_group_replies_pass_through_without_an_answer(tg: Any, fake_telegram: FakeTelegram) -> None:
    channel = tg.app[TELEGRAM]
    update = telegram_message_update(
        60, -1001, "Hồ sơ đã xong", user_id=555, chat_type="supergroup", reply_to_message_id=1234
    )
    msg = await channel.to_message(update)
    assert msg is not None
    assert (msg.chat_type, msg.reply_to_message_id, msg.user_id) == ("group", "1234", "555")
    await post(tg, update)
    await post(tg, telegram_message_update(61, 42, "/help"))
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(42)) == 1)

    async def all_done() -> bool:
        return [r.status for r in await inbox_rows(tg.app)] == ["done", "done"]

    await wait_until(all_done)
    assert fake_telegram.sent(-1001) == []


async def test_photos_and_locations_get_a_polite_answer(tg: Any, fake_telegram: FakeTelegram) -> None:
    photo = {"photo": [{"file_id": "f1", "file_unique_id": "u1", "width": 90, "height": 90}]}
    location = {"location": {"latitude": 21.0, "longitude": 105.8}}
    await post(tg, telegram_message_update(70, 42, None, extra=photo))
    await post(tg, telegram_message_update(71, 42, None, extra=location))
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(42)) == 2)
    media, place = fake_telegram.texts(42)
    assert "chỉ đọc được tin nhắn chữ" in media
    assert "vị trí" in place


async def test_a_user_who_blocks_the_bot_is_marked(tg: Any, fake_telegram: FakeTelegram) -> None:
    await post(tg, telegram_message_update(80, 42, "/start"))
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(42)) == 1)
    kicked = {
        "update_id": 81,
        "my_chat_member": {
            "chat": {"id": 42, "type": "private", "first_name": "Lan"},
            "from": {"id": 42, "is_bot": False, "first_name": "Lan"},
            "date": 1700000000,
            "old_chat_member": {"status": "member", "user": {"id": 123456, "is_bot": True, "first_name": "B"}},
            "new_chat_member": {
                "status": "kicked",
                "until_date": 0,
                "user": {"id": 123456, "is_bot": True, "first_name": "B"},
            },
        },
    }
    assert (await post(tg, kicked)).status == 200

    async def blocked() -> bool:
        stored = await contact(tg.app, "telegram", "42")
        return stored is not None and stored.blocked

    await wait_until(blocked)
    assert len(fake_telegram.sent(42)) == 1  # nothing said to someone who left


# --- rough edges a new user met (issue 18, item 14) -------------------------------------------------------


async def test_an_edited_message_is_answered_as_the_new_question(tg: Any, fake_telegram: FakeTelegram) -> None:
    first = telegram_message_update(1, 4201, "xin chao")
    await post(tg, first)
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(4201)) == 1)
    edited = {"update_id": 2, "edited_message": {**first["message"], "text": "lệ phí lý lịch tư pháp", "edit_date": 1}}
    assert (await post(tg, edited)).status == 200
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(4201)) >= 2)
    assert "200.000 đồng" in "\n".join(fake_telegram.texts(4201)[1:])


async def test_a_sticker_is_not_thanked_as_a_file(tg: Any, fake_telegram: FakeTelegram) -> None:
    sticker = {
        "file_id": "CAAC",
        "file_unique_id": "u",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "👍",
    }
    await post(tg, telegram_message_update(1, 4202, None, extra={"sticker": sticker}))
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(4202)) == 1)
    [text] = fake_telegram.texts(4202)
    assert "tệp" not in text and "Ông/Bà cần hỏi gì" in text


async def test_start_addressed_to_the_bot_in_a_group_is_answered(tg: Any, fake_telegram: FakeTelegram) -> None:
    await post(tg, telegram_message_update(1, -100777, "/start@motcua_bot", user_id=55, chat_type="supergroup"))
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(-100777)) == 1)
    [text] = fake_telegram.texts(-100777)
    assert "https://t.me/motcua_bot" in text and "nhắn riêng" in text
    # Addressed to another bot: not for us, nothing said.
    await post(tg, telegram_message_update(2, -100777, "/start@other_bot", user_id=55, chat_type="supergroup"))
    await post(tg, telegram_message_update(3, 4203, "xin chào"))
    await fake_telegram.wait_for(lambda: len(fake_telegram.sent(4203)) == 1)
    assert len(fake_telegram.sent(-100777)) == 1
