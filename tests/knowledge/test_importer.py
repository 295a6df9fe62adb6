"""`kb import`: CSV/XLSX rows → procedure files; bad rows reported by row number, good rows still written."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from knowledge import load_knowledge_base
from knowledge.importer import NO_FEE_INFO, import_procedures
from tests.knowledge.conftest import KB_PATH

HEADER = [
    "id",
    "code",
    "title",
    "aliases",
    "department",
    "level",
    "field",
    "online",
    "as_of",
    "summary",
    "documents",
    "steps",
    "processing_days",
    "processing_text",
    "conditions",
    "fees",
    "submit",
    "receive",
    "postal",
    "forms",
    "legal_basis",
]


def good_row(**changes: str) -> dict[str, str]:
    row = {
        "id": "cap-giay-phep-kinh-doanh-karaoke",
        "code": "1.001029",
        "title": "Cấp giấy phép đủ điều kiện kinh doanh dịch vụ karaoke",
        "aliases": "giấy phép karaoke; mở quán karaoke",
        "department": "ubnd-xa",
        "level": "xã",
        "field": "Văn hóa",
        "online": "một phần",
        "as_of": "15/07/2025",
        "summary": "Cơ sở kinh doanh karaoke phải có giấy phép trước khi hoạt động.",
        "documents": (
            "Đơn đề nghị cấp giấy phép | 1 | bản chính\n"
            "Bản sao giấy chứng nhận đăng ký kinh doanh | 1 | bản sao | nếu có"
        ),
        "steps": "Nộp hồ sơ tại UBND xã.\nNhận giấy phép.",
        "processing_days": "5",
        "processing_text": "05 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ",
        "conditions": "Phòng hát có diện tích từ 20 m2 trở lên.",
        "fees": "Phí thẩm định | 2.000.000 đồng | Cơ sở kinh doanh | tại khu vực đô thị",
        "submit": "Ủy ban nhân dân cấp xã",
        "receive": "Tại nơi nộp hồ sơ",
        "postal": "có",
        "forms": "Đơn đề nghị cấp giấy phép | Mẫu số 01",
        "legal_basis": "Nghị định số 54/2019/NĐ-CP | Điều 10, 11",
    }
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(KB_PATH, target)
    return target


def test_good_and_bad_rows(tmp_path: Path, kb_dir: Path) -> None:
    source = write_csv(
        tmp_path / "list.csv",
        [
            good_row(),  # row 2
            good_row(id="", title=""),  # row 3: no title
            good_row(id="phi-sai", fees="Phí | hai triệu | x"),  # row 4
            good_row(id="so-la", department="Sở Không Có"),  # row 5
            good_row(id="cap-giay-phep-kinh-doanh-karaoke"),  # row 6: duplicate id
            good_row(id="cap-sai", level="huyện"),  # row 7
            good_row(id="", code="", title="Đăng ký nuôi con nuôi trong nước", department="Ủy ban nhân dân cấp xã"),
        ],
    )
    result = import_procedures(source, kb_dir, today=date(2025, 8, 1))
    problems = {(p.row, p.column): p.reason for p in result.problems}
    assert problems[(3, "title")] == "required column is empty"
    assert "not a whole number of đồng" in problems[(4, "fees")]
    assert "unknown department 'Sở Không Có'" in problems[(5, "department")]
    assert "already used by row 2" in problems[(6, "id")]
    assert "'huyện' is not one of" in problems[(7, "level")]
    assert [(pid, status) for pid, _, status in result.written] == [
        ("cap-giay-phep-kinh-doanh-karaoke", "created"),
        ("dang-ky-nuoi-con-nuoi-trong-nuoc", "created"),
    ]
    # the written files are a valid knowledge base together with the existing ones
    kb = load_knowledge_base(kb_dir)
    procedure = kb.procedure("cap-giay-phep-kinh-doanh-karaoke")
    assert procedure is not None
    assert procedure.code == "1.001029"
    assert procedure.level == "commune"
    assert procedure.online == "partial"
    assert procedure.as_of == date(2025, 7, 15)
    assert procedure.aliases == ["giấy phép karaoke", "mở quán karaoke"]
    assert procedure.documents[1].kind == "copy"
    assert procedure.documents[1].note == "nếu có"
    assert procedure.fees[0].amount == 2_000_000
    assert procedure.fees[0].payer == "Cơ sở kinh doanh"
    assert procedure.where.postal is True
    assert procedure.forms[0].code == "Mẫu số 01"
    assert procedure.legal_basis[0].articles == "Điều 10, 11"
    assert not list((kb_dir / "procedures").glob(".*.tmp"))


def test_empty_fee_cell_is_not_called_free(tmp_path: Path, kb_dir: Path) -> None:
    source = write_csv(tmp_path / "list.csv", [good_row(fees="")])
    import_procedures(source, kb_dir, today=date(2025, 8, 1))
    data = yaml.safe_load((kb_dir / "procedures" / "cap-giay-phep-kinh-doanh-karaoke.yaml").read_text("utf-8"))
    assert data["fees"] == []
    assert data["fees_note"] == NO_FEE_INFO


def test_fee_without_amount_needs_a_note(tmp_path: Path, kb_dir: Path) -> None:
    source = write_csv(
        tmp_path / "list.csv",
        [good_row(fees="Lệ phí | | | Mức thu do HĐND tỉnh quy định"), good_row(id="khong-ghi-chu", fees="Lệ phí")],
    )
    result = import_procedures(source, kb_dir, today=date(2025, 8, 1))
    assert [p.row for p in result.problems] == [3]
    assert result.problems[0].column == "fees"
    assert "never invent" in result.problems[0].reason
    procedure = load_knowledge_base(kb_dir).procedure("cap-giay-phep-kinh-doanh-karaoke")
    assert procedure is not None
    assert procedure.fees[0].amount is None


def test_reimport_updates_the_file(tmp_path: Path, kb_dir: Path) -> None:
    source = write_csv(tmp_path / "list.csv", [good_row()])
    import_procedures(source, kb_dir, today=date(2025, 8, 1))
    write_csv(source, [good_row(processing_days="3")])
    result = import_procedures(source, kb_dir, today=date(2025, 8, 1))
    assert result.written[0][2] == "updated"
    procedure = load_knowledge_base(kb_dir).procedure("cap-giay-phep-kinh-doanh-karaoke")
    assert procedure is not None
    assert procedure.processing_time.days == 3


def test_vietnamese_headers_are_accepted(tmp_path: Path, kb_dir: Path) -> None:
    vietnamese = {
        "title": "Tên thủ tục",
        "department": "Cơ quan thực hiện",
        "level": "Cấp thực hiện",
        "field": "Lĩnh vực",
        "documents": "Thành phần hồ sơ",
        "steps": "Trình tự thực hiện",
        "processing_text": "Thời hạn giải quyết",
        "fees": "Phí, lệ phí",
        "submit": "Nơi tiếp nhận",
        "legal_basis": "Căn cứ pháp lý",
    }
    row = good_row()
    path = tmp_path / "vn.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(vietnamese.values())
        writer.writerow(row[column] for column in vietnamese)
    result = import_procedures(path, kb_dir, today=date(2025, 8, 1))
    assert result.problems == []
    procedure = load_knowledge_base(kb_dir).procedure("cap-giay-phep-du-dieu-kien-kinh-doanh-dich-vu-karaoke")
    assert procedure is not None
    assert procedure.processing_time.days == 5  # read from the text
    assert procedure.as_of == date(2025, 8, 1)  # import date when the file has none


def test_xlsx(tmp_path: Path, kb_dir: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append([good_row()[column] for column in HEADER])
    sheet.append([good_row(id="thieu-buoc", steps="")[column] for column in HEADER])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    result = import_procedures(path, kb_dir, today=date(2025, 8, 1))
    assert [(p.row, p.column) for p in result.problems] == [(3, "steps")]
    assert [pid for pid, _, _ in result.written] == ["cap-giay-phep-kinh-doanh-karaoke"]


def test_unknown_or_missing_columns_refuse_the_file(tmp_path: Path, kb_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown column"):
        import_procedures(write_csv(tmp_path / "a.csv", [], header=[*HEADER, "ghi chú riêng"]), kb_dir)
    with pytest.raises(ValueError, match="missing required column"):
        import_procedures(write_csv(tmp_path / "b.csv", [], header=[h for h in HEADER if h != "title"]), kb_dir)
    with pytest.raises(ValueError, match="unsupported file type"):
        import_procedures(tmp_path / "list.pdf", kb_dir)
    assert sorted(p.name for p in (kb_dir / "procedures").iterdir()) == sorted(
        p.name for p in (KB_PATH / "procedures").iterdir()
    )


def test_every_import_column_is_documented() -> None:
    from knowledge.importer import COLUMNS
    from knowledge.loader import BUNDLED_PATH

    text = (BUNDLED_PATH.parent / "FORMAT.md").read_text(encoding="utf-8")
    section = text.split("## Import columns", 1)[1]
    for column in COLUMNS:
        assert f"| `{column}` |" in section, column


def test_officers_notes_are_imported_as_review(tmp_path: Path, kb_dir: Path) -> None:
    header = [*HEADER, "Ghi chú rà soát", "Chưa kiểm chứng"]
    row = good_row(**{"Ghi chú rà soát": "Đối chiếu nghị quyết HĐND", "Chưa kiểm chứng": "Mức phí cũ"})
    source = write_csv(tmp_path / "list.csv", [row], header=header)
    result = import_procedures(source, kb_dir, today=date(2025, 8, 1))
    assert not result.problems
    data = yaml.safe_load((kb_dir / "procedures" / "cap-giay-phep-kinh-doanh-karaoke.yaml").read_text("utf-8"))
    assert data["review"] == ["Đối chiếu nghị quyết HĐND", "Mức phí cũ"]
    assert "uncertain" not in data
