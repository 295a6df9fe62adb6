"""Sourced, dated facts: validity ranges picked on the day asked, the basis and date lines, the polite line,
`motcua kb check` on replaced documents and stale facts, and `--review` for officers."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from knowledge import Matcher, load_knowledge_base
from knowledge.models import Procedure
from knowledge.render import POLITE_LOCAL, POLITE_UNCONFIRMED, answering_on, render_procedure
from knowledge.review import check, cited_numbers, document_number, review
from tests.knowledge.conftest import CENTRE, KB_PATH

WAIVER = "Miễn lệ phí cho công dân có tài khoản định danh điện tử mức độ 2"


def procedure(**changes: object) -> Procedure:
    data: dict[str, object] = {
        "id": "cap-doi-the-can-cuoc",
        "title": "Cấp đổi thẻ căn cước",
        "department": "cong-an",
        "level": "provincial",
        "field": "Căn cước",
        "as_of": "2026-12-04",
        "summary": "Đổi thẻ căn cước.",
        "documents": [{"name": "Thẻ căn cước đang sử dụng"}],
        "documents_basis": "Luật Căn cước 26/2023/QH15, Điều 24",
        "steps": ["Nộp hồ sơ."],
        "processing_time": {
            "days": 7,
            "unit": "working_days",
            "basis": "Luật Căn cước 26/2023/QH15, Điều 26",
            "verified": "2026-12-01",
        },
        "fees": [
            {
                "name": "Lệ phí cấp đổi thẻ căn cước",
                "amount": 50000,
                "basis": "Thông tư 73/2024/TT-BTC, Điều 4",
                "verified": "2026-12-02",
            },
            {
                "name": WAIVER,
                "amount": 0,
                "basis": "Thông tư 117/2026/TT-BTC, Điều 1 khoản 4",
                "verified": "2026-12-03",
                "valid_from": "2026-08-15",
                "valid_until": "2027-02-28",
            },
        ],
        "where": {"submit": ["Công an cấp xã"]},
        "legal_basis": [{"document": "Luật Căn cước 26/2023/QH15"}],
        "review": ["Ghi chú biên tập cho cán bộ: điều kiện của Nghị quyết 66.22/2026/NQ-CP chưa đọc."],
    }
    data.update(changes)
    return Procedure.model_validate(data)


def test_the_waiver_shows_on_4_december_2026_and_is_gone_on_1_march_2027() -> None:
    entry = procedure()
    on_time = render_procedure(entry, "fee", "Công an tỉnh", today=date(2026, 12, 4))
    assert WAIVER in on_time
    assert "áp dụng đến hết ngày 28/02/2027" in on_time
    assert "50.000 đồng" in on_time
    after = render_procedure(entry, "fee", "Công an tỉnh", today=date(2027, 3, 1))
    assert WAIVER not in after and "117/2026" not in after
    assert "50.000 đồng" in after
    # the last day is included, the day before the first is not
    assert WAIVER in render_procedure(entry, "fee", "x", today=date(2027, 2, 28))
    assert WAIVER not in render_procedure(entry, "fee", "x", today=date(2026, 8, 14))


def test_the_day_asked_comes_from_the_callers_clock() -> None:
    """`answering_on` (the handler's clock) decides for every answer rendered inside, e.g. by the matcher."""
    entry = procedure()
    with answering_on(date(2026, 12, 4)):
        assert WAIVER in render_procedure(entry, "fee", "x")
        assert "- Lệ phí: từ 50.000 đồng; có trường hợp được miễn (xem mục Lệ phí)" in render_procedure(
            entry, "overview", "x"
        )
    with answering_on(date(2027, 3, 1)):
        assert WAIVER not in render_procedure(entry, "fee", "x")
        assert "- Lệ phí: 50.000 đồng" in render_procedure(entry, "overview", "x")


def test_the_answer_gives_the_basis_in_one_line_and_the_date_verified() -> None:
    text = render_procedure(procedure(), "fee", "x", today=date(2026, 12, 4))
    lines = text.splitlines()
    assert "Căn cứ: Thông tư 73/2024/TT-BTC, Điều 4; Thông tư 117/2026/TT-BTC, Điều 1 khoản 4." in lines
    # the oldest check among the facts shown
    assert lines[-1] == "Thông tin cập nhật ngày 02/12/2026."
    time_text = render_procedure(procedure(), "processing_time", "x", today=date(2026, 12, 4))
    assert "Căn cứ: Luật Căn cước 26/2023/QH15, Điều 26." in time_text
    assert time_text.endswith("Thông tin cập nhật ngày 01/12/2026.")
    documents = render_procedure(procedure(), "documents", "x", today=date(2026, 12, 4))
    assert "Căn cứ: Luật Căn cước 26/2023/QH15, Điều 24." in documents
    assert documents.endswith("Thông tin cập nhật ngày 04/12/2026.")  # documents_verified defaults to as_of


def test_editorial_notes_never_reach_the_citizen() -> None:
    entry = procedure()
    for aspect in ("overview", "fee", "documents", "processing_time", "steps", "where", "legal_basis"):
        text = render_procedure(entry, aspect, "x", today=date(2026, 12, 4))
        assert "Ghi chú biên tập" not in text and "chưa đọc" not in text
        assert POLITE_LOCAL not in text and POLITE_UNCONFIRMED not in text


def test_one_polite_line_where_a_fact_is_local_or_unconfirmed() -> None:
    local = procedure(
        fees=[{"name": "Lệ phí đăng ký", "amount": 20000, "basis": "Thông tư 75/2022/TT-BTC", "local": True}]
    )
    text = render_procedure(local, "fee", "x", today=date(2026, 12, 4))
    assert text.count(POLITE_LOCAL) == 1 and POLITE_UNCONFIRMED not in text
    unsure = procedure(processing_time={"days": 5, "basis": "Thông tư 108/2026/TT-BCA", "confirmed": False})
    text = render_procedure(unsure, "processing_time", "x", today=date(2026, 12, 4))
    assert text.count(POLITE_UNCONFIRMED) == 1
    assert POLITE_UNCONFIRMED in render_procedure(unsure, "overview", "x", today=date(2026, 12, 4))
    # both at once: still one line
    both = procedure(
        fees=[
            {"name": "A", "amount": 1000, "local": True},
            {"name": "B", "amount": 2000, "confirmed": False},
        ]
    )
    text = render_procedure(both, "fee", "x", today=date(2026, 12, 4))
    assert text.count(POLITE_LOCAL) + text.count(POLITE_UNCONFIRMED) == 1


def test_the_old_key_uncertain_is_read_as_review() -> None:
    entry = procedure(review=["mới"], uncertain=["cũ"])
    assert entry.review == ["mới", "cũ"]


def test_a_range_must_be_in_order() -> None:
    with pytest.raises(ValueError, match="valid_until"):
        procedure(fees=[{"name": "A", "amount": 1, "valid_from": "2027-01-01", "valid_until": "2026-01-01"}])


def test_document_numbers_are_read_from_citations() -> None:
    assert document_number("Nghị định số 175/2024/NĐ-CP, Điều 5") == "175/2024/NĐ-CP"
    assert document_number("Luật Căn cước số 26/2023/QH15, sửa đổi bởi Luật 118/2025/QH15") == "26/2023/QH15"
    assert cited_numbers("Thông tư 154/2025/TT-BTC; Thông tư 117/2026/TT-BTC, Điều 1") == [
        "154/2025/TT-BTC",
        "117/2026/TT-BTC",
    ]
    assert document_number("Quyết định phê duyệt") is None


# --- motcua kb check --------------------------------------------------------------------------------


def _kb_with(tmp_path: Path, extra: dict[str, object], replaced: list[dict[str, object]]) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(KB_PATH, root)
    (root / "replaced.yaml").write_text(yaml.safe_dump(replaced, allow_unicode=True), encoding="utf-8")
    path = root / "procedures" / f"{extra['id']}.yaml"
    path.write_text(yaml.safe_dump(extra, allow_unicode=True), encoding="utf-8")
    return root


def _gpxd(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "cap-gpxd-thu",
        "title": "Cấp giấy phép xây dựng (thử)",
        "department": "ubnd-xa",
        "level": "commune",
        "field": "Xây dựng",
        "as_of": "2026-12-04",
        "summary": "Thử.",
        "documents": [{"name": "Đơn đề nghị"}],
        "documents_basis": "Nghị định 217/2026/NĐ-CP, Điều 56",
        "steps": ["Nộp."],
        "processing_time": {"days": 7, "basis": "Nghị định 217/2026/NĐ-CP, Điều 54"},
        "fees": [{"name": "Lệ phí", "amount": None, "note": "Do HĐND tỉnh quy định.", "basis": "Luật Phí"}],
        "where": {"submit": ["UBND cấp xã"]},
        "legal_basis": [{"document": "Nghị định 217/2026/NĐ-CP"}],
    }
    data.update(changes)
    return data


REPLACED: list[dict[str, object]] = [
    {"replaced": "Nghị định 175/2024/NĐ-CP", "replacement": "Nghị định 217/2026/NĐ-CP", "from": "2026-07-01"}
]


def _departments(root: Path) -> str:
    return yaml.safe_load((root / "departments.yaml").read_text(encoding="utf-8"))[0]["id"]


def test_kb_check_fails_on_a_current_fact_citing_a_replaced_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _kb_with(tmp_path, _gpxd(), REPLACED)
    department = _departments(root)
    stale = _gpxd(department=department, processing_time={"days": 15, "basis": "Nghị định 175/2024/NĐ-CP, Điều 42"})
    (root / "procedures" / "cap-gpxd-thu.yaml").write_text(yaml.safe_dump(stale, allow_unicode=True), "utf-8")
    assert main(["kb", "check", "--path", str(root), "--today", "2026-12-04"]) == 1
    out = capsys.readouterr().out
    assert (
        "ERROR: procedures/cap-gpxd-thu.yaml: processing_time.basis: cites 175/2024/NĐ-CP, replaced by "
        "Nghị định 217/2026/NĐ-CP from 01/07/2026" in out
    )
    # before the replacement applied, the same fact was right
    assert main(["kb", "check", "--path", str(root), "--today", "2026-06-30"]) == 0
    capsys.readouterr()
    # a fact that ended before the replacement is history, not an error
    ended = dict(stale, processing_time={"days": 15, "basis": "Nghị định 175/2024/NĐ-CP", "valid_until": "2026-06-30"})
    (root / "procedures" / "cap-gpxd-thu.yaml").write_text(yaml.safe_dump(ended, allow_unicode=True), "utf-8")
    assert main(["kb", "check", "--path", str(root), "--today", "2026-12-04"]) == 0
    # the legal basis list counts too
    cited = _gpxd(department=department, legal_basis=[{"document": "Nghị định số 175/2024/NĐ-CP"}])
    (root / "procedures" / "cap-gpxd-thu.yaml").write_text(yaml.safe_dump(cited, allow_unicode=True), "utf-8")
    capsys.readouterr()
    assert main(["kb", "check", "--path", str(root), "--today", "2026-12-04"]) == 1
    assert "legal_basis.0.document: cites 175/2024/NĐ-CP" in capsys.readouterr().out


def test_kb_check_warns_on_facts_not_verified_for_six_months(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _kb_with(tmp_path, _gpxd(), REPLACED)
    old = _gpxd(
        department=_departments(root),
        processing_time={"days": 7, "basis": "Nghị định 217/2026/NĐ-CP, Điều 54", "verified": "2026-05-01"},
    )
    (root / "procedures" / "cap-gpxd-thu.yaml").write_text(yaml.safe_dump(old, allow_unicode=True), "utf-8")
    assert main(["kb", "check", "--path", str(root), "--today", "2026-12-04"]) == 0
    out = capsys.readouterr().out
    assert (
        "WARNING: procedures/cap-gpxd-thu.yaml: processing_time: the processing time was last verified on "
        "01/05/2026, more than 6 months ago" in out
    )
    assert "Knowledge base OK" in out
    assert main(["kb", "check", "--path", str(root), "--today", "2026-10-01"]) == 0
    assert "cap-gpxd-thu.yaml: processing_time: the processing time was last" not in capsys.readouterr().out


def test_kb_check_fails_when_no_fee_holds_on_the_day(tmp_path: Path) -> None:
    root = _kb_with(tmp_path, _gpxd(), REPLACED)
    ended = _gpxd(
        department=_departments(root),
        fees=[{"name": "Lệ phí", "amount": 100, "basis": "Luật Phí", "valid_until": "2026-01-31"}],
    )
    (root / "procedures" / "cap-gpxd-thu.yaml").write_text(yaml.safe_dump(ended, allow_unicode=True), "utf-8")
    kb = load_knowledge_base(root)
    findings = check(kb, date(2026, 12, 4))
    assert any(f.level == "error" and f.field == "fees" for f in findings)


def test_kb_check_review_lists_what_officers_must_confirm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _kb_with(tmp_path, _gpxd(), REPLACED)
    unsure = _gpxd(
        department=_departments(root),
        fees=[{"name": "Lệ phí cấp phép", "amount": 75000, "basis": "Nghị quyết HĐND", "confirmed": False}],
        review=["Mức thu theo nguồn thứ cấp; đối chiếu nghị quyết HĐND tỉnh."],
    )
    (root / "procedures" / "cap-gpxd-thu.yaml").write_text(yaml.safe_dump(unsure, allow_unicode=True), "utf-8")
    assert main(["kb", "check", "--path", str(root), "--today", "2026-12-04", "--review"]) == 0
    out = capsys.readouterr().out
    assert "To confirm (" in out
    assert "cap-gpxd-thu — Cấp giấy phép xây dựng (thử)" in out
    assert "[review.0] Mức thu theo nguồn thứ cấp; đối chiếu nghị quyết HĐND tỉnh." in out
    assert "[fees.0] Cần đối chiếu văn bản gốc: Lệ phí cấp phép (Nghị quyết HĐND)" in out
    # without --review the notes are not printed
    assert main(["kb", "check", "--path", str(root), "--today", "2026-12-04"]) == 0
    assert "To confirm" not in capsys.readouterr().out
    listed = dict((p.id, items) for p, items in review(load_knowledge_base(root)))
    assert len(listed["cap-gpxd-thu"]) == 2


def test_the_bundled_knowledge_base_passes_kb_check(capsys: pytest.CaptureFixture[str]) -> None:
    from knowledge.loader import BUNDLED_PATH

    assert main(["kb", "check", "--path", str(BUNDLED_PATH), "--today", "2026-12-04"]) == 0, capsys.readouterr().out


def test_the_matcher_answers_with_the_waiver_inside_its_range() -> None:
    """Through the matcher over the bundled knowledge base, as the FAQ handler calls it."""
    kb = load_knowledge_base()
    matcher = Matcher(kb, CENTRE)
    with answering_on(date(2026, 12, 4)):
        during = matcher.ask("lệ phí đổi căn cước").text
    with answering_on(date(2027, 3, 1)):
        after = matcher.ask("lệ phí đổi căn cước").text
    assert "117/2026/TT-BTC" in during
    assert "117/2026/TT-BTC" not in after


def test_a_general_answer_shows_its_dated_lines_only_inside_their_range() -> None:
    from knowledge.models import GeneralEntry
    from knowledge.render import render_general

    entry = GeneralEntry.model_validate(
        {
            "id": "nop-ho-so-truc-tuyen",
            "title": "Nộp hồ sơ trực tuyến",
            "answer": "Nộp tại {portal_url}.",
            "dated_lines": [
                {
                    "text": "Miễn lệ phí theo Thông tư 117/2026/TT-BTC.",
                    "valid_from": "2026-08-15",
                    "valid_until": "2027-02-28",
                }
            ],
        }
    )
    assert "117/2026" in render_general(entry, CENTRE, today=date(2026, 12, 4))
    assert "117/2026" not in render_general(entry, CENTRE, today=date(2027, 3, 1))


def test_the_basis_line_names_each_document_once() -> None:
    entry = procedure(
        fees=[
            {"name": "A", "amount": 25000, "basis": "Thông tư 64/2025/TT-BTC; Thông tư 47/2019/TT-BTC"},
            {"name": "B", "amount": 100000, "basis": "Thông tư 47/2019/TT-BTC"},
        ]
    )
    text = render_procedure(entry, "fee", "x", today=date(2026, 12, 4))
    assert "Căn cứ: Thông tư 64/2025/TT-BTC; Thông tư 47/2019/TT-BTC." in text.splitlines()
