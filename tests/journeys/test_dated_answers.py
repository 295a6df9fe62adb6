"""The FAQ handler answers with the facts valid on the day asked, by its own clock (a fake one here)."""

from __future__ import annotations

from handlers.faq import handle_faq
from tests.journeys.conftest import Journey, texts


async def test_the_tt_117_waiver_follows_the_handlers_clock(journey: Journey) -> None:
    journey = Journey(ctx=journey.ctx, clock=journey.clock, handlers=[handle_faq])
    journey.clock.set_local(2026, 12, 4, 10)
    during = texts(await journey.say("lệ phí đổi căn cước"))
    assert "117/2026/TT-BTC" in during and "áp dụng đến hết ngày 28/02/2027" in during
    journey.clock.set_local(2027, 3, 1, 10)
    after = texts(await journey.say("lệ phí đổi căn cước"))
    assert "117/2026/TT-BTC" not in after
    assert "50.000 đồng" in after  # TT 64/2025's cut ended on 31/12/2026
    # the day is the centre's: 23:30 on 28/02/2027 in Vietnam is still inside the range (16:30 UTC)
    journey.clock.set_local(2027, 2, 28, 23, 30)
    assert "117/2026/TT-BTC" in texts(await journey.say("lệ phí đổi căn cước"))
