"""Import a centre's list of procedures from CSV/XLSX (one row per procedure) into procedure YAML files.

The columns are documented in `knowledge/FORMAT.md` ("Import columns"). Every row is validated against the
same model as the loader; bad rows are reported with their row number and reason and not written, good rows
are written (each file atomically), so an import never leaves a half-written file.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pydantic import ValidationError

from knowledge.loader import BUNDLED_PATH, KnowledgeBaseError, Problem, _load_departments, _validation_problems
from knowledge.models import Department, Procedure
from knowledge.normalize import fold, slugify

# Canonical column → other headers accepted (compared without diacritics, case and punctuation).
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": (),
    "code": ("mã thủ tục", "mã tthc", "mã"),
    "title": ("tên thủ tục", "tên thủ tục hành chính", "tên"),
    "aliases": ("tên gọi khác", "tên thường gọi"),
    "department": ("cơ quan thực hiện", "cơ quan giải quyết"),
    "level": ("cấp thực hiện", "cấp"),
    "field": ("lĩnh vực",),
    "online": ("dịch vụ công trực tuyến", "mức độ trực tuyến"),
    "as_of": ("ngày cập nhật",),
    "summary": ("mô tả", "tóm tắt"),
    "documents": ("thành phần hồ sơ",),
    "steps": ("trình tự thực hiện", "các bước"),
    "processing_days": ("số ngày giải quyết", "thời hạn (ngày)"),
    "processing_unit": ("đơn vị thời hạn",),
    "processing_text": ("thời hạn giải quyết",),
    "conditions": ("yêu cầu, điều kiện", "điều kiện", "yêu cầu điều kiện"),
    "fees": ("phí, lệ phí", "phí lệ phí", "lệ phí"),
    "fees_note": ("ghi chú phí",),
    "submit": ("nơi tiếp nhận", "địa chỉ tiếp nhận", "nơi nộp hồ sơ"),
    "receive": ("nơi trả kết quả",),
    "online_where": ("nộp trực tuyến tại",),
    "postal": ("bưu chính", "bưu chính công ích"),
    "forms": ("mẫu đơn, tờ khai", "mẫu đơn tờ khai", "mẫu đơn"),
    "legal_basis": ("căn cứ pháp lý",),
    "uncertain": ("chưa kiểm chứng",),
    "review": ("ghi chú rà soát", "cần rà soát"),
}
REQUIRED = ("title", "department", "level", "field", "documents", "steps", "submit", "legal_basis")

_FIELD_TO_COLUMN = {
    "processing_time": "processing_days",
    "where": "submit",
}
_LEVELS = {
    "provincial": "provincial",
    "tinh": "provincial",
    "cap tinh": "provincial",
    "commune": "commune",
    "xa": "commune",
    "cap xa": "commune",
}
_ONLINE = {
    "full": "full",
    "toan trinh": "full",
    "partial": "partial",
    "mot phan": "partial",
    "none": "none",
    "khong": "none",
    "": "none",
}
_KINDS = {
    "original": "original",
    "ban chinh": "original",
    "copy": "copy",
    "ban sao": "copy",
    "certified_copy": "certified_copy",
    "ban sao co chung thuc": "certified_copy",
    "either": "either",
    "ban chinh hoac ban sao": "either",
    "electronic": "electronic",
    "ban dien tu": "electronic",
}
_YES = {"yes", "y", "true", "1", "co", "x"}
_NO = {"no", "n", "false", "0", "khong", ""}
NO_FEE_INFO = "Chưa có thông tin về phí, lệ phí của thủ tục này; xin hỏi cán bộ tiếp nhận."


class RowProblem(NamedTuple):
    """A bad row: its number as a spreadsheet shows it (header = row 1), the column, and why."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.column}: {self.reason}" if self.column else f"row {self.row}: {self.reason}"


@dataclass
class ImportResult:
    """What an import did: files written (id, path, "created" | "updated") and the rows refused."""

    written: list[tuple[str, Path, str]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


class _RowError(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", fold(header).lower()).strip()


_HEADER_INDEX = {_key(name): name for name in COLUMNS} | {
    _key(alias): name for name, aliases in COLUMNS.items() for alias in aliases
}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, {canonical column: text}) for each non-empty row of a CSV or XLSX file."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raw = _read_xlsx(path)
    elif path.suffix.lower() in (".csv", ".tsv", ".txt"):
        raw = _read_csv(path)
    else:
        raise ValueError(f"{path.name}: unsupported file type (use .csv or .xlsx)")
    header: list[str | None] | None = None
    for number, values in raw:
        if header is None:
            header = [_HEADER_INDEX.get(_key(v)) for v in values]
            unknown = [v for v, c in zip(values, header, strict=True) if c is None and v.strip()]
            if unknown:
                raise ValueError(f"unknown column(s): {', '.join(unknown)} (see 'Import columns' in FORMAT.md)")
            missing = [name for name in REQUIRED if name not in header]
            if missing:
                raise ValueError(f"missing required column(s): {', '.join(missing)}")
            continue
        if not any(v.strip() for v in values):
            continue
        yield number, {c: v for c, v in zip(header, values, strict=False) if c is not None}


def _read_csv(path: Path) -> Iterator[tuple[int, list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        sample = handle.read(4096)
        handle.seek(0)
        delimiter = (
            "\t"
            if sample.count("\t") > sample.count(",") and sample.count("\t") > sample.count(";")
            else (";" if sample.count(";") > sample.count(",") else ",")
        )
        for number, values in enumerate(csv.reader(handle, delimiter=delimiter), start=1):
            yield number, [v.strip() for v in values]


def _read_xlsx(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # only needed for spreadsheets

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell(v) for v in values]
    finally:
        workbook.close()


def _lines(text: str) -> list[str]:
    return [line.strip().lstrip("-•").strip() for line in text.replace("\r", "\n").split("\n") if line.strip()]


def _list(text: str) -> list[str]:
    """Aliases: separated by ";" or line breaks."""
    return [part.strip() for line in _lines(text) for part in line.split(";") if part.strip()]


def _parts(line: str, count: int) -> list[str]:
    """The `count` "|"-separated parts of an item, padded with empty strings."""
    parts = [part.strip() for part in line.split("|", count - 1)]
    return parts + [""] * (count - len(parts))


def _amount(text: str, column: str) -> int | None:
    cleaned = re.sub(r"(đồng|dong|vnd|vnđ|đ)$", "", text.strip().lower()).strip()
    if not cleaned:
        return None
    if not re.fullmatch(r"\d{1,3}([.,]\d{3})*|\d+", cleaned):
        raise _RowError(column, f"amount {text!r} is not a whole number of đồng (e.g. 200000 or 200.000)")
    return int(re.sub(r"[.,]", "", cleaned))


def _optional_int(text: str, column: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        raise _RowError(column, f"{text!r} is not a whole number of days")
    return int(text)


def _as_of(text: str, today: date) -> date:
    if not text:
        return today
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise _RowError("as_of", f"{text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _choice(text: str, choices: dict[str, str], column: str) -> str:
    value = choices.get(_key(text))
    if value is None:
        raise _RowError(column, f"{text!r} is not one of {', '.join(sorted(set(choices.values())))}")
    return value


def _department(text: str, departments: list[Department]) -> str:
    key = _key(text)
    for department in departments:
        if key in (_key(department.id), _key(department.name), _key(department.short_name)):
            return department.id
    known = ", ".join(d.id for d in departments)
    raise _RowError("department", f"unknown department {text!r} (use an id, name or short name: {known})")


def row_to_record(row: dict[str, str], departments: list[Department], today: date) -> dict[str, Any]:
    """The procedure record (as it will be written) for one row; raises `_RowError` on bad cells."""
    for column in REQUIRED:
        if not row.get(column, "").strip():
            raise _RowError(column, "required column is empty")
    title = row["title"]
    documents = []
    for line in _lines(row["documents"]):
        name, copies, kind, note = _parts(line, 4)
        documents.append(
            {
                "name": name,
                "copies": _optional_int(copies, "documents") if copies else 1,
                "kind": _choice(kind, _KINDS, "documents") if kind else None,
                "note": note or None,
            }
        )
    fees = []
    for line in _lines(row.get("fees", "")):
        name, amount, payer, note = _parts(line, 4)
        fees.append({"name": name, "amount": _amount(amount, "fees"), "payer": payer or None, "note": note or None})
    fees_note = row.get("fees_note") or None
    if not fees and not fees_note:
        fees_note = NO_FEE_INFO  # an empty cell does not mean "free": never claim what the file does not say
    postal_text = _key(row.get("postal", ""))
    if postal_text not in _YES | _NO:
        raise _RowError("postal", f"{row['postal']!r} is not yes/no (có/không)")
    processing_text = row.get("processing_text") or None
    days = _optional_int(row.get("processing_days", ""), "processing_days")
    if days is None and processing_text:
        found = re.search(r"(\d+)\s*ngày", processing_text)
        days = int(found.group(1)) if found else None
    record: dict[str, Any] = {
        "id": row.get("id") or slugify(title)[:80].rstrip("-"),
        "code": row.get("code") or None,
        "title": title,
        "aliases": _list(row.get("aliases", "")),
        "department": _department(row["department"], departments),
        "level": _choice(row["level"], _LEVELS, "level"),
        "field": row["field"],
        "online": _choice(row.get("online", ""), _ONLINE, "online"),
        "as_of": _as_of(row.get("as_of", ""), today),
        "summary": row.get("summary") or f"{title}.",
        "documents": documents,
        "steps": _lines(row["steps"]),
        "processing_time": {
            "days": days,
            "unit": row.get("processing_unit") or "working_days",
            "text": processing_text,
        },
        "conditions": _lines(row.get("conditions", "")),
        "fees": fees,
        "fees_note": fees_note,
        "where": {
            "submit": _lines(row["submit"]),
            "receive": _lines(row.get("receive", "")),
            "online": row.get("online_where") or None,
            "postal": postal_text in _YES,
        },
        "forms": [
            dict(zip(("name", "code", "url"), [p or None for p in _parts(line, 3)], strict=True))
            for line in _lines(row.get("forms", ""))
        ],
        "legal_basis": [
            {"document": document, "articles": articles or None}
            for document, articles in (_parts(line, 2) for line in _lines(row["legal_basis"]))
        ],
        # officers' notes (never shown to citizens); the old column `uncertain` means the same
        "review": _lines(row.get("review", "")) + _lines(row.get("uncertain", "")),
    }
    return record


def _column_of(location: tuple[str, ...]) -> str:
    head = str(location[0]) if location else ""
    if head == "processing_time" and len(location) > 1 and location[1] == "text":
        return "processing_text"
    if head == "where" and len(location) > 1:
        return {"submit": "submit", "receive": "receive", "online": "online_where", "postal": "postal"}.get(
            str(location[1]), "submit"
        )
    return _FIELD_TO_COLUMN.get(head, head)


def _dump(record: dict[str, Any]) -> str:
    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None or k in ("code", "amount", "days")}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return yaml.safe_dump(clean(record), allow_unicode=True, sort_keys=False, width=110, default_flow_style=False)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def import_procedures(source: Path, kb_path: Path | None = None, today: date | None = None) -> ImportResult:
    """Validate every row of `source`, then write the good ones to `<kb_path>/procedures/<id>.yaml`."""
    root = Path(kb_path) if kb_path is not None else BUNDLED_PATH
    problems: list[Problem] = []
    departments = _load_departments(root if (root / "departments.yaml").is_file() else BUNDLED_PATH, problems)
    if problems:
        raise KnowledgeBaseError(problems)
    today = today or date.today()
    result = ImportResult()
    good: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for number, row in read_rows(source):
        try:
            record = row_to_record(row, departments, today)
            text = _dump(record)
            Procedure.model_validate(yaml.safe_load(text))  # exactly what the loader will read back
        except _RowError as error:
            result.problems.append(RowProblem(number, error.column, error.reason))
            continue
        except ValidationError as error:
            for problem in _validation_problems("", error):
                location = tuple(problem.field.split(".")) if problem.field else ()
                result.problems.append(RowProblem(number, _column_of(location), problem.reason))
            continue
        if record["id"] in seen:
            result.problems.append(
                RowProblem(number, "id", f"id {record['id']!r} already used by row {seen[record['id']]}")
            )
            continue
        seen[record["id"]] = number
        good.append((record["id"], text))
    directory = root / "procedures"
    for procedure_id, text in good:
        path = directory / f"{procedure_id}.yaml"
        status = "updated" if path.exists() else "created"
        _write_atomic(path, text)
        result.written.append((procedure_id, path, status))
    return result


__all__ = ["COLUMNS", "REQUIRED", "ImportResult", "RowProblem", "import_procedures", "read_rows", "row_to_record"]
