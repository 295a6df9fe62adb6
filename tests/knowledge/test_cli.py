"""`motcua ask` and `motcua kb check|import` through the real entry point."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from tests.knowledge.conftest import BAD_KB_PATH, CENTRE, KB_PATH
from tests.knowledge.test_importer import good_row, write_csv


@pytest.fixture(autouse=True)
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("KNOWLEDGE_BASE_PATH", str(KB_PATH))
    monkeypatch.setenv("CENTRE_NAME", CENTRE.name)
    monkeypatch.setenv("CENTRE_ADDRESS", CENTRE.address)
    monkeypatch.setenv("CENTRE_HOTLINE", CENTRE.hotline)
    monkeypatch.setenv("WORKING_HOURS", CENTRE.working_hours)


def test_ask_json_prints_the_product_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", "lam ho chieu het bao nhieu tien"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"query", "outcome", "procedure", "aspect", "candidates", "text"}
    assert data["query"] == "lam ho chieu het bao nhieu tien"
    assert data["outcome"] == "answer"
    assert data["procedure"] == {
        "id": "cap-ho-chieu-pho-thong",
        "title": "Cấp hộ chiếu phổ thông trong nước",
        "department": "Công an tỉnh",
    }
    assert data["aspect"] == "fee"
    assert data["candidates"][0]["id"] == "cap-ho-chieu-pho-thong"
    assert 0.0 < data["candidates"][0]["score"] <= 1.0
    assert "200.000 đồng" in data["text"]


def test_ask_fallback_uses_the_configured_hotline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", "xổ số hôm nay về con gì"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["outcome"] == "fallback"
    assert data["procedure"] is None
    assert CENTRE.hotline in data["text"]


def test_ask_text_prints_reply_and_buttons(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "đăng ký kết hôn cần giấy tờ gì"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Đăng ký kết hôn\nHồ sơ cần chuẩn bị:\n1. Tờ khai đăng ký kết hôn")
    assert "[Lệ phí] kb:dang-ky-ket-hon:fee" in out


def test_ask_reads_questions_from_stdin_as_json_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("lý lịch tư pháp ở đâu\n\nxin chào\ntrung tâm ở đâu\n"))
    assert main(["ask"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert (first["procedure"]["id"], first["aspect"]) == ("cap-phieu-ly-lich-tu-phap", "where")
    assert second["outcome"] == "fallback"
    assert third["procedure"]["department"] == CENTRE.name
    assert CENTRE.address in third["text"]


def test_ask_with_a_broken_knowledge_base_fails_clearly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KNOWLEDGE_BASE_PATH", str(BAD_KB_PATH))
    assert main(["ask", "lệ phí"]) == 1
    assert "procedures/thieu-can-cu.yaml: legal_basis: required field is missing" in capsys.readouterr().out


def test_kb_check_prints_counts_per_department(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "check"]) == 0
    out = capsys.readouterr().out
    assert "7 procedures, 2 general entries, 3 departments" in out
    assert any(line.split() == ["Công", "an", "tỉnh", "3"] for line in out.splitlines())


def test_kb_check_reports_problems(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "check", "--path", str(BAD_KB_PATH)]) == 1
    out = capsys.readouterr().out
    assert "procedures/phong-ban-la.yaml: department: unknown department 'so-khong-co'" in out
    assert "general/cho-dat-sai.yaml: answer: unknown placeholder {hotline}" in out


def test_kb_import_writes_good_rows_and_reports_bad_ones(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    shutil.copytree(KB_PATH, kb_dir)
    source = write_csv(tmp_path / "list.csv", [good_row(), good_row(id="xau", level="huyện")])
    assert main(["kb", "import", str(source), "--out", str(kb_dir)]) == 1
    out = capsys.readouterr().out
    assert "created: cap-giay-phep-kinh-doanh-karaoke" in out
    assert "list.csv: row 3: level: 'huyện' is not one of" in out
    assert "1 procedure(s) written" in out
    assert (kb_dir / "procedures" / "cap-giay-phep-kinh-doanh-karaoke.yaml").is_file()
    assert not (kb_dir / "procedures" / "xau.yaml").exists()
    assert main(["kb", "check", "--path", str(kb_dir)]) == 0


def test_kb_import_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["kb", "import", str(tmp_path / "none.csv"), "--out", str(tmp_path)]) == 1
    assert "file not found" in capsys.readouterr().err
