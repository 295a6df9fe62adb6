"""Loading and validating knowledge-base files: every problem reported as (file, field, reason)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge import KnowledgeBaseError, load_knowledge_base
from knowledge.loader import Problem
from tests.knowledge.conftest import BAD_KB_PATH, KB_PATH


def test_fixture_knowledge_base_loads(tmp_path: Path) -> None:
    kb = load_knowledge_base(KB_PATH)
    assert len(kb.procedures) == 7
    assert {d.id for d in kb.departments} == {"cong-an", "so-tu-phap", "ubnd-xa"}
    procedure = kb.procedure("cap-phieu-ly-lich-tu-phap")
    assert procedure is not None
    assert procedure.code == "1.001234"
    assert procedure.processing_time.days == 10
    assert procedure.fees[0].amount == 200000
    assert procedure.as_of.isoformat() == "2025-07-01"
    assert kb.department("so-tu-phap") is not None
    assert kb.department_name("so-tu-phap") == "Sở Tư pháp"
    assert kb.procedure("khong-co") is None
    assert kb.general_entry("gio-lam-viec") is not None


def test_bundled_knowledge_base_is_valid() -> None:
    kb = load_knowledge_base()
    assert kb.procedures
    assert {entry.id for entry in kb.general} >= {
        "dia-chi-trung-tam",
        "gio-lam-viec",
        "duong-day-nong",
        "nop-ho-so-truc-tuyen",
        "thanh-toan-phi-le-phi",
        "buu-chinh-cong-ich",
        "tra-cuu-ho-so",
        "phan-anh-kien-nghi",
    }
    department_ids = {d.id for d in kb.departments}
    assert all(p.department in department_ids for p in kb.procedures)


def test_every_problem_in_the_bad_fixture_is_reported() -> None:
    with pytest.raises(KnowledgeBaseError) as raised:
        load_knowledge_base(BAD_KB_PATH)
    problems = raised.value.problems
    assert all(isinstance(p, tuple) and len(p) == 3 for p in problems)
    by_file = {(p.file, p.field): p.reason for p in problems}
    assert "must equal the file name 'ten-file-khac'" in by_file[("procedures/ten-file-khac.yaml", "id")]
    assert "unknown department 'so-khong-co'" in by_file[("procedures/phong-ban-la.yaml", "department")]
    assert by_file[("procedures/thieu-can-cu.yaml", "legal_basis")] == "required field is missing"
    assert "never invent" in by_file[("procedures/phi-khong-ro.yaml", "fees.0.amount")]
    assert "unknown field" in by_file[("procedures/sai-ten-truong.yaml", "titel")]
    assert by_file[("procedures/sai-ten-truong.yaml", "title")] == "required field is missing"
    assert "quotes" in by_file[("procedures/ma-khong-ngoac.yaml", "code")]
    assert "'provincial' or 'commune'" in by_file[("procedures/cap-sai.yaml", "level")]
    assert by_file[("procedures/yaml-hong.yaml", "")].startswith("not valid YAML")
    assert "unknown placeholder {hotline}" in by_file[("general/cho-dat-sai.yaml", "answer")]
    # the good file in the same directory is not blamed, and a broken file is reported once
    assert not any(p.file == "procedures/dang-ky-khai-sinh.yaml" for p in problems)
    assert sum(p.file == "procedures/yaml-hong.yaml" for p in problems) == 1
    assert "problem(s) in the knowledge base" in str(raised.value)


def _copy_kb(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(KB_PATH, target)
    return target


def test_duplicate_code_and_shared_id_are_refused(tmp_path: Path) -> None:
    root = _copy_kb(tmp_path)
    text = (root / "procedures" / "cap-phieu-ly-lich-tu-phap.yaml").read_text(encoding="utf-8")
    (root / "procedures" / "ban-sao.yaml").write_text(
        text.replace("id: cap-phieu-ly-lich-tu-phap", "id: ban-sao"), encoding="utf-8"
    )
    (root / "general" / "dang-ky-ket-hon.yaml").write_text(
        "id: dang-ky-ket-hon\ntitle: Trùng\nanswer: x\n", encoding="utf-8"
    )
    with pytest.raises(KnowledgeBaseError) as raised:
        load_knowledge_base(root)
    fields = {(p.file, p.field) for p in raised.value.problems}
    assert ("procedures/cap-phieu-ly-lich-tu-phap.yaml", "code") in fields or (
        "procedures/ban-sao.yaml",
        "code",
    ) in fields
    assert ("general/dang-ky-ket-hon.yaml", "id") in fields


def test_missing_directory_and_departments(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError) as raised:
        load_knowledge_base(tmp_path / "nowhere")
    assert raised.value.problems[0].reason == "knowledge base directory not found"
    root = _copy_kb(tmp_path)
    (root / "departments.yaml").unlink()
    with pytest.raises(KnowledgeBaseError) as raised:
        load_knowledge_base(root)
    assert Problem("departments.yaml", "", "file not found") in raised.value.problems


def test_bad_department_entry_is_located(tmp_path: Path) -> None:
    root = _copy_kb(tmp_path)
    with (root / "departments.yaml").open("a", encoding="utf-8") as handle:
        handle.write("- id: So Moi\n  name: Sở Mới\n  short_name: Mới\n  level: provincial\n")
    with pytest.raises(KnowledgeBaseError) as raised:
        load_knowledge_base(root)
    problem = raised.value.problems[0]
    assert (problem.file, problem.field) == ("departments.yaml", "3.id")
    assert "slug" in problem.reason


def test_processing_time_without_days_needs_the_rule(tmp_path: Path) -> None:
    root = _copy_kb(tmp_path)
    path = root / "procedures" / "cap-ho-chieu-pho-thong.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  days: 8\n", "  days: null\n"), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as raised:
        load_knowledge_base(root)
    assert raised.value.problems == [
        Problem("procedures/cap-ho-chieu-pho-thong.yaml", "processing_time.days", "is null, so give the rule in text")
    ]


def test_text_is_normalised_to_nfc(tmp_path: Path) -> None:
    import unicodedata

    root = _copy_kb(tmp_path)
    path = root / "procedures" / "dang-ky-ket-hon.yaml"
    path.write_text(unicodedata.normalize("NFD", path.read_text(encoding="utf-8")), encoding="utf-8")
    procedure = load_knowledge_base(root).procedure("dang-ky-ket-hon")
    assert procedure is not None
    assert procedure.title == "Đăng ký kết hôn"
    assert unicodedata.is_normalized("NFC", procedure.summary)
