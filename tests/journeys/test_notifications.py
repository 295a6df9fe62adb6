"""Receipts, status messages and apologies written to the outbox by the dossier hook."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from handlers.base import Reply
from handlers.messages import fmt_date
from storage.models import utcnow
from storage.outbox import PENDING, UNDELIVERABLE
from tests.journeys.conftest import TZ, Journey, MakeJourney

ZNS_READY = {
    "zalo_access_token": "zns-token",
    "zns_template_receipt": "tpl-receipt",
    "zns_template_status": "tpl-status",
    "zns_template_rating": "tpl-rating",
}


async def linked_chat(
    journey: Journey, chat: str = "100", channel: str = "telegram", phone: str = "0912345678"
) -> None:
    """A chat that shared its (platform-verified) phone number."""
    await journey.say(kind="contact", phone=phone, chat=chat, channel=channel)


async def test_receipt_goes_to_every_linked_chat(journey: Journey) -> None:
    await linked_chat(journey, "100", "telegram")
    await linked_chat(journey, "zu1", "zalo")
    await journey.say("English", chat="zu1", channel="zalo")
    dossier = await journey.new_dossier()
    rows = await journey.outbox("receipt")
    assert [(r.channel, r.recipient) for r in rows] == [("telegram", "100"), ("zalo", "zu1")]
    vi, en = (Reply.from_payload(r.payload).text for r in rows)
    for part in (
        "PHIẾU BIÊN NHẬN ĐIỆN TỬ",
        f"Mã hồ sơ: {dossier.code}",
        "Cấp Phiếu lý lịch tư pháp",
        "Công an tỉnh",
        "Thời gian tiếp nhận: 10:00 ngày 23/11/2026",
        "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp",
        "Phí, lệ phí: 200.000 đồng",
        "Số 1 Đường Trần Phú",
        f"gửi mã {dossier.code}",
    ):
        assert part in vi
    assert "ELECTRONIC RECEIPT" in en and "200,000 VND" in en
    assert all(r.status == PENDING and r.dossier_id == dossier.id for r in rows)


@pytest.mark.parametrize(
    ("status", "fields", "expected"),
    [
        ("in_progress", {}, ["đang được xử lý", "Ngày hẹn trả kết quả"]),
        (
            "needs_supplement",
            {
                "note": "Thiếu bản sao giấy khai sinh",
                "extra": {"supplement_deadline": datetime(2026, 11, 30, 17, 0, tzinfo=TZ)},
            },
            ["BỔ SUNG GIẤY TỜ", "Thiếu bản sao giấy khai sinh", "Hạn nộp bổ sung: Thứ Hai, 30/11/2026"],
        ),
        ("awaiting_payment", {"extra": {"amount": 1250000}}, ["nghĩa vụ tài chính: 1.250.000 đồng", "dichvucong"]),
        (
            "rejected",
            {"extra": {"reason": "Hồ sơ không thuộc thẩm quyền"}},
            ["không được giải quyết", "Lý do: Hồ sơ không thuộc thẩm quyền"],
        ),
        ("withdrawn", {}, ["đã được rút"]),
        ("suspended", {"note": "Chờ ý kiến cơ quan liên quan"}, ["tạm dừng", "Chờ ý kiến cơ quan liên quan"]),
    ],
)
async def test_each_status_change_sends_its_message(
    journey: Journey, status: str, fields: dict[str, object], expected: list[str]
) -> None:
    await linked_chat(journey)
    dossier = await journey.new_dossier()
    assert await journey.change(dossier, status=status, **fields)
    rows = await journey.outbox("status")
    assert len(rows) == 1
    text = Reply.from_payload(rows[0].payload).text
    assert dossier.code in text
    for part in expected:
        assert part in text


async def test_result_ready_counter_or_postal(journey: Journey) -> None:
    await linked_chat(journey)
    counter = await journey.new_dossier()
    postal = await journey.new_dossier(return_method="postal")
    await journey.change(counter, status="result_ready")
    await journey.change(postal, status="result_ready")
    first, second = (Reply.from_payload(r.payload).text for r in await journey.outbox("status"))
    assert "ĐÃ CÓ KẾT QUẢ" in first and "Số 1 Đường Trần Phú" in first and "7 giờ 30 – 11 giờ 30" in first
    assert "bưu chính công ích" in second


async def test_postponement_apologises_with_old_and_new_dates_and_reason(journey: Journey) -> None:
    await linked_chat(journey)
    dossier = await journey.new_dossier()
    old = dossier.due_at
    new = old + timedelta(days=7)
    await journey.change(dossier, new_due_at=new, extra={"reason": "Chờ kết quả xác minh của cơ quan khác"})
    (row,) = await journey.outbox("postponed")
    text = Reply.from_payload(row.payload).text
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text
    assert f"Ngày hẹn cũ: {fmt_date(old, TZ, 'vi')}" in text
    assert f"Ngày hẹn mới: {fmt_date(new, TZ, 'vi')}" in text
    assert "Chờ kết quả xác minh của cơ quan khác" in text
    assert "Nguyễn Thị Hoa" in text


async def test_retried_or_repeated_changes_send_one_message(journey: Journey) -> None:
    await linked_chat(journey)
    dossier = await journey.new_dossier()
    assert await journey.change(dossier, status="in_progress", request_key="req-1")
    assert not await journey.change(dossier, status="in_progress", request_key="req-1")  # the API call retried
    assert not await journey.change(dossier, status="in_progress")  # the same status twice
    assert len(await journey.outbox("status")) == 1


async def test_returned_asks_for_a_rating_once(journey: Journey) -> None:
    await linked_chat(journey)
    dossier = await journey.new_dossier()
    await journey.change(dossier, status="result_ready")
    await journey.change(dossier, status="returned")
    (row,) = await journey.outbox("rating_request")
    reply = Reply.from_payload(row.payload)
    assert "đánh giá mức độ hài lòng" in reply.text
    assert [b.label for row_ in reply.buttons for b in row_] == ["Rất hài lòng", "Hài lòng", "Không hài lòng"]
    assert [b.payload for row_ in reply.buttons for b in row_] == [f"rate:{dossier.id}:{n}" for n in (3, 2, 1)]


async def test_quiet_hours_hold_messages_until_morning(journey: Journey) -> None:
    await linked_chat(journey)
    dossier = await journey.new_dossier()
    journey.clock.set_local(2026, 11, 23, 22, 30)  # 22:30: quiet
    await journey.change(dossier, status="in_progress")
    (row,) = await journey.outbox("status")
    assert row.next_attempt_at == datetime(2026, 11, 24, 7, 0, tzinfo=TZ)
    journey.clock.set_local(2026, 11, 24, 6, 59)  # still quiet, before the end of the window
    await journey.change(dossier, status="needs_supplement")
    assert (await journey.outbox("status"))[1].next_attempt_at == datetime(2026, 11, 24, 7, 0, tzinfo=TZ)
    journey.clock.set_local(2026, 11, 24, 7, 0)  # morning: due at once
    before = utcnow()
    await journey.change(dossier, status="in_progress")
    assert before <= (await journey.outbox("status"))[2].next_attempt_at <= utcnow()


async def test_quiet_hours_can_be_disabled(make_journey: MakeJourney) -> None:
    journey = await make_journey(quiet_hours="")
    await linked_chat(journey)
    dossier = await journey.new_dossier()
    journey.clock.set_local(2026, 11, 23, 23, 15)
    before = utcnow()
    await journey.change(dossier, status="in_progress")
    (row,) = await journey.outbox("status")
    assert before <= row.next_attempt_at <= utcnow()


async def test_without_linked_chat_messages_go_by_zns(make_journey: MakeJourney) -> None:
    journey = await make_journey(**ZNS_READY)
    dossier = await journey.new_dossier()
    await journey.change(dossier, status="in_progress")  # chat-only update: no paid message
    await journey.change(dossier, status="result_ready")
    rows = await journey.outbox()
    assert [(r.kind, r.channel, r.recipient, r.status) for r in rows] == [
        ("receipt", "zns", "84912345678", PENDING),
        ("status", "zns", "84912345678", PENDING),
    ]
    zns = rows[0].payload["zns"]
    assert zns["template_id"] == "tpl-receipt"
    assert zns["tracking_id"] == rows[0].idempotency_key
    assert zns["template_data"]["dossier_code"] == dossier.code
    assert zns["template_data"]["customer_name"] == "Nguyễn Thị Hoa"
    assert rows[1].payload["zns"]["template_id"] == "tpl-status"
    assert rows[1].payload["zns"]["template_data"]["status"] == "Đã xử lý xong"


async def test_without_zns_configured_the_message_is_recorded_undeliverable(journey: Journey) -> None:
    await journey.new_dossier()
    (row,) = await journey.outbox("receipt")
    assert row.status == UNDELIVERABLE
    assert row.channel == "none"  # recorded, never sent, with every reason on the way
    assert "no linked chat" in (row.last_error or "") and "ZNS_TEMPLATE_RECEIPT" in (row.last_error or "")
    assert "PHIẾU BIÊN NHẬN ĐIỆN TỬ" in row.payload["text"]


async def test_without_phone_or_chat_the_message_is_recorded_undeliverable(journey: Journey) -> None:
    await journey.new_dossier(applicant_phone=None)
    (row,) = await journey.outbox("receipt")
    assert row.status == UNDELIVERABLE
    assert "no phone number" in (row.last_error or "")


async def test_a_chat_that_blocked_the_bot_falls_back_to_zns(make_journey: MakeJourney) -> None:
    journey = await make_journey(**ZNS_READY)
    await linked_chat(journey)
    dossier = await journey.new_dossier()
    from storage.contacts import mark_blocked

    async with journey.ctx.sessionmaker.begin() as session:
        await mark_blocked(session, "telegram", "100", "Forbidden: bot was blocked by the user")
    await journey.change(dossier, status="result_ready")
    rows = await journey.outbox("status")
    assert [(r.channel, r.recipient) for r in rows] == [("zns", "84912345678")]
