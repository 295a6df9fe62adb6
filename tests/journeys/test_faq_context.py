"""The FAQ remembers the conversation per chat in the state store (memory and Redis): follow-ups continue
from the procedure last answered, a pressed button counts as answered, chats do not share it, it expires
after a quiet spell; English messages are answered in English with the facts in Vietnamese."""

from __future__ import annotations

import asyncio

from handlers import HANDLERS
from tests.journeys.conftest import Journey, MakeJourney, texts


def _production(journey: Journey) -> Journey:
    journey.handlers = list(HANDLERS)  # the registration the service uses
    return journey


async def test_follow_ups_continue_from_the_last_procedure(journey: Journey) -> None:
    _production(journey)
    first = texts(await journey.say("đăng ký kết hôn cần giấy tờ gì"))
    assert first.startswith("Đăng ký kết hôn (công dân Việt Nam cư trú trong nước)\nHồ sơ cần chuẩn bị:")
    fee = texts(await journey.say("còn lệ phí thì sao?"))
    assert fee.startswith("Đăng ký kết hôn (công dân Việt Nam cư trú trong nước)\nPhí, lệ phí:")
    where = texts(await journey.say("vậy nộp ở đâu"))
    assert where.startswith("Đăng ký kết hôn (công dân Việt Nam cư trú trong nước)\nNơi nộp hồ sơ:")
    # another chat has no conversation: it is asked which procedure
    other = texts(await journey.say("còn lệ phí thì sao?", chat="200"))
    assert "thủ tục nào" in other


async def test_a_variant_moves_to_the_sibling(journey: Journey) -> None:
    _production(journey)
    await journey.say("đăng ký kết hôn cần giấy tờ gì")
    variant = texts(await journey.say("nếu chồng tôi là người Hàn Quốc thì sao"))
    assert variant.startswith("Đăng ký kết hôn có yếu tố nước ngoài")


async def test_a_pressed_button_is_the_procedure_a_follow_up_continues(journey: Journey) -> None:
    _production(journey)
    await journey.press("kb:cap-ho-chieu-pho-thong-trong-nuoc:overview")
    assert texts(await journey.say("mất bao lâu")).startswith("Cấp hộ chiếu phổ thông ở trong nước")


async def test_out_of_scope_ends_the_conversation(journey: Journey) -> None:
    _production(journey)
    await journey.say("làm hộ chiếu ở đâu")
    await journey.say("kết quả xổ số miền bắc hôm nay")
    assert "thủ tục nào" in texts(await journey.say("mất bao lâu"))


async def test_the_conversation_expires_after_a_quiet_spell(make_journey: MakeJourney) -> None:
    journey = _production(await make_journey(faq_context_minutes=0.01))  # 0.6 s
    await journey.say("làm hộ chiếu ở đâu")
    assert texts(await journey.say("mất bao lâu")).startswith("Cấp hộ chiếu")
    await asyncio.sleep(1.0)
    assert "thủ tục nào" in texts(await journey.say("còn lệ phí thì sao?"))


async def test_an_english_question_is_answered_in_english_with_the_facts_in_vietnamese(journey: Journey) -> None:
    _production(journey)
    reply = texts(await journey.say("How much is the passport fee?"))
    assert reply.startswith("Details of procedures are kept in Vietnamese only")
    assert "Cấp hộ chiếu phổ thông ở trong nước" in reply
    contact = await journey.contact()
    assert contact is not None and contact.language == "en"
    # the conversation goes on, in English
    follow = texts(await journey.say("how long does it take?"))
    assert follow.startswith("Details of procedures are kept in Vietnamese only")
    assert "Thời hạn" in follow or "ngày làm việc" in follow


async def test_english_please_switches_the_chat(journey: Journey) -> None:
    _production(journey)
    reply = texts(await journey.say("English please"))
    assert reply.startswith("I will answer in English from now on.")
    not_found = texts(await journey.say("what is the weather like tomorrow"))
    assert not_found.startswith("Sorry, I could not find this in our knowledge base")
