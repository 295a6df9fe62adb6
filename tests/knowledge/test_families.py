"""Sibling knowledge as data: families.yaml is parsed, validated by `motcua kb check`, and restricted to the
procedures a knowledge base has; `motcua ask` sessions share a conversation as one chat would."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from knowledge import KnowledgeBaseError, load_knowledge_base
from knowledge.families import find_phrase, load_families, parse_families
from knowledge.loader import BUNDLED_PATH
from knowledge.normalize import normalize
from tests.knowledge.conftest import CENTRE, KB_PATH

GOOD: dict[str, Any] = {
    "word_sets": {"lost": ["bị mất", "thất lạc"]},
    "families": {
        "giay-phep-lai-xe": {
            "question": "Giấy phép lái xe của Ông/Bà hết hạn hay bị mất?",
            "default": "doi-giay-phep-lai-xe",
            "options": {
                "doi-giay-phep-lai-xe": {"label": "Đổi", "words": ["hết hạn"]},
                "cap-lai-giay-phep-lai-xe": {"label": "Cấp lại", "words": ["$lost"]},
                "khong-co-trong-kb": {"label": "Khác", "words": ["khác"]},
            },
        }
    },
    "ruled_out": {"doi-giay-phep-lai-xe": ["$lost"]},
}


@pytest.fixture(autouse=True)
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("KNOWLEDGE_BASE_PATH", str(KB_PATH))
    monkeypatch.setenv("CENTRE_NAME", CENTRE.name)
    monkeypatch.setenv("CENTRE_HOTLINE", CENTRE.hotline)


def _kb_with(tmp_path: Path, families: object) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(KB_PATH, root)
    (root / "families.yaml").write_text(yaml.safe_dump(families, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


def test_word_sets_expand_and_phrases_match_with_or_without_diacritics() -> None:
    families, problems = parse_families(GOOD)
    assert problems == []
    family = families.family_of("cap-lai-giay-phep-lai-xe")
    assert family is not None and family.default == "doi-giay-phep-lai-xe"
    option = family.option("cap-lai-giay-phep-lai-xe")
    assert option is not None and option.words == (("bị", "mất"), ("thất", "lạc"))
    assert find_phrase(normalize("con bi mat roi"), ("bị", "mất")) == 1
    assert find_phrase(normalize("con bị mắt"), ("bị", "mất")) == -1  # other diacritics: other word
    assert families.ruled_out_words("doi-giay-phep-lai-xe") == (("bị", "mất"), ("thất", "lạc"))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {
                "families": {
                    "x": {
                        "question": "Hỏi gì đây?",
                        "default": "khong-co",
                        "options": {"a": {"label": "A"}, "b": {"label": "B"}},
                    }
                }
            },
            "default",
        ),
        ({"families": {"x": {"question": "Hỏi gì đây?", "options": {"a": {"label": "A"}}}}}, "at least 2"),
        (
            {
                "families": {
                    "x": {
                        "question": "Hỏi gì đây?",
                        "options": {"a": {"label": "A", "words": ["$khong"]}, "b": {"label": "B"}},
                    }
                }
            },
            "unknown word set",
        ),
        ({"ruled_out": {"a": ["$khong"]}}, "unknown word set"),
        ({"famillies": {}}, "Extra inputs"),
    ],
)
def test_bad_families_are_problems(change: dict[str, Any], reason: str) -> None:
    _, problems = parse_families(change)
    assert problems and any(reason in problem.reason for problem in problems), problems


def test_a_member_of_two_families_is_a_problem() -> None:
    twice = {
        "families": {
            name: {"question": "Hỏi gì đây?", "options": {"a": {"label": "A"}, name: {"label": "B"}}}
            for name in ("x", "y")
        }
    }
    _, problems = parse_families(twice)
    assert [problem.field for problem in problems] == ["families.y.options.a"]


def test_families_keep_only_the_knowledge_bases_procedures(tmp_path: Path) -> None:
    kb = load_knowledge_base(_kb_with(tmp_path, GOOD))
    family = load_families(kb).family_of("doi-giay-phep-lai-xe")
    assert family is not None
    assert family.members == ("doi-giay-phep-lai-xe", "cap-lai-giay-phep-lai-xe")


def test_a_malformed_families_file_stops_loading(tmp_path: Path) -> None:
    kb = load_knowledge_base(_kb_with(tmp_path, {"families": {"x": {"question": "?"}}}))
    with pytest.raises(KnowledgeBaseError):
        load_families(kb)


def test_kb_check_validates_families(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["kb", "check", "--path", str(_kb_with(tmp_path, GOOD))]) == 0
    out = capsys.readouterr().out
    assert "1 families of sibling procedures" in out
    assert "families.giay-phep-lai-xe: khong-co-trong-kb is not in the knowledge base (ignored)" in out
    bad = dict(GOOD, ruled_out={"doi-giay-phep-lai-xe": ["$khong-co"]})
    assert main(["kb", "check", "--path", str(_kb_with(tmp_path / "bad", bad))]) == 1
    assert "families.yaml: ruled_out.doi-giay-phep-lai-xe: unknown word set '$khong-co'" in capsys.readouterr().out


def test_the_bundled_families_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "check", "--path", str(BUNDLED_PATH)]) == 0
    assert "families of sibling procedures" in capsys.readouterr().out


def test_ask_sessions_share_a_conversation(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [
        {"session": "a", "query": "đăng ký kết hôn cần giấy tờ gì"},
        {"session": "b", "query": "làm hộ chiếu ở đâu"},
        {"session": "a", "query": "còn lệ phí thì sao?"},
        "còn lệ phí thì sao?",  # a plain line stands alone
        {"session": "b", "query": "mất bao lâu"},
        {"session": 7, "query": "lý lịch tư pháp ở đâu"},
        {"session": 7, "query": "còn lệ phí"},
    ]
    text = "\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines)
    monkeypatch.setattr("sys.stdin", io.StringIO(text + "\n{not json\n"))
    assert main(["ask"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [set(item) for item in out] == [{"query", "outcome", "procedure", "aspect", "candidates", "text"}] * 8
    got = [(item["outcome"], (item["procedure"] or {}).get("id"), item["aspect"]) for item in out]
    assert got[:3] == [
        ("answer", "dang-ky-ket-hon", "documents"),
        ("answer", "cap-ho-chieu-pho-thong", "where"),
        ("answer", "dang-ky-ket-hon", "fee"),
    ]
    assert got[3][0] != "answer"  # no context without a session
    assert got[4] == ("answer", "cap-ho-chieu-pho-thong", "processing_time")
    assert got[5:7] == [
        ("answer", "cap-phieu-ly-lich-tu-phap", "where"),
        ("answer", "cap-phieu-ly-lich-tu-phap", "fee"),
    ]
    assert out[2]["query"] == "còn lệ phí thì sao?"
    assert out[7]["query"] == "{not json"  # a line that is no JSON object is a question like any other
