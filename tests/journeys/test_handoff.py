"""Talking to an officer: forward with context, stay quiet, relay the officer's reply, hand back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from handlers.base import IncomingMessage, Reply
from storage.models import Handoff, OutboxMessage
from storage.outbox import OutgoingMessage, enqueue
from tests.journeys.conftest import OFFICERS_CHAT, TZ, Journey, MakeJourney, texts


async def sent_to_officers(journey: Journey, reply: Reply, message_id: str) -> None:
    """What the pipeline and the outbox worker do with a reply to the group: a row, sent, with its platform id."""
    assert reply.to == ("telegram", OFFICERS_CHAT)
    async with journey.ctx.sessionmaker.begin() as session:
        await enqueue(
            session,
            [OutgoingMessage(f"test:{message_id}", "telegram", OFFICERS_CHAT, reply.to_payload(), kind=reply.kind)],
        )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.idempotency_key == f"test:{message_id}")
            .values(status="sent", platform_message_id=message_id)
        )


def officer(text: str, reply_to: str | None) -> IncomingMessage:
    return IncomingMessage(
        channel="telegram",
        chat_id=OFFICERS_CHAT,
        user_id="777",
        text=text,
        chat_type="group",
        reply_to_message_id=reply_to,
    )


async def handoffs(journey: Journey) -> list[Handoff]:
    async with journey.ctx.sessionmaker() as session:
        return list((await session.execute(select(Handoff).order_by(Handoff.id))).scalars())


async def test_handoff_forwards_with_context_and_relays_the_officers_reply(journey: Journey) -> None:
    await journey.say(kind="contact", phone="0912345678", chat="zu1", channel="zalo")
    dossier = await journey.new_dossier()
    citizen, forward = await journey.say("gặp cán bộ", chat="zu1", channel="zalo", display_name="Hoa")
    assert citizen.to is None and "Đã chuyển cuộc trò chuyện đến cán bộ" in citizen.text
    assert forward.to == ("telegram", OFFICERS_CHAT)
    for part in ("Kênh: Zalo", dossier.code, "«gặp cán bộ»", "Tên hiển thị: Hoa", "/done"):
        assert part in forward.text
    await sent_to_officers(journey, forward, "501")

    # The bot stays quiet: what the citizen writes goes to the officers only.
    (relayed,) = await journey.say("Hồ sơ của tôi sao lâu vậy?", chat="zu1", channel="zalo")
    assert relayed.to == ("telegram", OFFICERS_CHAT) and "«Hồ sơ của tôi sao lâu vậy?»" in relayed.text
    await sent_to_officers(journey, relayed, "502")
    # Even a dossier code is forwarded, not looked up.
    (code_msg,) = await journey.say(dossier.code, chat="zu1", channel="zalo")
    assert code_msg.to == ("telegram", OFFICERS_CHAT)

    # An officer replies to the forwarded message: it goes back to the citizen on Zalo.
    (answer,) = await journey.send(officer("Chào chị, hồ sơ đang chờ xác minh, thứ Sáu có kết quả.", "502")) or []
    assert answer.to == ("zalo", "zu1")
    assert answer.text == "Cán bộ Trung tâm: Chào chị, hồ sơ đang chờ xác minh, thứ Sáu có kết quả."

    # /done hands back to the bot.
    to_citizen, note = await journey.send(officer("/done@motcua_bot", "501")) or []
    assert to_citizen.to == ("zalo", "zu1") and "Trợ lý tự động tiếp tục" in to_citizen.text
    assert note.to is None and "#HO" in note.text
    assert "Được tiếp nhận" in texts(await journey.say(dossier.code, chat="zu1", channel="zalo"))
    (row,) = await handoffs(journey)
    assert row.ended_by == "officer" and row.ended_at is not None


async def test_other_group_messages_get_no_answer(journey: Journey) -> None:
    assert await journey.send(officer("chào mọi người", None)) == []
    assert await journey.send(officer("trả lời một tin không phải chuyển tiếp", "999")) == []
    other_group = IncomingMessage(channel="telegram", chat_id="-42", user_id="1", text="gặp cán bộ", chat_type="group")
    assert await journey.send(other_group) is None


async def test_handoff_times_out_and_the_bot_answers_again(journey: Journey) -> None:
    await journey.say("/human")
    (forward,) = await journey.say("còn đó không?")
    assert forward.to is not None
    journey.clock.advance(minutes=31)  # HANDOFF_TIMEOUT_MINUTES = 30
    assert await journey.send_text("còn đó không?") is None  # back to the normal handlers
    (row,) = await handoffs(journey)
    assert row.ended_by == "timeout"


async def test_activity_keeps_the_handoff_open(journey: Journey) -> None:
    await journey.press("menu:human")
    for _ in range(3):
        journey.clock.advance(minutes=20)
        (forward,) = await journey.say("thêm thông tin")
        assert forward.to == ("telegram", OFFICERS_CHAT)


async def test_citizen_can_end_the_handoff(journey: Journey) -> None:
    await journey.say("gặp cán bộ")
    citizen, note = await journey.say("/done")
    assert "Đã kết thúc" in citizen.text and note.to == ("telegram", OFFICERS_CHAT)
    assert await journey.send_text("còn đó không?") is None


async def test_links_and_buttons_still_work_during_a_handoff(journey: Journey) -> None:
    await journey.say("gặp cán bộ")
    assert texts(await journey.press("lang:en")).startswith("I will answer in English")


async def test_outside_working_hours_the_citizen_is_told_when_officers_answer(journey: Journey) -> None:
    journey.clock.now = datetime(2026, 11, 27, 18, 0, tzinfo=TZ)  # Friday evening
    citizen, forward = await journey.say("gặp cán bộ")
    assert "ngoài giờ làm việc" in citizen.text
    assert "07:30 Thứ Hai, 30/11/2026" in citizen.text
    assert forward.to == ("telegram", OFFICERS_CHAT)
    journey.clock.now = datetime(2026, 11, 30, 12, 0, tzinfo=TZ)  # Monday lunch break
    assert "13:30 Thứ Hai, 30/11/2026" in (await journey.say("gặp cán bộ", chat="200"))[0].text


async def test_without_an_officers_group_the_hotline_is_given(make_journey: MakeJourney) -> None:
    journey = await make_journey(officers_telegram_chat_id=None)
    (reply,) = await journey.say("gặp cán bộ")
    assert "1022" in reply.text and reply.to is None
    assert await handoffs(journey) == []


async def test_english_chat_gets_english_officer_texts(journey: Journey) -> None:
    await journey.say("English")
    citizen, forward = await journey.say("talk to an officer")
    assert "passed to an officer" in citizen.text
    assert "Ngôn ngữ: en" in forward.text
    await sent_to_officers(journey, forward, "900")
    (answer,) = await journey.send(officer("Hello, how can I help?", "900")) or []
    assert answer.text == "Officer: Hello, how can I help?"
