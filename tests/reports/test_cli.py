"""`motcua report` through the real entry point, on the report data set."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.cli import main
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade
from tests.reports.data import DEPT_A, DEPT_B, SEPT_A, SEPT_B, SEPT_TOTAL, load_rows

SEPT = ["--from", "2025-09-01", "--to", "2025-09-30"]


async def _load(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with create_sessionmaker(engine).begin() as session:
            await load_rows(session)
    finally:
        await engine.dispose()


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    asyncio.run(_load(database_url))
    return tmp_path


def test_json(env: Path) -> None:
    out = env / "r.json"
    assert main(["report", *SEPT, "--format", "json", "--output", str(out)]) == 0
    doc = json.loads(out.read_text("utf-8"))
    assert {k: doc[k] for k in SEPT_TOTAL} == SEPT_TOTAL
    assert [(d["id"], d["on_time_rate"]) for d in doc["departments"]] == [
        (DEPT_A, SEPT_A["on_time_rate"]),
        (DEPT_B, SEPT_B["on_time_rate"]),
    ]


def test_text_to_stdout(env: Path, capsys: Any) -> None:
    assert main(["report", *SEPT, "--department", DEPT_B, "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("KẾT QUẢ TIẾP NHẬN VÀ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH\nSở Tư pháp")
    assert "Tổng số lượng hồ sơ tiếp nhận: 4 hồ sơ" in out
    assert "đạt tỷ lệ 50%." in out


def test_table(env: Path, capsys: Any) -> None:
    assert main(["report", *SEPT]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Báo cáo từ ngày 01/09/2025 đến ngày 30/09/2025"
    assert lines[2].split()[:2] == ["Cơ", "quan"]
    assert lines[4].split()[:3] == ["Sở", "Tài", "chính"]
    assert lines[4].split()[3:6] == ["13", "3", "10"]
    assert "57,14%" in lines[4]
    total = lines[6].split()
    assert total[:4] == ["Tổng", "cộng", "17", "4"] and total[-1] == "75%"


def test_csv_and_xlsx_files(env: Path) -> None:
    assert main(["report", *SEPT, "--format", "csv", "-o", str(env / "r.csv")]) == 0
    rows = list(csv.DictReader(io.StringIO((env / "r.csv").read_text("utf-8-sig"))))
    assert rows[-1]["department_id"] == "total" and rows[-1]["received_total"] == "17"
    assert main(["report", *SEPT, "--format", "xlsx", "-o", str(env / "out" / "r.xlsx")]) == 0
    book = load_workbook(env / "out" / "r.xlsx")
    assert book.sheetnames == ["Tổng hợp", "Thủ tục nhiều hồ sơ", "Theo tháng"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-09-30", "--to", "2025-09-01"], "is after to"),
        (["--from", "2010-01-01", "--to", "2025-09-01"], "longer than"),
        ([*SEPT, "--department", "khong-co"], "Unknown department"),
    ],
)
def test_bad_input_exits_2(env: Path, capsys: Any, args: list[str], message: str) -> None:
    assert main(["report", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_bad_date_is_an_argument_error(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--from", "01/09/2025", "--to", "2025-09-30"])
    assert exit_info.value.code == 2
    assert "is not a date" in capsys.readouterr().err
