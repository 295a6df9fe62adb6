"""Dialogue tables for the matcher's mechanisms: conversation context (aspect-only, pronoun and variant
follow-ups, another procedure named, out of scope ending it), sibling knowledge as data (the ordinary case,
words that rule a sibling out, the one separating question and its typed answers), the asking sentence of a
long message, comparisons, the honest "not in the knowledge base", English messages."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge import KnowledgeBase, Matcher
from knowledge.conversation import Conversation, Pending
from knowledge.families import Families, parse_families
from knowledge.texts import MSG_NOT_IN_KB
from tests.knowledge.conftest import CENTRE

FAMILIES: dict[str, Any] = {
    "word_sets": {"foreign": ["người nước ngoài", "nước ngoài", "người hàn quốc", "người nhật"]},
    "families": {
        "ket-hon": {
            "question": "Ông/Bà đăng ký kết hôn với công dân Việt Nam hay với người nước ngoài?",
            "default": "dang-ky-ket-hon",
            "options": {
                "dang-ky-ket-hon": {"label": "Với công dân Việt Nam", "words": ["người việt", "trong nước"]},
                "ket-hon-nuoc-ngoai": {"label": "Với người nước ngoài", "words": ["$foreign"]},
            },
        },
        "giay-phep-lai-xe": {  # no ordinary case: the question is asked
            "question": "Giấy phép lái xe của Ông/Bà hết hạn cần đổi, hay bị mất cần cấp lại?",
            "options": {
                "doi-giay-phep-lai-xe": {"label": "Đổi (hết hạn, hỏng)", "words": ["hết hạn", "hư hỏng"]},
                "cap-lai-giay-phep-lai-xe": {"label": "Cấp lại vì bị mất", "words": ["bị mất", "đánh mất"]},
            },
        },
        "can-cuoc": {
            "question": "Ông/Bà làm thẻ căn cước cho người từ đủ 14 tuổi hay cho trẻ dưới 14 tuổi?",
            "default": "can-cuoc-tu-du-14-tuoi",
            "options": {
                "can-cuoc-tu-du-14-tuoi": {"label": "Từ đủ 14 tuổi", "words": ["từ đủ 14", "trên 14"]},
                "can-cuoc-duoi-14-tuoi": {"label": "Dưới 14 tuổi", "words": ["dưới 14", "chưa đủ 14"]},
            },
        },
    },
    "ruled_out": {
        "dang-ky-ket-hon": ["$foreign"],
        "doi-giay-phep-lai-xe": ["bị mất", "đánh mất", "học lái"],
        "cap-lai-giay-phep-lai-xe": ["học lái"],
    },
}


def _families() -> Families:
    families, problems = parse_families(FAMILIES)
    assert problems == []
    return families


@pytest.fixture(scope="module")
def matcher(kb: KnowledgeBase) -> Matcher:
    """The fixture knowledge base with the siblings the tables need, and their families."""
    base = kb.procedure("dang-ky-ket-hon")
    assert base is not None
    extra = [
        base.model_copy(
            update={"id": "ket-hon-nuoc-ngoai", "title": "Đăng ký kết hôn có yếu tố nước ngoài", "aliases": []}
        ),
        base.model_copy(
            update={
                "id": "can-cuoc-tu-du-14-tuoi",
                "title": "Cấp thẻ căn cước lần đầu cho công dân từ đủ 14 tuổi trở lên",
                "aliases": ["làm căn cước", "làm thẻ căn cước"],
                "faq": [],
                "field": "Căn cước",
                "summary": "Cấp thẻ căn cước lần đầu.",
            }
        ),
        base.model_copy(
            update={
                "id": "can-cuoc-duoi-14-tuoi",
                "title": "Cấp thẻ căn cước cho công dân dưới 14 tuổi",
                "aliases": [],
                "faq": [],
                "field": "Căn cước",
                "summary": "Cấp thẻ căn cước cho trẻ em theo nhu cầu.",
            }
        ),
    ]
    larger = KnowledgeBase(departments=kb.departments, procedures=[*kb.procedures, *extra], general=kb.general)
    return Matcher(larger, CENTRE, _families())


Turn = tuple[str, str, str | None, str | None]  # message, outcome, procedure id, aspect

DIALOGUES: list[tuple[str, list[Turn]]] = [
    (
        "aspect-only follow-ups stay with the procedure",
        [
            ("đăng ký kết hôn cần giấy tờ gì", "answer", "dang-ky-ket-hon", "documents"),
            ("còn lệ phí thì sao?", "answer", "dang-ky-ket-hon", "fee"),
            ("vậy nộp ở đâu", "answer", "dang-ky-ket-hon", "where"),
        ],
    ),
    (
        "a pronoun refers to the procedure",
        [
            ("làm hộ chiếu mất bao lâu", "answer", "cap-ho-chieu-pho-thong", "processing_time"),
            ("thủ tục đó làm ở đâu", "answer", "cap-ho-chieu-pho-thong", "where"),
        ],
    ),
    (
        "a variant moves to the sibling its feature selects, overview first",
        [
            ("đăng ký kết hôn cần giấy tờ gì", "answer", "dang-ky-ket-hon", "documents"),
            ("nếu chồng tôi là người Hàn Quốc thì sao", "answer", "ket-hon-nuoc-ngoai", "overview"),
            ("mất bao lâu", "answer", "ket-hon-nuoc-ngoai", "processing_time"),
        ],
    ),
    (
        "a variant by age",
        [
            ("làm thẻ căn cước cần gì", "answer", "can-cuoc-tu-du-14-tuoi", "documents"),
            ("thế còn cho con tôi 10 tuổi?", "answer", "can-cuoc-duoi-14-tuoi", "overview"),
        ],
    ),
    (
        "another procedure named wins",
        [
            ("đổi bằng lái xe hết hạn mất bao lâu", "answer", "doi-giay-phep-lai-xe", "processing_time"),
            ("còn đăng ký khai sinh thì nộp ở đâu", "answer", "dang-ky-khai-sinh", "where"),
        ],
    ),
    (
        "a message out of scope ends the conversation",
        [
            ("lệ phí làm hộ chiếu", "answer", "cap-ho-chieu-pho-thong", "fee"),
            ("kết quả xổ số miền bắc hôm nay", "fallback", None, None),
            ("mất bao lâu", "fallback", None, "processing_time"),  # which procedure? it asks
        ],
    ),
    (
        "a message that rules the procedure out does not continue it",
        [
            ("đổi bằng lái xe hết hạn mất bao lâu", "answer", "doi-giay-phep-lai-xe", "processing_time"),
            ("còn học lái xe ô tô thì đăng ký ở đâu", "fallback", None, None),
        ],
    ),
    (
        "one question separates the siblings; a typed answer picks one",
        [
            ("bằng lái xe cần giấy tờ gì", "clarify", None, "documents"),
            ("bị mất", "answer", "cap-lai-giay-phep-lai-xe", "documents"),
            ("còn lệ phí thì sao", "answer", "cap-lai-giay-phep-lai-xe", "fee"),
        ],
    ),
    (
        "the typed answer may be the words of a button",
        [
            ("bằng lái xe làm ở đâu", "clarify", None, "where"),
            ("đổi", "answer", "doi-giay-phep-lai-xe", "where"),
        ],
    ),
    (
        "an aspect while the question is open asks it again",
        [
            ("bằng lái xe cần giấy tờ gì", "clarify", None, "documents"),
            ("lệ phí bao nhiêu", "clarify", None, "fee"),
            ("hết hạn", "answer", "doi-giay-phep-lai-xe", "fee"),
        ],
    ),
    (
        "a request for English keeps the conversation; an English question continues it",
        [
            ("lệ phí làm hộ chiếu", "answer", "cap-ho-chieu-pho-thong", "fee"),
            ("English please", "answer", "cap-ho-chieu-pho-thong", "fee"),
            ("how long does it take?", "answer", "cap-ho-chieu-pho-thong", "processing_time"),
        ],
    ),
]


@pytest.mark.parametrize(("name", "turns"), DIALOGUES, ids=[name for name, _ in DIALOGUES])
def test_dialogue(matcher: Matcher, name: str, turns: list[Turn]) -> None:
    context: Conversation | None = None
    for message, outcome, procedure_id, aspect in turns:
        answer = matcher.ask(message, context)
        got = (answer.outcome, answer.entry.id if answer.entry else None, answer.aspect)
        assert got == (outcome, procedure_id, aspect), f"{name}: {message!r} -> {answer.to_json()}"
        context = answer.context


@pytest.mark.parametrize(
    ("question", "procedure_id"),
    [
        # nothing mentions the feature of the unusual sibling: the ordinary one, not a list of both
        ("làm thẻ căn cước cần gì", "can-cuoc-tu-du-14-tuoi"),
        ("cho con dưới 14 tuổi làm thẻ căn cước cần gì", "can-cuoc-duoi-14-tuoi"),
        # a word that rules the ordinary sibling out decides, wherever it is in the message
        ("người yêu tôi là người Nhật. Đăng ký kết hôn cần giấy tờ gì?", "ket-hon-nuoc-ngoai"),
        ("cần giấy tờ gì để đăng ký kết hôn với người nước ngoài", "ket-hon-nuoc-ngoai"),
        # the sibling's own feature against the one the title contradicts
        ("bằng lái xe bị mất thì làm sao", "cap-lai-giay-phep-lai-xe"),
        ("giấy phép lái xe hết hạn cần gì", "doi-giay-phep-lai-xe"),
    ],
)
def test_sibling_knowledge_decides(matcher: Matcher, question: str, procedure_id: str) -> None:
    answer = matcher.ask(question)
    assert (answer.outcome, answer.entry.id if answer.entry else None) == ("answer", procedure_id), answer.to_json()


def test_a_ruled_out_entry_is_never_the_answer(matcher: Matcher) -> None:
    """Learning to drive is neither exchanging nor replacing a licence: the knowledge base does not have it."""
    for question in ("học lái xe ô tô để lấy giấy phép lái xe thì đăng ký ở đâu", "đổi giấy phép lái xe học lái"):
        answer = matcher.ask(question)
        assert answer.outcome == "fallback", answer.to_json()


def test_the_separating_question_has_its_options_as_buttons(matcher: Matcher) -> None:
    answer = matcher.ask("bằng lái xe cần giấy tờ gì")
    assert answer.outcome == "clarify"
    assert answer.text == "Giấy phép lái xe của Ông/Bà hết hạn cần đổi, hay bị mất cần cấp lại?"
    assert answer.buttons[:2] == [
        ("Đổi (hết hạn, hỏng)", "kb:doi-giay-phep-lai-xe:documents"),
        ("Cấp lại vì bị mất", "kb:cap-lai-giay-phep-lai-xe:documents"),
    ]
    assert answer.buttons[-1] == ("Gặp cán bộ", "menu:human")
    assert {c.id for c in answer.candidates} == {"doi-giay-phep-lai-xe", "cap-lai-giay-phep-lai-xe"}
    assert answer.context == Conversation(
        pending=Pending(("doi-giay-phep-lai-xe", "cap-lai-giay-phep-lai-xe"), "documents", "giay-phep-lai-xe")
    ) or answer.context == Conversation(
        pending=Pending(("cap-lai-giay-phep-lai-xe", "doi-giay-phep-lai-xe"), "documents", "giay-phep-lai-xe")
    )


@pytest.mark.parametrize(
    ("question", "procedure_id", "aspect"),
    [
        # the story names another procedure and another aspect; the sentence that asks decides
        (
            "Vợ chồng tôi mới sinh con, tuần trước đã làm giấy khai sinh cho cháu ở phường, giấy tờ đã đủ. "
            "Nay cả nhà định đi du lịch nước ngoài. Xin hỏi làm hộ chiếu mất bao lâu?",
            "cap-ho-chieu-pho-thong",
            "processing_time",
        ),
        (
            "Tôi đã chuẩn bị đủ hồ sơ, giấy tờ từ tuần trước. Cho tôi hỏi lệ phí lý lịch tư pháp là bao nhiêu?",
            "cap-phieu-ly-lich-tu-phap",
            "fee",
        ),
    ],
)
def test_the_asking_sentence_counts_most(matcher: Matcher, question: str, procedure_id: str, aspect: str) -> None:
    answer = matcher.ask(question)
    assert (answer.outcome, answer.entry.id if answer.entry else None, answer.aspect) == (
        "answer",
        procedure_id,
        aspect,
    ), answer.to_json()


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("con tôi 15 tuổi có được làm hộ chiếu riêng không?", "conditions"),
        ("Tôi có được nộp hồ sơ hộ chiếu trực tuyến không?", "steps"),
        ("Tôi có được cấp hộ chiếu không? Nếu được thì lệ phí bao nhiêu?", "conditions"),
    ],
)
def test_a_yes_no_question_asks_first(matcher: Matcher, question: str, aspect: str) -> None:
    assert matcher.ask(question).aspect == aspect


def test_a_comparison_answers_both_side_by_side(matcher: Matcher) -> None:
    answer = matcher.ask("đổi giấy phép lái xe và cấp lại giấy phép lái xe khác nhau chỗ nào")
    assert answer.outcome == "answer"
    assert {c.id for c in answer.candidates} == {"doi-giay-phep-lai-xe", "cap-lai-giay-phep-lai-xe"}
    assert "Đổi giấy phép lái xe" in answer.text and "Cấp lại giấy phép lái xe" in answer.text
    assert {payload for _, payload in answer.buttons} == {
        "kb:doi-giay-phep-lai-xe:overview",
        "kb:cap-lai-giay-phep-lai-xe:overview",
    }


def test_a_comparison_reads_the_aspect_asked(matcher: Matcher) -> None:
    answer = matcher.ask("lệ phí đổi giấy phép lái xe hay cấp lại giấy phép lái xe cao hơn")
    assert answer.aspect == "fee"
    assert len(answer.candidates) == 2


def test_a_procedure_we_do_not_have_is_said_plainly(matcher: Matcher) -> None:
    answer = matcher.ask("thủ tục cấp giấy phép khai thác khoáng sản cần giấy tờ gì")
    assert answer.outcome == "fallback"
    assert answer.entry is None
    assert answer.text.startswith(MSG_NOT_IN_KB.split("\n")[0])
    payloads = [payload for _, payload in answer.buttons]
    assert payloads[-2:] == ["menu:hotline", "menu:human"]
    assert all(payload.startswith("kb:") for payload in payloads[:-2]) and payloads[:-2]


def test_a_stored_conversation_reads_back_and_junk_is_ignored() -> None:
    conversation = Conversation("dang-ky-ket-hon", "fee", Pending(("a", "b"), "where", "ket-hon"))
    assert Conversation.from_json(conversation.to_json()) == conversation
    for junk in (None, "x", [], {"procedure": 3}, {"pending": {"ids": "a"}}, {"aspect": "nonsense"}):
        assert Conversation.from_json(junk) is None


def test_a_name_that_repeats_a_word_needs_it_twice(kb: KnowledgeBase) -> None:
    """ "quyền nuôi con" is not "nuôi con nuôi": a word a name has twice is covered once by a question that
    has it once (and "lái" and "lại" are two words, however a question folds them)."""
    base = kb.procedures[0]
    adoption = base.model_copy(
        update={"id": "nuoi-con-nuoi", "title": "Đăng ký việc nuôi con nuôi", "aliases": ["nuôi con nuôi"], "faq": []}
    )
    matcher = Matcher(KnowledgeBase(departments=kb.departments, procedures=[adoption], general=[]), CENTRE)
    custody = matcher.ask("ly hôn thì ai được quyền nuôi con")
    adopt = matcher.ask("thủ tục nhận nuôi con nuôi")
    assert custody.outcome != "answer"
    assert (adopt.outcome, adopt.entry.id if adopt.entry else None) == ("answer", "nuoi-con-nuoi")


def test_a_feature_that_rules_the_procedure_out_does_not_pick_a_sibling_it_does_not_select(kb: KnowledgeBase) -> None:
    """Ruling out the current sibling without selecting another leaves only the family's ordinary case to take
    over; a sibling that is merely not ruled out is no answer (found as a new user: "nhập quốc tịch cho người
    nước ngoài" after "đăng ký tạm trú" was answered "xóa đăng ký tạm trú")."""
    base = kb.procedure("doi-giay-phep-lai-xe")
    assert base is not None
    moved = base.model_copy(update={"id": "doi-gplx-quan-su", "title": "Đổi giấy phép lái xe quân sự"})
    larger = KnowledgeBase(departments=kb.departments, procedures=[*kb.procedures, moved], general=kb.general)
    families, problems = parse_families(
        {
            "word_sets": {"foreign": ["người nước ngoài", "nước ngoài"]},
            "families": {
                "gplx": {
                    "question": "Giấy phép lái xe hết hạn, bị mất, hay do quân đội cấp?",
                    "default": "doi-giay-phep-lai-xe",
                    "options": {
                        "doi-giay-phep-lai-xe": {"label": "Hết hạn", "words": ["hết hạn"]},
                        "cap-lai-giay-phep-lai-xe": {"label": "Bị mất", "words": ["bị mất"]},
                        "doi-gplx-quan-su": {"label": "Quân đội cấp", "words": ["quân sự"]},
                    },
                }
            },
            "ruled_out": {"doi-giay-phep-lai-xe": ["$foreign"], "doi-gplx-quan-su": ["$foreign"]},
        }
    )
    assert problems == []
    matcher = Matcher(larger, CENTRE, families)
    first = matcher.ask("đổi bằng lái xe hết hạn mất bao lâu")
    assert first.entry is not None and first.entry.id == "doi-giay-phep-lai-xe"
    # "người nước ngoài" rules the current sibling out and selects none: neither the "lost" sibling (not ruled
    # out, not selected) nor any other guess
    answer = matcher.ask("thủ tục nhập quốc tịch cho người nước ngoài", first.context)
    assert answer.entry is None or answer.entry.id not in {"cap-lai-giay-phep-lai-xe", "doi-giay-phep-lai-xe"}
