"""The FAQ matcher on the fixture knowledge base: finding, thresholds, replies, JSON."""

from __future__ import annotations

import pytest

from knowledge import ASPECTS, Answer, KnowledgeBase, Matcher
from knowledge.matcher import ANSWER_THRESHOLD, CLARIFY_THRESHOLD
from knowledge.render import format_money, format_working_hours
from tests.knowledge.conftest import CENTRE


@pytest.mark.parametrize(
    ("question", "procedure_id", "aspect"),
    [
        ("lý lịch tư pháp cần giấy tờ gì", "cap-phieu-ly-lich-tu-phap", "documents"),
        ("xin phieu ly lich tu phap het bao nhieu tien", "cap-phieu-ly-lich-tu-phap", "fee"),
        ("lltp lam o dau vay ad", "cap-phieu-ly-lich-tu-phap", "where"),
        ("Cho em hỏi đăng ký kết hôn cần những giấy tờ gì ạ", "dang-ky-ket-hon", "documents"),
        ("dieu kien dang ky ket hon", "dang-ky-ket-hon", "conditions"),
        ("làm giấy khai sinh cho con ở đâu", "dang-ky-khai-sinh", "where"),
        ("lam passport mat bao lau", "cap-ho-chieu-pho-thong", "processing_time"),
        ("hộ chiếu phổ thông lệ phí bao nhiêu", "cap-ho-chieu-pho-thong", "fee"),
        ("phi cap phep xay dung", "cap-giay-phep-xay-dung-nha-o", "fee"),
        ("mẫu đơn xin giấy phép xây dựng nhà ở", "cap-giay-phep-xay-dung-nha-o", "forms"),
        ("căn cứ pháp lý cấp phiếu lý lịch tư pháp", "cap-phieu-ly-lich-tu-phap", "legal_basis"),
        ("đổi bằng lái xe hết hạn", "doi-giay-phep-lai-xe", "overview"),
        ("gplx bi mat thi cap lai nhu the nao", "cap-lai-giay-phep-lai-xe", "steps"),
    ],
)
def test_answers_the_procedure_and_aspect(matcher: Matcher, question: str, procedure_id: str, aspect: str) -> None:
    answer = matcher.ask(question)
    assert answer.outcome == "answer", answer.to_json()
    assert answer.procedure is not None
    assert answer.procedure.id == procedure_id
    assert answer.aspect == aspect
    assert answer.score >= ANSWER_THRESHOLD


def test_typos_are_corrected(matcher: Matcher) -> None:
    answer = matcher.ask("ly lich tu phapp can giay to gii")
    assert answer.procedure is not None
    assert answer.procedure.id == "cap-phieu-ly-lich-tu-phap"


@pytest.mark.parametrize(
    "question",
    [
        "hôm nay có mưa không",
        "hom nay troi co mua khong",
        "kết quả xổ số miền bắc hôm nay",
        "vay tiền trả góp lãi suất thấp",
        "mua điện thoại iphone ở đâu rẻ",
        "kể chuyện cười đi",
        "bạn tên là gì",
        "giá vàng hôm nay bao nhiêu",
    ],
)
def test_out_of_scope_falls_back_honestly(matcher: Matcher, question: str) -> None:
    answer = matcher.ask(question)
    assert answer.outcome == "fallback", answer.to_json()
    assert answer.procedure is None
    assert CENTRE.hotline in answer.text
    assert "7 giờ 30" in answer.text
    assert ("Gặp cán bộ", "menu:human") in answer.buttons
    assert ("Gọi đường dây nóng", "menu:hotline") in answer.buttons


def test_ambiguous_question_offers_candidates(matcher: Matcher) -> None:
    answer = matcher.ask("giấy phép lái xe")
    assert answer.outcome == "clarify"
    ids = {candidate.id for candidate in answer.candidates}
    assert {"doi-giay-phep-lai-xe", "cap-lai-giay-phep-lai-xe"} <= ids
    assert all(c.score >= CLARIFY_THRESHOLD for c in answer.candidates)
    payloads = [payload for _, payload in answer.buttons]
    assert "kb:doi-giay-phep-lai-xe:overview" in payloads
    assert "kb:cap-lai-giay-phep-lai-xe:overview" in payloads
    assert payloads[-1] == "menu:human"
    assert answer.procedure is None


def test_clarify_buttons_carry_the_aspect_asked(matcher: Matcher) -> None:
    answer = matcher.ask("lệ phí giấy phép lái xe")
    assert answer.outcome == "clarify"
    assert answer.aspect == "fee"
    assert "kb:doi-giay-phep-lai-xe:fee" in [payload for _, payload in answer.buttons]
    assert "lệ phí" in answer.text


def test_scores_are_ordered_and_bounded(matcher: Matcher) -> None:
    answer = matcher.ask("đăng ký kết hôn")
    scores = [candidate.score for candidate in answer.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= score <= 1.0 for score in scores)
    assert answer.candidates[0].id == "dang-ky-ket-hon"


def test_greeting_is_a_friendly_welcome_not_a_procedure(matcher: Matcher) -> None:
    for question in ("xin chào", "Chào ad ạ", "hello"):
        answer = matcher.ask(question)
        assert answer.outcome == "fallback"
        assert answer.greeting
        assert answer.text.startswith("Xin chào")
        assert answer.candidates == []


def test_thanks_is_answered_politely(matcher: Matcher) -> None:
    answer = matcher.ask("cảm ơn ad nhiều nhé")
    assert answer.greeting
    assert "vui" in answer.text


def test_aspect_without_a_procedure_asks_which_one(matcher: Matcher) -> None:
    answer = matcher.ask("lệ phí bao nhiêu vậy ạ")
    assert answer.outcome == "fallback"
    assert answer.aspect == "fee"
    assert "thủ tục nào" in answer.text


def test_fee_answer_renders_amounts_from_the_data(matcher: Matcher) -> None:
    answer = matcher.ask("lệ phí lý lịch tư pháp")
    assert "200.000 đồng" in answer.text
    assert "Sinh viên, người có công 100.000 đồng" in answer.text
    # the officers' note listed under `uncertain` (now `review`) is theirs: never said to the citizen
    assert "Mức lệ phí sau ngày 31/12/2025" not in answer.text
    assert "chưa kiểm chứng" not in answer.text
    assert answer.text.startswith("Cấp Phiếu lý lịch tư pháp")
    assert "Thông tin cập nhật ngày 01/07/2025." in answer.text


def test_fee_set_by_the_province_is_never_invented(matcher: Matcher) -> None:
    answer = matcher.ask("phí cấp phép xây dựng nhà ở")
    assert answer.aspect == "fee"
    assert "Lệ phí cấp giấy phép xây dựng: Mức thu do Hội đồng nhân dân tỉnh quy định." in answer.text
    assert "đồng" not in answer.text.replace("Hội đồng", "")
    assert "Lưu ý (chưa kiểm chứng)" not in answer.text


def test_free_procedure_says_so(matcher: Matcher) -> None:
    answer = matcher.ask("đăng ký kết hôn có mất phí không")
    assert answer.aspect == "fee"
    assert "Miễn lệ phí đăng ký kết hôn." in answer.text


def test_documents_answer_lists_copies_and_kinds(matcher: Matcher) -> None:
    answer = matcher.ask("xin giấy phép xây dựng cần giấy tờ gì")
    assert "1. Đơn đề nghị cấp giấy phép xây dựng (01 bản)" in answer.text
    assert "2. Bản vẽ thiết kế xây dựng (02 bản sao)" in answer.text


def test_answer_buttons_offer_the_other_aspects(matcher: Matcher) -> None:
    answer = matcher.ask("lệ phí hộ chiếu")
    payloads = [payload for _, payload in answer.buttons]
    assert "kb:cap-ho-chieu-pho-thong:fee" not in payloads
    assert "kb:cap-ho-chieu-pho-thong:documents" in payloads
    assert "kb:cap-ho-chieu-pho-thong:overview" in payloads
    # no conditions and no forms in the data: no buttons for them
    assert "kb:cap-ho-chieu-pho-thong:conditions" not in payloads
    assert "kb:cap-ho-chieu-pho-thong:forms" not in payloads


def test_cue_word_inside_the_procedure_name_is_not_an_aspect(kb: KnowledgeBase) -> None:
    matcher = Matcher(kb, CENTRE)
    # "giấy tờ" would be a documents cue, but it is only the procedure's name here
    answer = matcher.ask("thủ tục xin phép xây nhà")
    assert answer.aspect == "overview"


@pytest.mark.parametrize("aspect", ASPECTS)
def test_answer_aspect_for_button_presses(matcher: Matcher, aspect: str) -> None:
    answer = matcher.answer_aspect("cap-phieu-ly-lich-tu-phap", aspect)
    assert answer.outcome == "answer"
    assert answer.aspect == aspect
    assert answer.procedure is not None
    assert answer.text.startswith("Cấp Phiếu lý lịch tư pháp")
    assert f"kb:cap-phieu-ly-lich-tu-phap:{aspect}" not in [payload for _, payload in answer.buttons]


def test_each_aspect_leads_with_its_own_section(matcher: Matcher) -> None:
    heads = {
        "fee": "Phí, lệ phí:",
        "documents": "Hồ sơ cần chuẩn bị:",
        "processing_time": "Thời hạn giải quyết: 10 ngày làm việc.",
        "steps": "Các bước thực hiện:",
        "where": "Nơi nộp hồ sơ:",
        "conditions": "Thủ tục này không có điều kiện riêng",
        "legal_basis": "Căn cứ pháp lý:",
        "forms": "Mẫu đơn, tờ khai:",
        "overview": "Phiếu lý lịch tư pháp xác nhận",
    }
    for aspect, head in heads.items():
        lines = matcher.answer_aspect("cap-phieu-ly-lich-tu-phap", aspect).text.splitlines()
        assert lines[1].startswith(head), (aspect, lines[:3])


def test_unknown_button_payload_falls_back(matcher: Matcher) -> None:
    assert matcher.answer_aspect("khong-co-thu-tuc-nay", "fee").outcome == "fallback"
    assert matcher.answer_aspect("dang-ky-ket-hon", "price").outcome == "fallback"


def test_faq_answer_leads_when_the_question_is_an_faq(matcher: Matcher) -> None:
    answer = matcher.ask("co lam ly lich tu phap qua vneid duoc khong")
    assert answer.procedure is not None
    assert "Được, công dân có thể yêu cầu cấp Phiếu qua ứng dụng VNeID." in answer.text


def test_general_entry_is_answered_with_centre_facts(matcher: Matcher) -> None:
    answer = matcher.ask("trung tâm hành chính công ở đâu vậy")
    assert answer.outcome == "answer"
    assert answer.general is not None
    assert answer.procedure is None
    assert answer.aspect == "overview"
    assert CENTRE.address in answer.text
    assert "Thứ Hai – Thứ Sáu: sáng 7 giờ 30 – 11 giờ 30, chiều 13 giờ 30 – 17 giờ" in answer.text
    data = answer.to_json()
    assert data["procedure"] == {
        "id": "dia-chi-trung-tam",
        "title": "Địa chỉ và liên hệ Trung tâm Phục vụ hành chính công",
        "department": CENTRE.name,
    }


def test_to_json_has_exactly_the_product_schema(matcher: Matcher) -> None:
    data = matcher.ask("le phi ho chieu").to_json()
    assert list(data) == ["query", "outcome", "procedure", "aspect", "candidates", "text"]
    assert data["query"] == "le phi ho chieu"
    assert data["outcome"] == "answer"
    assert data["procedure"] == {
        "id": "cap-ho-chieu-pho-thong",
        "title": "Cấp hộ chiếu phổ thông trong nước",
        "department": "Công an tỉnh",
    }
    assert data["aspect"] == "fee"
    assert all(set(c) == {"id", "title", "score"} for c in data["candidates"])
    assert isinstance(data["candidates"][0]["score"], float)
    assert "200.000 đồng" in data["text"]


def test_fallback_json_has_no_procedure(matcher: Matcher) -> None:
    data = matcher.ask("xổ số hôm nay").to_json()
    assert data["outcome"] == "fallback"
    assert data["procedure"] is None
    assert data["aspect"] is None


def test_replies_fit_a_phone_screen(matcher: Matcher) -> None:
    for procedure in matcher.kb.procedures:
        for aspect in ASPECTS:
            answer: Answer = matcher.answer_aspect(procedure.id, aspect)
            assert len(answer.text) < 2000
            assert all(len(line) < 500 for line in answer.text.splitlines())


def test_money_and_hours_formatting() -> None:
    assert format_money(200000) == "200.000 đồng"
    assert format_money(1500000) == "1.500.000 đồng"
    assert format_money(0) == "0 đồng"
    assert format_working_hours("Mon-Fri 07:30-11:30,13:30-17:00; Sat 07:30-11:30") == (
        "Thứ Hai – Thứ Sáu: sáng 7 giờ 30 – 11 giờ 30, chiều 13 giờ 30 – 17 giờ; Thứ Bảy: sáng 7 giờ 30 – 11 giờ 30"
    )
    assert format_working_hours("Sáng 7h30 - 11h30 các ngày trong tuần") == "Sáng 7h30 - 11h30 các ngày trong tuần"


def test_out_of_scope_scores_stay_below_the_clarify_threshold(matcher: Matcher) -> None:
    for question in ("giá vàng hôm nay", "kể chuyện cười đi", "vay tiền trả góp"):
        answer = matcher.ask(question)
        assert answer.score < CLARIFY_THRESHOLD, (question, answer.score)


def test_empty_and_symbol_only_questions_fall_back(matcher: Matcher) -> None:
    for question in ("", "   ", "???", "😀😀"):
        answer = matcher.ask(question)
        assert answer.outcome == "fallback"
        assert answer.procedure is None


def test_diacritics_typed_tell_words_apart(kb: KnowledgeBase) -> None:
    land = kb.procedures[0].model_copy(
        update={"id": "chuyen-nhuong-dat", "title": "Đăng ký chuyển nhượng đất", "aliases": ["mua bán đất"]}
    )
    small = KnowledgeBase(departments=kb.departments, procedures=[land], general=[])
    matcher = Matcher(small, CENTRE)
    # "mưa" (rain) is not "mua" (buy), though both fold to "mua"
    assert matcher.ask("trời mưa đất ướt").outcome == "fallback"
    # without diacritics it may be either, and the rest of the question decides
    answer = matcher.ask("mua ban dat")
    assert answer.outcome == "answer"
    assert answer.procedure is not None
    assert answer.procedure.id == "chuyen-nhuong-dat"


def test_lai_and_lai_with_diacritics_are_different_words(matcher: Matcher) -> None:
    answer = matcher.ask("cấp lại giấy phép lái xe")
    assert answer.procedure is not None
    assert answer.procedure.id == "cap-lai-giay-phep-lai-xe"
    answer = matcher.ask("đổi giấy phép lái xe")
    assert answer.procedure is not None
    assert answer.procedure.id == "doi-giay-phep-lai-xe"


def test_greeting_with_a_question_answers_the_question(matcher: Matcher) -> None:
    answer = matcher.ask("Chào ad, cho em hỏi làm hộ chiếu cần giấy tờ gì ạ")
    assert not answer.greeting
    assert answer.procedure is not None
    assert answer.procedure.id == "cap-ho-chieu-pho-thong"
    assert answer.aspect == "documents"


def test_button_for_a_general_entry(matcher: Matcher) -> None:
    answer = matcher.answer_aspect("gio-lam-viec", "overview")
    assert answer.outcome == "answer"
    assert answer.general is not None
    assert answer.text == "Giờ làm việc: Thứ Hai – Thứ Sáu: sáng 7 giờ 30 – 11 giờ 30, chiều 13 giờ 30 – 17 giờ."
