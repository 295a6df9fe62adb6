"""General behaviours that make the matcher work on questions it was not tuned on: initialisms made from
names, particles that belong to a phrase, form codes, the head intent of a question naming two entries,
answers for a clearly leading entry named in full, and generic words that cannot carry an answer."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge import KnowledgeBase, Matcher
from knowledge.models import Form
from tests.knowledge.conftest import CENTRE


def _kb(kb: KnowledgeBase, *procedures: dict[str, Any]) -> KnowledgeBase:
    """A knowledge base of copies of the fixture's first procedure with other ids, titles, aliases."""
    base = kb.procedures[0]
    made = [base.model_copy(update={"aliases": [], "faq": [], "forms": [], **update}) for update in procedures]
    return KnowledgeBase(departments=kb.departments, procedures=made, general=[])


def _answered(matcher: Matcher, question: str) -> str | None:
    answer = matcher.ask(question)
    return answer.entry.id if answer.outcome == "answer" and answer.entry is not None else None


@pytest.fixture(scope="module")
def companies(kb: KnowledgeBase) -> Matcher:
    return Matcher(
        _kb(
            kb,
            {"id": "cong-ty-co-phan", "title": "Đăng ký thành lập công ty cổ phần"},
            {"id": "cong-ty-mtv", "title": "Đăng ký thành lập công ty trách nhiệm hữu hạn một thành viên"},
            {"id": "ho-kinh-doanh", "title": "Đăng ký thành lập hộ kinh doanh"},
            {"id": "tinh-trang-hon-nhan", "title": "Cấp Giấy xác nhận tình trạng hôn nhân"},
            {"id": "huong-dan-vien", "title": "Cấp thẻ hướng dẫn viên du lịch"},
        ),
        CENTRE,
    )


@pytest.mark.parametrize(
    ("question", "procedure_id"),
    [
        ("xac nhan tthn lam o dau", "tinh-trang-hon-nhan"),  # 4 letters, no list entry: made from the title
        ("cap the hdv mat bao lau", "huong-dan-vien"),
        ("thanh lap cty cp mat bao lau", "cong-ty-co-phan"),  # 2 letters: read because "công ty" goes on
        ("thanh lap cty tnhh mtv can giay to gi", "cong-ty-mtv"),
        ("dang ky ho kd het bao nhieu tien", "ho-kinh-doanh"),
    ],
)
def test_initialisms_of_names_are_understood(companies: Matcher, question: str, procedure_id: str) -> None:
    assert _answered(companies, question) == procedure_id


def test_initialisms_need_no_list_for_a_new_procedure(kb: KnowledgeBase) -> None:
    matcher = Matcher(_kb(kb, {"id": "moi", "title": "Cấp giấy phép hoạt động bảo tàng ngoài công lập"}), CENTRE)
    assert _answered(matcher, "xin gphd bao tang") == "moi"


def test_short_laughing_and_syllable_like_tokens_are_not_initialisms(companies: Matcher) -> None:
    # "cp" and "hdv" with no word before them to continue, "hhhh" (laughter) and "nat" (a Vietnamese
    # syllable) stay what they are
    assert companies.ask("cp").outcome == "fallback"
    for text in ("rach nat", "hdv", "hhhh", "kkkk"):
        assert companies._prepare(text).normalized.folded == tuple(text.split())


def test_particle_spelling_of_a_name_word_counts(kb: KnowledgeBase) -> None:
    matcher = Matcher(
        _kb(
            kb,
            {"id": "duoc", "title": "Cấp chứng chỉ hành nghề dược"},
            {
                "id": "kham-benh",
                "title": "Cấp giấy phép hành nghề khám bệnh, chữa bệnh",
                "aliases": ["chứng chỉ hành nghề"],
            },
        ),
        CENTRE,
    )
    # "duoc" is mostly "được" (a particle), but "duoc si" is "dược sĩ" as in a name
    assert _answered(matcher, "xin chung chi hanh nghe duoc si can giay to gi") == "duoc"


def test_form_code_names_its_procedure(kb: KnowledgeBase) -> None:
    passport = {
        "id": "ho-chieu",
        "title": "Cấp hộ chiếu phổ thông",
        "forms": [Form(name="Tờ khai đề nghị cấp hộ chiếu", code="Mẫu TK01")],
    }
    matcher = Matcher(_kb(kb, passport, {"id": "khai-sinh", "title": "Đăng ký khai sinh"}), CENTRE)
    answer = matcher.ask("mau tk01 tai o dau")
    assert answer.candidates[0].id == "ho-chieu"
    assert answer.aspect == "forms"


def test_a_whole_name_with_a_clear_lead_is_answered_despite_a_long_story(matcher: Matcher) -> None:
    answer = matcher.ask("vo e vua sinh em be hom qua o benh vien tinh, dang ky khai sinh bao lau thi lay dc")
    assert answer.score < 0.7  # below the usual threshold: the lead and the whole name decide
    assert answer.outcome == "answer"
    assert answer.procedure is not None and answer.procedure.id == "dang-ky-khai-sinh"
    assert answer.aspect == "processing_time"


def test_the_first_named_entry_is_the_intent(matcher: Matcher) -> None:
    answer = matcher.ask("làm hộ chiếu phổ thông có bắt buộc lý lịch tư pháp không")
    assert answer.candidates[0].id == "cap-ho-chieu-pho-thong"
    answer = matcher.ask("xin lý lịch tư pháp để làm hộ chiếu phổ thông")
    assert answer.candidates[0].id == "cap-phieu-ly-lich-tu-phap"


def test_generic_words_cannot_carry_an_answer(kb: KnowledgeBase) -> None:
    matcher = Matcher(
        _kb(
            kb,
            {
                "id": "bhxh",
                "title": "Đăng ký tham gia bảo hiểm xã hội bắt buộc",
                "aliases": ["đóng bảo hiểm cho nhân viên"],
            },
            {"id": "bhyt", "title": "Cấp thẻ bảo hiểm y tế cho trẻ em"},
        ),
        CENTRE,
    )
    # "nhân thọ" is a word the knowledge base does not have: "bảo hiểm" alone is no answer
    assert matcher.ask("bảo hiểm nhân thọ nào tốt").outcome != "answer"
    assert _answered(matcher, "đóng bảo hiểm cho nhân viên ở đâu") == "bhxh"


def test_an_age_in_the_question_picks_the_entry_for_that_age(kb: KnowledgeBase) -> None:
    matcher = Matcher(
        _kb(
            kb,
            {"id": "duoi-14", "title": "Cấp thẻ căn cước cho công dân dưới 14 tuổi"},
            {"id": "tu-du-14", "title": "Cấp thẻ căn cước lần đầu cho công dân từ đủ 14 tuổi trở lên"},
        ),
        CENTRE,
    )
    assert matcher.ask("con em 10 tuoi lam the can cuoc can giay to gi").candidates[0].id == "duoi-14"
    assert matcher.ask("15 tuoi lam the can cuoc lan dau the nao").candidates[0].id == "tu-du-14"
    assert matcher.ask("lam can cuoc cho tre so sinh").candidates[0].id == "duoi-14"
