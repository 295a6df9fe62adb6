"""CSV and XLSX files of the report and of dossier lists.

CSV: UTF-8 with a byte-order mark (so spreadsheet programs read Vietnamese correctly), English column keys,
one header row. XLSX: Vietnamese headers, numbers as numbers, times as local date-times. Text that a
spreadsheet would run as a formula (=, +, -, @ at the start) is neutralised: a citizen's name must never
become a formula on an officer's computer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from storage.reports import Counts, MonthFigures, Summary

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    key: str
    label: str


SUMMARY_COLUMNS = (
    Column("department_id", "Mã cơ quan"),
    Column("department_name", "Cơ quan"),
    Column("received_total", "Tổng tiếp nhận"),
    Column("carried_over", "Kỳ trước chuyển sang"),
    Column("new", "Tiếp nhận mới"),
    Column("direct", "Trực tiếp"),
    Column("online", "Trực tuyến"),
    Column("postal", "Bưu chính công ích"),
    Column("resolved_total", "Đã giải quyết"),
    Column("early", "Trước hạn"),
    Column("on_time", "Đúng hạn"),
    Column("late", "Trễ hạn"),
    Column("on_time_rate", "Tỷ lệ đúng hạn (%)"),
    Column("in_progress", "Đang giải quyết"),
    Column("overdue", "Quá hạn"),
    Column("returned_by_post", "Trả kết quả qua bưu chính"),
    Column("very_satisfied", "Rất hài lòng"),
    Column("satisfied", "Hài lòng"),
    Column("not_satisfied", "Không hài lòng"),
    Column("satisfaction_rate", "Tỷ lệ hài lòng (%)"),
)

DOSSIER_COLUMNS = (
    Column("code", "Mã hồ sơ"),
    Column("status", "Trạng thái (mã)"),
    Column("status_label", "Trạng thái"),
    Column("procedure_id", "Mã thủ tục"),
    Column("procedure_title", "Thủ tục"),
    Column("department", "Mã cơ quan"),
    Column("department_name", "Cơ quan"),
    Column("applicant_name", "Người nộp"),
    Column("applicant_phone", "Số điện thoại"),
    Column("channel", "Kênh tiếp nhận"),
    Column("return_method", "Hình thức trả kết quả"),
    Column("received_at", "Ngày tiếp nhận"),
    Column("original_due_at", "Ngày hẹn trả (ban đầu)"),
    Column("due_at", "Ngày hẹn trả (hiện tại)"),
    Column("postponed", "Đã hẹn lại"),
    Column("resolved_at", "Ngày có kết quả"),
    Column("returned_at", "Ngày trả kết quả"),
    Column("fees", "Phí, lệ phí (đồng)"),
)

OVERDUE_COLUMNS = (
    Column("code", "Mã hồ sơ"),
    Column("procedure_title", "Thủ tục"),
    Column("department_name", "Cơ quan"),
    Column("status_label", "Trạng thái"),
    Column("received_at", "Ngày tiếp nhận"),
    Column("original_due_at", "Ngày hẹn trả (ban đầu)"),
    Column("due_at", "Ngày hẹn trả (hiện tại)"),
    Column("days_overdue", "Số ngày quá hạn"),
)

TREND_COLUMNS = (
    Column("month", "Tháng"),
    Column("received", "Tiếp nhận"),
    Column("resolved", "Đã giải quyết"),
    Column("late", "Trễ hạn"),
)


def counts_row(counts: Counts) -> dict[str, Any]:
    return {
        "received_total": counts.received,
        "carried_over": counts.carried_over,
        "new": counts.new,
        "direct": counts.direct,
        "online": counts.online,
        "postal": counts.postal,
        "resolved_total": counts.resolved,
        "early": counts.early,
        "on_time": counts.on_time,
        "late": counts.late,
        "on_time_rate": counts.on_time_rate,
        "in_progress": counts.in_progress,
        "overdue": counts.overdue,
        "returned_by_post": counts.returned_by_post,
        "very_satisfied": counts.very_satisfied,
        "satisfied": counts.satisfied,
        "not_satisfied": counts.not_satisfied,
        "satisfaction_rate": counts.satisfaction_rate,
    }


def summary_rows(summary: Summary) -> list[dict[str, Any]]:
    """One row per department, then the total row (department_id "total")."""
    rows = [{"department_id": d.id, "department_name": d.name, **counts_row(d.counts)} for d in summary.departments]
    if summary.department_id is None:
        rows.append({"department_id": "total", "department_name": "Tổng cộng", **counts_row(summary.totals)})
    return rows


def safe_text(value: str) -> str:
    """Text a spreadsheet will show as text, never evaluate."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return safe_text(value)
    return value


def write_csv(columns: Sequence[Column], rows: Iterable[dict[str, Any]], *, bom: bool = True) -> str:
    """A CSV document (with the UTF-8 byte-order mark unless `bom` is false)."""
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.key for c in columns])
    for row in rows:
        writer.writerow([_csv_value(row.get(c.key)) for c in columns])
    return out.getvalue()


def csv_rows(columns: Sequence[Column], rows: Iterable[dict[str, Any]]) -> str:
    """CSV lines without the header (for streaming in batches)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_csv_value(row.get(c.key)) for c in columns])
    return out.getvalue()


class XlsxBuilder:
    """A streaming (write-only) workbook: sheets of a title, a header row and data rows."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.workbook = Workbook(write_only=True)
        self._bold = Font(bold=True)

    def sheet(self, title: str, columns: Sequence[Column], *, heading: Sequence[str] = ()) -> WriteOnlyWorksheet:
        sheet = self.workbook.create_sheet(title=title[:31])
        for line in heading:
            cell = WriteOnlyCell(sheet, value=line)
            cell.font = self._bold
            sheet.append([cell])
        if heading:
            sheet.append([])
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=column.label)
            cell.font = self._bold
            header.append(cell)
        sheet.append(header)
        return sheet

    def append(self, sheet: WriteOnlyWorksheet, columns: Sequence[Column], row: dict[str, Any]) -> None:
        sheet.append([self._cell(sheet, row.get(c.key)) for c in columns])

    def _cell(self, sheet: WriteOnlyWorksheet, value: Any) -> WriteOnlyCell:
        if isinstance(value, datetime):
            local = value.astimezone(self.tz).replace(tzinfo=None)
            cell = WriteOnlyCell(sheet, value=local)
            cell.number_format = "dd/mm/yyyy hh:mm"
            return cell
        if isinstance(value, bool):
            return WriteOnlyCell(sheet, value="có" if value else "không")
        if isinstance(value, str):
            # Control characters (a fuzzed name, an odd CSV row) are illegal in XLSX: drop them, never a 500.
            cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
            cell.data_type = "s"  # never a formula, whatever the text starts with
            return cell
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, float):
            cell.number_format = "0.00"
        return cell

    def save(self) -> bytes:
        out = io.BytesIO()
        self.workbook.save(out)
        return out.getvalue()


def summary_csv(summary: Summary) -> str:
    columns = (Column("from", "Từ ngày"), Column("to", "Đến ngày"), *SUMMARY_COLUMNS)
    period = {"from": summary.period.start.isoformat(), "to": summary.period.end.isoformat()}
    return write_csv(columns, ({**period, **row} for row in summary_rows(summary)))


def summary_xlsx(summary: Summary, *, tz: ZoneInfo, centre_name: str, trend: Sequence[MonthFigures] = ()) -> bytes:
    """The report as a workbook: the department table, the top procedures and the monthly trend."""
    builder = XlsxBuilder(tz)
    who = centre_name
    if summary.department_id is not None:
        who = f"{summary.department_name or summary.department_id} — {centre_name}"
    heading = [
        "KẾT QUẢ TIẾP NHẬN VÀ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
        f"{who}, {summary.period.label_vi()}",
    ]
    sheet = builder.sheet("Tổng hợp", SUMMARY_COLUMNS, heading=heading)
    for row in summary_rows(summary):
        builder.append(sheet, SUMMARY_COLUMNS, row)
    columns = (Column("id", "Mã thủ tục"), Column("title", "Thủ tục"), Column("received", "Hồ sơ tiếp nhận"))
    sheet = builder.sheet("Thủ tục nhiều hồ sơ", columns)
    for procedure in summary.top_procedures:
        builder.append(sheet, columns, procedure.as_dict())
    if trend:
        sheet = builder.sheet("Theo tháng", TREND_COLUMNS)
        for month in trend:
            builder.append(sheet, TREND_COLUMNS, month.as_dict())
    return builder.save()


def flatten_dossier(view: dict[str, Any]) -> dict[str, Any]:
    """A dossier's API view as one flat row of the export."""
    applicant = view.get("applicant") or {}
    row = {key: view.get(key) for key in (c.key for c in DOSSIER_COLUMNS)}
    row["applicant_name"] = applicant.get("name")
    row["applicant_phone"] = applicant.get("phone")
    for key in ("received_at", "original_due_at", "due_at", "resolved_at", "returned_at"):
        value = view.get(key)
        row[key] = datetime.fromisoformat(value) if isinstance(value, str) else value
    return row


__all__ = [
    "CSV_MEDIA_TYPE",
    "DOSSIER_COLUMNS",
    "OVERDUE_COLUMNS",
    "SUMMARY_COLUMNS",
    "XLSX_MEDIA_TYPE",
    "Column",
    "XlsxBuilder",
    "csv_rows",
    "flatten_dossier",
    "safe_text",
    "summary_csv",
    "summary_rows",
    "summary_xlsx",
    "write_csv",
]
