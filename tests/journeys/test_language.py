"""English on request for the journeys' texts and menu; Vietnamese by default."""

from __future__ import annotations

import pytest

from tests.journeys.conftest import Journey, texts


@pytest.mark.parametrize("request_text", ["English", "english", "/lang en", "/lang@motcua_bot en", "tiếng Anh"])
async def test_english_on_request(journey: Journey, request_text: str) -> None:
    reply = (await journey.say(request_text))[0]
    assert "in English" in reply.text and "Vietnamese only" in reply.text
    labels = [b.label for row in reply.buttons for b in row]
    assert labels == ["Look up a dossier", "Talk to an officer", "Tiếng Việt"]
    contact = await journey.contact()
    assert contact is not None and contact.language == "en"


async def test_journeys_follow_the_chosen_language(journey: Journey) -> None:
    dossier = await journey.new_dossier()
    await journey.say("English")
    text = texts(await journey.say(dossier.code))
    assert "Status: Received" in text and "Handled by:" in text and "last 4 digits" in text
    assert "send your dossier code" in texts(await journey.press("menu:lookup"))
    await journey.say("Tiếng Việt")
    assert "Tình trạng: Được tiếp nhận" in texts(await journey.say(dossier.code))


async def test_bare_lang_offers_both(journey: Journey) -> None:
    reply = (await journey.say("/lang"))[0]
    assert [b.payload for row in reply.buttons for b in row] == ["lang:vi", "lang:en"]
    await journey.press("lang:en")
    contact = await journey.contact()
    assert contact is not None and contact.language == "en"


async def test_ordinary_text_is_not_a_language_request(journey: Journey) -> None:
    assert await journey.send_text("tôi muốn học tiếng Anh thì làm thủ tục gì") is None
