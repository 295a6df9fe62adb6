"""Looking up a dossier: code variants, privacy for unlinked chats, proof by phone digits, the rate limit."""

from __future__ import annotations

import unicodedata

import pytest

from handlers.base import IncomingMessage
from handlers.messages import WEEKDAYS
from tests.journeys.conftest import MONDAY_10AM, TZ, Journey, MakeJourney, texts

PERSONAL = ("Nguyễn Thị Hoa", "0912345678", "001190012345", "5678")


def assert_private(text: str) -> None:
    for secret in PERSONAL[:3]:
        assert secret not in text
    assert "lý lịch tư pháp" not in text.lower()  # the procedure says something about the person


async def test_unlinked_chat_sees_status_due_date_and_department_only(journey: Journey) -> None:
    dossier = await journey.new_dossier()
    text = texts(await journey.say(dossier.code))
    assert dossier.code in text
    assert "Được tiếp nhận" in text
    assert "Công an" in text  # the department
    due = dossier.due_at.astimezone(TZ)
    assert due.date() > MONDAY_10AM.date()
    assert f"Ngày hẹn trả kết quả: {WEEKDAYS['vi'][due.weekday()]}, {due:%d/%m/%Y}" in text
    assert_private(text)
    assert "4 số cuối" in text
    assert unicodedata.is_normalized("NFC", text)


@pytest.mark.parametrize(
    "typed",
    [
        "{code}",
        "{lower}",
        "{spaced}",
        "tra cứu HS {code}",
        "tra cuu ho so {lower} giup em voi",
        "Mã hồ sơ: {dotted} ạ",
    ],
)
async def test_any_common_way_of_typing_the_code_finds_it(journey: Journey, typed: str) -> None:
    dossier = await journey.new_dossier()
    code = dossier.code  # e.g. TTHCC-261123-0001
    message = typed.format(code=code, lower=code.lower(), spaced=code.replace("-", " "), dotted=code.replace("-", "."))
    text = texts(await journey.say(message))
    assert f"Mã hồ sơ: {code}" in text
    assert "Được tiếp nhận" in text


async def test_last_four_digits_prove_ownership_and_link_the_chat(journey: Journey) -> None:
    dossier = await journey.new_dossier()
    await journey.say(dossier.code)
    wrong = texts(await journey.say("1234"))
    assert "không khớp" in wrong
    assert_private(wrong)
    right = texts(await journey.say("5678"))
    assert f"liên kết với hồ sơ {dossier.code}" in right
    assert "Nguyễn Thị Hoa" in right
    assert "Cấp Phiếu lý lịch tư pháp" in right or "lý lịch tư pháp" in right.lower()
    # From now on a look-up from this chat is the owner's view; another chat still sees the public one.
    assert "Nguyễn Thị Hoa" in texts(await journey.say(dossier.code))
    assert_private(texts(await journey.say(dossier.code, chat="200")))


async def test_four_digits_without_a_pending_lookup_are_not_for_this_handler(journey: Journey) -> None:
    await journey.new_dossier()
    assert await journey.send(IncomingMessage(channel="telegram", chat_id="100", user_id="1", text="5678")) is None


async def test_unknown_code_gets_a_helpful_message(journey: Journey) -> None:
    text = texts(await journey.say("tra cứu hồ sơ TTHCC-261123-9999"))
    assert "Không tìm thấy hồ sơ có mã TTHCC-261123-9999" in text
    assert "TTHCC-261123-0001" in text  # what a code looks like
    assert "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in text  # where it is printed


async def test_numbers_in_ordinary_questions_are_left_to_the_faq(journey: Journey) -> None:
    msg = IncomingMessage(channel="zalo", chat_id="u1", user_id="u1", text="toi o so 123456 duong Le Loi can lam CCCD")
    assert await journey.send(msg) is None


async def test_failed_lookups_are_rate_limited_per_chat(make_journey: MakeJourney) -> None:
    journey = await make_journey(lookup_fail_limit_per_hour=3)
    dossier = await journey.new_dossier()
    for n in range(3):
        assert "Không tìm thấy" in texts(await journey.say(f"TTHCC-261123-99{n:02d}"))
    # The limit is reached: even a real code is not looked up any more from this chat...
    blocked = texts(await journey.say(dossier.code))
    assert "nhiều lần" in blocked
    assert dossier.code not in blocked
    assert "Được tiếp nhận" not in blocked
    # ...but another chat is not affected.
    assert "Được tiếp nhận" in texts(await journey.say(dossier.code, chat="other"))


async def test_wrong_digits_count_towards_the_limit(make_journey: MakeJourney) -> None:
    journey = await make_journey(lookup_fail_limit_per_hour=2)
    dossier = await journey.new_dossier()
    await journey.say(dossier.code)
    assert "không khớp" in texts(await journey.say("0000"))
    assert "không khớp" in texts(await journey.say("1111"))
    # Guessing is over for the hour, even with the right digits.
    assert "nhiều lần" in texts(await journey.say("5678"))


async def test_codes_wrapped_in_chatter_still_count(make_journey: MakeJourney) -> None:
    journey = await make_journey(lookup_fail_limit_per_hour=2)
    dossier = await journey.new_dossier()
    for n in range(2):
        msg = IncomingMessage(channel="telegram", chat_id="100", user_id="1", text=f"xyz TTHCC-261123-99{n:02d} abc")
        assert await journey.send(msg) is None  # not a look-up the FAQ could not answer...
    # ...but the guesses counted: the enumeration is stopped.
    assert "nhiều lần" in texts(await journey.say(f"tra cứu {dossier.code}"))


async def test_shared_phone_links_the_dossiers_filed_with_it(journey: Journey) -> None:
    first = await journey.new_dossier()
    second = await journey.new_dossier(applicant_phone="+84 912 345 678")
    other = await journey.new_dossier(applicant_phone="0987654321")
    text = texts(await journey.say(kind="contact", phone="84912345678"))
    assert first.code in text and second.code in text and other.code not in text
    assert "Nguyễn Thị Hoa" in texts(await journey.say(second.code))


async def test_lookup_without_code_asks_for_it(journey: Journey) -> None:
    text = texts(await journey.say("tra cứu hồ sơ"))
    assert "gửi mã hồ sơ" in text
    assert "TTHCC-261123-0001" in text
    assert "gửi mã hồ sơ" in texts(await journey.press("menu:lookup"))


async def test_status_card_says_what_to_do_next(journey: Journey) -> None:
    dossier = await journey.new_dossier()
    await journey.say(kind="contact", phone="0912345678")
    await journey.change(dossier, status="needs_supplement", note="Thiếu bản sao giấy khai sinh")
    owner = texts(await journey.say(dossier.code))
    assert "Yêu cầu bổ sung giấy tờ" in owner
    assert "Thiếu bản sao giấy khai sinh" in owner
    stranger = texts(await journey.say(dossier.code, chat="200"))
    assert "Yêu cầu bổ sung giấy tờ" in stranger
    assert "Thiếu bản sao giấy khai sinh" not in stranger
    assert "xác minh" in stranger
