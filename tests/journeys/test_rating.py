"""Rating after the result is returned: one per dossier, changeable for 7 days, only by the applicant's chats."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Dossier, Rating
from tests.journeys.conftest import Journey, MakeJourney, texts


async def returned_dossier(journey: Journey, chat: str = "100") -> Dossier:
    await journey.say(kind="contact", phone="0912345678", chat=chat)
    dossier = await journey.new_dossier()
    await journey.change(dossier, status="result_ready")
    await journey.change(dossier, status="returned")
    return dossier


async def ratings(journey: Journey) -> list[Rating]:
    async with journey.ctx.sessionmaker() as session:
        return list((await session.execute(select(Rating).order_by(Rating.id))).scalars())


async def test_rating_is_stored_with_department_channel_and_time(journey: Journey) -> None:
    dossier = await returned_dossier(journey)
    assert "Cảm ơn Ông/Bà đã đánh giá: Rất hài lòng" in texts(await journey.press(f"rate:{dossier.id}:3"))
    (rating,) = await ratings(journey)
    assert (rating.dossier_id, rating.department_id, rating.channel) == (dossier.id, "cong-an", "telegram")
    assert (rating.level, rating.score, rating.comment) == ("very_satisfied", 3, None)
    assert rating.created_at == journey.clock()


async def test_not_satisfied_asks_for_an_optional_comment(journey: Journey) -> None:
    dossier = await returned_dossier(journey)
    replies = await journey.press(f"rate:{dossier.id}:1")
    assert "Không hài lòng" in replies[0].text
    assert "lý do" in replies[1].text
    assert [b.payload for row in replies[1].buttons for b in row] == [f"rate-skip:{dossier.id}"]
    assert "Công an tỉnh" in texts(await journey.say("Phải đi lại ba lần vì thiếu hướng dẫn"))
    (rating,) = await ratings(journey)
    assert rating.comment == "Phải đi lại ba lần vì thiếu hướng dẫn"
    # The comment step is over: the next message is not taken as a comment.
    assert await journey.send_text("cảm ơn") is None


async def test_the_comment_can_be_skipped(journey: Journey) -> None:
    dossier = await returned_dossier(journey)
    await journey.press(f"rate:{dossier.id}:1")
    assert texts(await journey.press(f"rate-skip:{dossier.id}")) == "Cảm ơn Ông/Bà."
    assert (await ratings(journey))[0].comment is None
    assert await journey.send_text("cảm ơn") is None


async def test_rating_can_be_changed_within_seven_days_and_not_after(journey: Journey) -> None:
    dossier = await returned_dossier(journey)
    await journey.press(f"rate:{dossier.id}:1")
    journey.clock.advance(days=6)
    assert "Đã cập nhật đánh giá của Ông/Bà: Hài lòng" in texts(await journey.press(f"rate:{dossier.id}:2"))
    journey.clock.advance(days=2)  # 8 days after the first rating
    refused = texts(await journey.press(f"rate:{dossier.id}:3"))
    assert "7 ngày" in refused and "Hài lòng" in refused
    (rating,) = await ratings(journey)
    assert (rating.level, rating.score) == ("satisfied", 2)


async def test_someone_elses_dossier_cannot_be_rated(journey: Journey) -> None:
    dossier = await returned_dossier(journey)
    assert "Chỉ người nộp hồ sơ" in texts(await journey.press(f"rate:{dossier.id}:1", chat="stranger"))
    assert "Chỉ người nộp hồ sơ" in texts(await journey.press("rate:999999:1", chat="stranger"))
    assert await ratings(journey) == []


async def test_a_dossier_not_yet_returned_cannot_be_rated(journey: Journey) -> None:
    await journey.say(kind="contact", phone="0912345678")
    dossier = await journey.new_dossier()
    assert "chưa trả kết quả" in texts(await journey.press(f"rate:{dossier.id}:3"))
    assert await ratings(journey) == []


async def test_five_level_scale(make_journey: MakeJourney) -> None:
    journey = await make_journey(rating_scale=5)
    dossier = await returned_dossier(journey)
    (row,) = await journey.outbox("rating_request")
    labels = [b["label"] for r in row.payload["buttons"] for b in r]
    assert labels == ["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng", "Rất không hài lòng"]
    await journey.press(f"rate:{dossier.id}:4")
    assert [(r.level, r.score) for r in await ratings(journey)] == [("satisfied", 4)]
    assert "không hợp lệ" in texts(await journey.press(f"rate:{dossier.id}:9"))
