"""The pipeline and the greeting / FAQ / fallback handlers, as dialogue tables (no channel involved)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import keys
from bot.channels.base import Limits
from bot.pipeline import Pipeline, split_reply, split_text
from bot.runtime import open_app
from bot.settings import Settings
from handlers.base import Button, IncomingMessage, MessageKind, Reply
from handlers.fallback import handle_fallback
from handlers.faq import handle_faq
from handlers.greeting import handle_greeting

MINE = [handle_greeting, handle_faq, handle_fallback]


@pytest.fixture
async def pipeline(make_settings: Callable[..., Settings]) -> AsyncIterator[Pipeline]:
    async with open_app(make_settings(max_text_chars=500)) as app:
        yield Pipeline(app[keys.CONTEXT], MINE)


def msg(kind: MessageKind = "text", text: str = "", **fields: Any) -> IncomingMessage:
    return IncomingMessage(channel="console", chat_id="c1", user_id="c1", kind=kind, text=text, **fields)


DIALOGUE: list[tuple[IncomingMessage, str | None]] = [
    (msg("start"), "Xin chào Ông/Bà! Tôi là trợ lý tự động"),
    (msg("follow"), "Xin chào Ông/Bà! Tôi là trợ lý tự động"),
    (msg("start", start_param="unknown-token"), "Xin chào Ông/Bà! Tôi là trợ lý tự động"),
    (msg(text="/help"), "Cách hỏi trợ lý"),
    (msg(text="  Menu "), "Cách hỏi trợ lý"),
    (msg(text="/help@motcua_bot"), "Cách hỏi trợ lý"),
    (msg(text="le phi ly lich tu phap"), "200.000 đồng"),
    (msg("button", payload="kb:gio-lam-viec:overview"), "Thứ Hai – Thứ Sáu"),
    (msg("button", payload="menu:hotline"), "1022"),
    (msg("button", payload="menu:help"), "Cách hỏi trợ lý"),
    (msg("button", payload="menu:human"), "đường dây nóng 1022"),
    (msg("button", payload="rate:gone"), "không còn hiệu lực"),
    (msg("button", payload=None), "không còn hiệu lực"),
    (msg("media"), "chỉ đọc được tin nhắn chữ"),
    (msg("location"), "vị trí"),
    (msg("contact", phone="0912345678"), "Cảm ơn Ông/Bà đã chia sẻ"),
    (msg("contact"), "của chính mình"),
    (msg(text=""), "Ông/Bà cần hỏi gì"),
    (msg(text="x" * 501), "dài quá 500 ký tự"),
    (msg("unfollow"), None),
    (msg(text="/help", chat_type="group"), None),
    (msg(text="hồ sơ của ông A đã xong", chat_type="group", reply_to_message_id="9"), None),
]


@pytest.mark.parametrize(("incoming", "expected"), DIALOGUE)
async def test_dialogue(pipeline: Pipeline, incoming: IncomingMessage, expected: str | None) -> None:
    replies = await pipeline.respond(incoming)
    if expected is None:
        assert replies == []
    else:
        assert len(replies) == 1 and expected in replies[0].text


async def test_text_is_normalised_to_nfc_before_the_handlers(pipeline: Pipeline) -> None:
    decomposed = "le\u0302\u0323 phi\u0301 ly\u0301 li\u0323ch tu\u031b pha\u0301p"  # "lệ phí lý lịch tư pháp", NFD
    prepared = pipeline.prepare(msg(text=decomposed))
    assert isinstance(prepared, IncomingMessage) and prepared.text == "lệ phí lý lịch tư pháp"


async def test_menu_buttons_all_lead_to_an_answer(pipeline: Pipeline) -> None:
    [welcome] = await pipeline.respond(msg("start"))
    for row in welcome.buttons:
        for button in row:
            [answer] = await pipeline.respond(msg("button", payload=button.payload, text=button.label))
            assert "không còn hiệu lực" not in answer.text and "chưa tìm thấy" not in answer.text


async def test_outgoing_rows_have_one_key_per_message_and_respect_channel_limits(pipeline: Pipeline) -> None:
    incoming = IncomingMessage(channel="zalo", chat_id="u1", user_id="u1")
    long = Reply.with_buttons("Đoạn một.\n\n" + "câu dài. " * 400, [Button("A", "a")])
    relay = Reply(text="cho cán bộ", to=("telegram", "-100"), kind="handoff")
    limits = {"zalo": Limits(2000, 5), "telegram": Limits(4096, None)}
    shaped = Pipeline(pipeline.ctx, MINE, lambda channel: limits.get(channel, Limits()))
    rows = shaped.outgoing(incoming, [long, relay], "reply:7", contact_id=3)
    assert [r.idempotency_key for r in rows] == ["reply:7:0", "reply:7:1", "reply:7:2"]
    assert [(r.channel, r.recipient) for r in rows] == [("zalo", "u1"), ("zalo", "u1"), ("telegram", "-100")]
    assert all(len(r.payload["text"]) <= 2000 for r in rows[:2])
    assert "buttons" not in rows[0].payload and rows[1].payload["buttons"] == [[{"label": "A", "payload": "a"}]]
    assert (rows[2].kind, rows[2].contact_id, rows[0].contact_id) == ("handoff", None, 3)


@given(st.text(alphabet=st.sampled_from("ab ệ.\n!"), max_size=3000), st.integers(min_value=20, max_value=500))
def test_split_text_keeps_every_word_and_every_piece_fits(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert all(len(p) <= limit for p in pieces)
    assert "".join(text.split()) == "".join("".join(p.split()) for p in pieces)


def test_split_reply_keeps_short_replies_whole() -> None:
    reply = Reply(text="ngắn", buttons=((Button("A", "a"),),))
    assert split_reply(reply, 2000) == [reply]
    assert split_reply(reply, None) == [reply]
