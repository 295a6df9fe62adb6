"""`/api/v1/reports/*` and `/api/v1/exports/*` through a real server: figures, scoping, files, bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from openpyxl import load_workbook

from bot import keys
from tests.reports.data import DEPT_A, DEPT_B, PROC_A1, SEPT_A, SEPT_B, SEPT_TOP, SEPT_TOTAL, strip_rates

SEPT = "from=2025-09-01&to=2025-09-30"
KeyMaker = Callable[..., Any]


async def test_summary_as_admin(report_client: Any, report_key: KeyMaker) -> None:
    response = await report_client.get(f"/api/v1/reports/summary?{SEPT}", headers=await report_key("admin"))
    assert response.status == 200
    assert await response.json() == {
        "from": "2025-09-01",
        "to": "2025-09-30",
        **SEPT_TOTAL,
        "departments": [
            {"id": DEPT_A, "name": "Sở Tài chính", **SEPT_A},
            {"id": DEPT_B, "name": "Sở Tư pháp", **SEPT_B},
        ],
        "top_procedures": SEPT_TOP,
    }


async def test_officers_see_their_department_only(report_client: Any, report_key: KeyMaker) -> None:
    officer = await report_key("officer", DEPT_B)
    response = await report_client.get(f"/api/v1/reports/summary?{SEPT}", headers=officer)
    assert response.status == 200
    doc = await response.json()
    assert {k: doc[k] for k in SEPT_TOTAL} == strip_rates(SEPT_B)
    assert [d["id"] for d in doc["departments"]] == [DEPT_B]

    same = await report_client.get(f"/api/v1/reports/summary?{SEPT}&department={DEPT_B}", headers=officer)
    assert (await same.json())["received"] == SEPT_B["received"]

    other = await report_client.get(f"/api/v1/reports/summary?{SEPT}&department={DEPT_A}", headers=officer)
    assert other.status == 403
    assert (await other.json())["error"]["code"] == "wrong_department"
    for path in ("/api/v1/reports/summary.csv", "/api/v1/exports/overdue.csv", "/api/v1/exports/dossiers.csv"):
        refused = await report_client.get(f"{path}?{SEPT}&department={DEPT_A}", headers=officer)
        assert refused.status == 403, path


async def test_admin_and_integration_can_pick_a_department(report_client: Any, report_key: KeyMaker) -> None:
    for role in ("admin", "integration"):
        response = await report_client.get(
            f"/api/v1/reports/summary?{SEPT}&department={DEPT_A}", headers=await report_key(role)
        )
        doc = await response.json()
        assert doc["resolved"] == SEPT_A["resolved"], role
        assert doc["top_procedures"][0]["id"] == PROC_A1


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("from=2025-13-01&to=2025-12-31", 400, "invalid_date"),
        ("from=yesterday&to=2025-09-30", 400, "invalid_date"),
        ("from=2025-09-30&to=2025-09-01", 422, "invalid_period"),
        ("from=2015-01-01&to=2025-01-01", 422, "invalid_period"),
        ("from=0001-01-01&to=0001-01-02", 400, "invalid_date"),
        (f"{SEPT}&department=so-khong-ton-tai", 422, "unknown_department"),
        (f"{SEPT}&department={'x' * 65}", 422, "invalid_parameter"),
    ],
)
async def test_bad_input_is_a_clear_4xx(
    report_client: Any, report_key: KeyMaker, query: str, status: int, code: str
) -> None:
    headers = await report_key("admin")
    for path in ("/api/v1/reports/summary", "/api/v1/reports/summary.xlsx", "/api/v1/reports/trend"):
        response = await report_client.get(f"{path}?{query}", headers=headers)
        assert response.status == status, (path, query)
        body = await response.json()
        assert body["error"]["code"] == code
        assert body["error"]["message"]


async def test_a_key_is_needed(report_client: Any) -> None:
    for path in ("/api/v1/reports/summary", "/api/v1/reports/summary.csv", "/api/v1/exports/dossiers.xlsx"):
        response = await report_client.get(path)
        assert response.status == 401, path


async def test_default_period_is_the_current_month_to_date(report_client: Any, report_key: KeyMaker) -> None:
    response = await report_client.get("/api/v1/reports/summary", headers=await report_key("admin"))
    doc = await response.json()
    assert (doc["from"], doc["to"]) == ("2025-10-01", "2025-10-02")
    assert doc["received"]["new"] == 1  # A12
    only_from = await report_client.get("/api/v1/reports/summary?from=2025-09-01", headers=await report_key("admin"))
    assert (await only_from.json())["to"] == "2025-09-30"


async def test_summary_csv(report_client: Any, report_key: KeyMaker) -> None:
    response = await report_client.get(f"/api/v1/reports/summary.csv?{SEPT}", headers=await report_key("admin"))
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "bao-cao-2025-09-01-2025-09-30.csv" in response.headers["Content-Disposition"]
    raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read the Vietnamese names right
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["department_id"] for r in rows] == [DEPT_A, DEPT_B, "total"]
    a, b, total = rows
    assert a["department_name"] == "Sở Tài chính"
    assert (a["from"], a["to"]) == ("2025-09-01", "2025-09-30")
    assert (a["received_total"], a["carried_over"], a["new"]) == ("13", "3", "10")
    assert (a["early"], a["on_time"], a["late"], a["on_time_rate"]) == ("2", "2", "3", "57.14")
    assert (b["satisfaction_rate"], b["returned_by_post"]) == ("100.0", "0")
    assert (total["received_total"], total["resolved_total"], total["on_time_rate"]) == ("17", "9", "55.56")
    assert (total["in_progress"], total["overdue"], total["satisfaction_rate"]) == ("7", "3", "75.0")


async def test_summary_xlsx(report_client: Any, report_key: KeyMaker) -> None:
    response = await report_client.get(f"/api/v1/reports/summary.xlsx?{SEPT}", headers=await report_key("admin"))
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(await response.read()))
    assert book.sheetnames == ["Tổng hợp", "Thủ tục nhiều hồ sơ", "Theo tháng"]
    rows = list(book["Tổng hợp"].iter_rows(values_only=True))
    assert rows[0][0] == "KẾT QUẢ TIẾP NHẬN VÀ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
    assert "từ ngày 01/09/2025 đến ngày 30/09/2025" in rows[1][0]
    header = list(rows[3])
    assert header[:3] == ["Mã cơ quan", "Cơ quan", "Tổng tiếp nhận"]
    table = {r[0]: dict(zip(header, r, strict=True)) for r in rows[4:]}
    assert table["total"]["Tổng tiếp nhận"] == 17
    assert table[DEPT_A]["Trễ hạn"] == 3
    assert table[DEPT_A]["Tỷ lệ đúng hạn (%)"] == 57.14
    assert table[DEPT_B]["Quá hạn"] == 1
    top = list(book["Thủ tục nhiều hồ sơ"].iter_rows(values_only=True))
    assert top[1:] == [(p["id"], p["title"], p["received"]) for p in SEPT_TOP]
    months = list(book["Theo tháng"].iter_rows(values_only=True))
    assert months[1:] == [("2025-09", 13, 9, 4)]


async def test_summary_text(report_client: Any, report_key: KeyMaker) -> None:
    response = await report_client.get(f"/api/v1/reports/summary.txt?{SEPT}", headers=await report_key("admin"))
    assert response.status == 200
    assert response.content_type == "text/plain"
    body = await response.text()
    assert "Tổng số lượng hồ sơ tiếp nhận: 17 hồ sơ" in body
    assert "đạt tỷ lệ 55,56%" in body
    assert "- Sở Tài chính đã tiếp nhận 13 hồ sơ" in body


async def test_trend(report_client: Any, report_key: KeyMaker) -> None:
    response = await report_client.get(
        "/api/v1/reports/trend?from=2025-07-01&to=2025-09-30", headers=await report_key("admin")
    )
    doc = await response.json()
    assert doc["months"] == [
        {"month": "2025-07", "received": 1, "resolved": 0, "late": 0},
        {"month": "2025-08", "received": 7, "resolved": 3, "late": 1},
        {"month": "2025-09", "received": 13, "resolved": 9, "late": 4},
    ]


async def test_dossier_export_csv_with_filters(report_client: Any, report_key: KeyMaker) -> None:
    headers = await report_key("admin")
    response = await report_client.get(
        f"/api/v1/exports/dossiers.csv?department={DEPT_B}&received_from=2025-09-01&received_to=2025-10-01",
        headers=headers,
    )
    assert response.status == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="ho-so-20251002-1000.csv')
    rows = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert sorted(r["code"] for r in rows) == ["RPT-B1", "RPT-B2", "RPT-B4"]
    b1 = next(r for r in rows if r["code"] == "RPT-B1")
    assert b1["status_label"] == "Đã trả kết quả"
    assert b1["department_name"] == "Sở Tư pháp"
    assert b1["received_at"] == "2025-09-02T08:00:00+07:00"
    assert b1["original_due_at"] == "2025-09-09T17:00:00+07:00"
    assert b1["postponed"] == "false"


async def test_dossier_export_is_scoped_to_the_officer(report_client: Any, report_key: KeyMaker) -> None:
    officer = await report_key("officer", DEPT_B)
    response = await report_client.get("/api/v1/exports/dossiers.csv", headers=officer)
    rows = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert sorted(r["code"] for r in rows) == ["RPT-B1", "RPT-B2", "RPT-B3", "RPT-B4"]


async def test_dossier_export_xlsx_in_batches(
    report_client: Any, report_key: KeyMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.reports

    monkeypatch.setattr(bot.reports, "EXPORT_BATCH", 5)  # 22 dossiers: five pages
    response = await report_client.get("/api/v1/exports/dossiers.xlsx", headers=await report_key("admin"))
    assert response.status == 200
    book = load_workbook(io.BytesIO(await response.read()))
    rows = list(book["Hồ sơ"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Mã hồ sơ", "Trạng thái (mã)", "Trạng thái")
    codes = [r[0] for r in rows[1:]]
    assert len(codes) == 22 and len(set(codes)) == 22
    a4 = dict(zip(rows[0], next(r for r in rows if r[0] == "RPT-A4"), strict=True))
    assert a4["Đã hẹn lại"] == "có"
    assert a4["Ngày hẹn trả (ban đầu)"].isoformat() == "2025-09-15T17:00:00"  # local time in the sheet
    assert a4["Ngày hẹn trả (hiện tại)"].isoformat() == "2025-09-22T17:00:00"


async def test_too_large_an_export_is_refused(
    report_client: Any, report_key: KeyMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.reports

    monkeypatch.setattr(bot.reports, "EXPORT_MAX_ROWS", 10)
    response = await report_client.get("/api/v1/exports/dossiers.csv", headers=await report_key("admin"))
    assert response.status == 422
    assert (await response.json())["error"]["code"] == "export_too_large"


async def test_spreadsheet_formulas_in_names_stay_text(report_client: Any, report_key: KeyMaker) -> None:
    from sqlalchemy import update

    from storage.models import Dossier

    evil = '=HYPERLINK("http://example.invalid","bấm")'
    async with report_client.app[keys.SESSIONMAKER].begin() as session:
        await session.execute(update(Dossier).where(Dossier.code == "RPT-B1").values(applicant_name=evil))
    headers = await report_key("admin")
    response = await report_client.get(f"/api/v1/exports/dossiers.csv?department={DEPT_B}", headers=headers)
    rows = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert next(r for r in rows if r["code"] == "RPT-B1")["applicant_name"] == "'" + evil
    response = await report_client.get(f"/api/v1/exports/dossiers.xlsx?department={DEPT_B}", headers=headers)
    sheet = load_workbook(io.BytesIO(await response.read()))["Hồ sơ"]
    names = {row[0].value: row[7] for row in sheet.iter_rows(min_row=2)}
    assert names["RPT-B1"].value == evil
    assert names["RPT-B1"].data_type == "s"


async def test_overdue_export(report_client: Any, report_key: KeyMaker) -> None:
    response = await report_client.get("/api/v1/exports/overdue.csv", headers=await report_key("admin"))
    rows = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert [(r["code"], r["days_overdue"]) for r in rows] == [("RPT-B3", "72"), ("RPT-A6", "28"), ("RPT-A8", "2")]
    officer = await report_key("officer", DEPT_A)
    response = await report_client.get("/api/v1/exports/overdue.xlsx", headers=officer)
    sheet = load_workbook(io.BytesIO(await response.read()))["Hồ sơ quá hạn"]
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["RPT-A6", "RPT-A8"]


async def test_export_routes_leave_dossier_codes_alone(report_client: Any, report_key: KeyMaker) -> None:
    response = await report_client.get("/api/v1/dossiers/RPT-A1", headers=await report_key("admin"))
    assert response.status == 200
    assert (await response.json())["code"] == "RPT-A1"


async def test_openapi_describes_the_reports(report_client: Any) -> None:
    doc = await (await report_client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/reports/summary" in doc["paths"]
    assert "/api/v1/exports/dossiers.{fmt}" in doc["paths"]
    assert doc["components"]["schemas"]["ReportSummary"]["required"][0] == "from"
