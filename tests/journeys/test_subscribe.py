"""Opening the receipt's link/QR: `/start <token>` on Telegram, a Zalo follow with the token as reference."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers.base import IncomingMessage
from storage.contacts import linked_contacts
from storage.subscriptions import hash_token, issue_token, looks_like_token, resolve_token
from tests.journeys.conftest import Journey, texts


async def token_for(journey: Journey, dossier_id: int, days: int = 90) -> str:
    async with journey.ctx.sessionmaker.begin() as session:
        return await issue_token(session, dossier_id, now=journey.clock(), ttl=timedelta(days=days))


@pytest.mark.parametrize(
    ("channel", "fields"),
    [
        ("telegram", {"kind": "start", "text": "/start {token}", "start_param": "{token}"}),
        ("zalo", {"kind": "follow", "start_param": "{token}"}),
        ("zalo", {"kind": "text", "text": "ĐK {token}"}),
    ],
)
async def test_opening_the_link_links_the_chat_and_sends_the_receipt(
    journey: Journey, channel: str, fields: dict[str, str]
) -> None:
    dossier = await journey.new_dossier(applicant_phone=None)
    token = await token_for(journey, dossier.id)
    filled = {k: v.format(token=token) for k, v in fields.items()}
    text = texts(await journey.say(chat="c1", channel=channel, **filled))
    assert f"liên kết cuộc trò chuyện này với hồ sơ {dossier.code}" in text
    assert "PHIẾU BIÊN NHẬN ĐIỆN TỬ" in text and "Nguyễn Thị Hoa" in text
    async with journey.ctx.sessionmaker() as session:
        assert [(c.channel, c.chat_id) for c in await linked_contacts(session, dossier.id)] == [(channel, "c1")]
    # Linked: the next status message comes to this chat.
    await journey.change(dossier, status="in_progress")
    (row,) = await journey.outbox("status")
    assert (row.channel, row.recipient) == (channel, "c1")


async def test_opening_it_twice_says_already_linked(journey: Journey) -> None:
    dossier = await journey.new_dossier()
    token = await token_for(journey, dossier.id)
    await journey.say(kind="start", start_param=token)
    assert "đã được liên kết với hồ sơ" in texts(await journey.say(kind="start", start_param=token))


async def test_a_dossier_that_moved_on_also_shows_its_status(journey: Journey) -> None:
    dossier = await journey.new_dossier()
    await journey.change(dossier, status="needs_supplement", note="Thiếu ảnh 4x6")
    token = await token_for(journey, dossier.id)
    text = texts(await journey.say(kind="start", start_param=token))
    assert "Yêu cầu bổ sung giấy tờ" in text and "Thiếu ảnh 4x6" in text


async def test_expired_token_gets_a_polite_message_and_links_nothing(journey: Journey) -> None:
    dossier = await journey.new_dossier()
    token = await token_for(journey, dossier.id, days=90)
    journey.clock.advance(days=91)
    text = texts(await journey.say(kind="start", start_param=token))
    assert "đã hết hạn" in text
    assert "Nguyễn Thị Hoa" not in text
    async with journey.ctx.sessionmaker() as session:
        assert await linked_contacts(session, dossier.id) == []


async def test_unknown_token_gets_a_polite_message(journey: Journey) -> None:
    await journey.new_dossier()
    text = texts(await journey.say(kind="start", start_param="A" * 24))
    assert "không hợp lệ" in text


async def test_other_start_parameters_are_not_tokens(journey: Journey) -> None:
    msg = IncomingMessage(channel="telegram", chat_id="1", user_id="1", kind="start", start_param="faq")
    assert await journey.send(msg) is None


async def test_tokens_are_random_hashed_and_for_one_dossier(journey: Journey) -> None:
    first = await journey.new_dossier()
    second = await journey.new_dossier()
    tokens = {await token_for(journey, first.id) for _ in range(20)}
    assert len(tokens) == 20 and all(looks_like_token(t) and len(t) >= 20 for t in tokens)
    from storage.models import SubscriptionToken

    async with journey.ctx.sessionmaker() as session:
        for token in tokens:
            row = await session.get(SubscriptionToken, hash_token(token))
            assert row is not None and row.dossier_id == first.id
            assert token not in row.token_hash
            found = await resolve_token(session, token, now=journey.clock())
            assert found.dossier is not None and found.dossier.id == first.id != second.id


# --- linking by a phone the platform vouches for ----------------------------------------------------------


async def test_a_zalo_chat_asks_for_the_phone_with_request_user_info(journey: Journey) -> None:
    [reply] = await journey.say("nhận thông báo", chat="zp1", channel="zalo")
    assert reply.meta.get("request_user_info") is True
    assert "Chia sẻ" in reply.text and "Ông/Bà" in reply.text


async def test_a_shared_phone_links_the_open_dossiers_after_the_citizen_agrees(
    journey: Journey, caplog: pytest.LogCaptureFixture
) -> None:
    first = await journey.new_dossier()
    second = await journey.new_dossier()
    await journey.new_dossier(applicant_phone="0987654321")  # someone else's
    caplog.set_level("INFO")
    [ask] = await journey.say(chat="zp2", channel="zalo", kind="contact", phone="84912345678")
    assert "091****678" in ask.text and first.code in ask.text and second.code in ask.text
    assert [b.label for row in ask.buttons for b in row] == ["Đồng ý", "Không"]
    async with journey.ctx.sessionmaker() as session:
        assert await linked_contacts(session, first.id) == []  # nothing linked before the citizen agrees
    [done] = await journey.press("phone-link:yes", chat="zp2", channel="zalo")
    assert first.code in done.text and second.code in done.text
    async with journey.ctx.sessionmaker() as session:
        for dossier in (first, second):
            assert [c.chat_id for c in await linked_contacts(session, dossier.id)] == ["zp2"]
    assert "0912345678" not in caplog.text and "84912345678" not in caplog.text
    # Pressed again later: the request is used up.
    [again] = await journey.press("phone-link:yes", chat="zp2", channel="zalo")
    assert "hết hạn" in again.text


async def test_declining_links_nothing(journey: Journey) -> None:
    dossier = await journey.new_dossier()
    await journey.say(chat="zp3", channel="zalo", kind="contact", phone="0912345678")
    [reply] = await journey.press("phone-link:no", chat="zp3", channel="zalo")
    assert "chưa liên kết" in reply.text
    async with journey.ctx.sessionmaker() as session:
        assert await linked_contacts(session, dossier.id) == []
