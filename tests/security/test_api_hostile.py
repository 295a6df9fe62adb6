"""Regressions found by the fuzzers: each was a 500 or a wrong answer before it was fixed."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook


def dossier_body(procedure_id: str, name: str = "Nguyễn Thị Hoa") -> dict[str, Any]:
    return {"procedure_id": procedure_id, "applicant": {"name": name, "phone": "0912345678"}, "channel": "online"}


async def test_405_names_the_allowed_methods(client: Any, api_key: Any) -> None:
    """RFC 9110: a 405 carries `Allow` (the JSON error body used to drop it)."""
    resp = await client.request("TRACE", "/api/v1/departments", headers=await api_key("admin"))
    assert resp.status == 405
    assert (await resp.json())["error"]["code"] == "method_not_allowed"
    assert set(resp.headers["Allow"].split(",")) >= {"GET"}


async def test_xlsx_export_survives_control_characters(client: Any, api_key: Any, two_procedures: Any) -> None:
    """A name with control characters (legal in JSON, illegal in XLSX) made the export a 500."""
    proc, _ = two_procedures
    headers = await api_key("admin")
    resp = await client.post("/api/v1/dossiers", json=dossier_body(proc.id, "Lê\x01 Văn\x0b Tám\x1f"), headers=headers)
    assert resp.status == 201
    resp = await client.get("/api/v1/exports/dossiers.xlsx", headers=headers)
    assert resp.status == 200
    book = load_workbook(io.BytesIO(await resp.read()), read_only=True)
    cells = [str(c) for row in book.active.iter_rows(values_only=True) for c in row if c is not None]
    assert "Lê Văn Tám" in cells


@pytest.mark.parametrize("recipient_id", ["267957437631872172826401177600", "9223372036854775808", "0", "-1"])
async def test_recipient_ids_beyond_bigint_are_not_found(client: Any, api_key: Any, recipient_id: str) -> None:
    """An id the database cannot hold was a 500 (overflow), not a 404."""
    resp = await client.delete(f"/api/v1/recipients/{recipient_id}", headers=await api_key("admin"))
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "recipient_not_found"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"code,procedure_id\n"),
        ("multipart/form-data; boundary=xyz", b"--abc\r\n\r\nnot a part"),
        ("multipart/mixed; boundary=b", b"--b\r\nContent-Transfer-Encoding: rot13\r\n\r\nx\r\n--b--\r\n"),
    ],
)
async def test_malformed_multipart_import_is_422(client: Any, api_key: Any, content_type: str, body: bytes) -> None:
    """A multipart body without a boundary raised ValueError: 500."""
    headers = {**(await api_key("admin")), "Content-Type": content_type}
    resp = await client.post("/api/v1/dossiers/import", data=body, headers=headers)
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "invalid_csv"


@pytest.mark.parametrize("path", ["/api/v1/recipients?department=a%00b", "/api/v1/dossiers?procedure=x%00"])
async def test_nul_character_in_a_filter_is_a_client_error(client: Any, api_key: Any, path: str) -> None:
    """PostgreSQL refuses NUL in text: that was a 500 on PostgreSQL only (SQLite just finds nothing)."""
    resp = await client.get(path, headers=await api_key("admin"))
    assert resp.status in (200, 400)
    if resp.status == 400:
        assert (await resp.json())["error"]["code"] == "invalid_value"
    else:
        assert (await resp.json())["items"] == []


async def test_nul_character_in_a_json_field_is_a_client_error(client: Any, api_key: Any, two_procedures: Any) -> None:
    proc, _ = two_procedures
    resp = await client.post("/api/v1/dossiers", json=dossier_body(proc.id, "A\x00B"), headers=await api_key("admin"))
    assert resp.status in (201, 400), await resp.text()
    assert resp.status != 500


async def test_every_operation_documents_the_common_errors(client: Any) -> None:
    """The middlewares can answer 400, 401 and 503 anywhere; the document says so for every operation."""
    document = await (await client.get("/api/v1/openapi.json")).json()
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert {"400", "401", "503"} <= set(op["responses"]), (method, path)
            if "{" in path:
                assert "404" in op["responses"], (method, path)


async def test_every_api_route_is_in_the_openapi_document(client: Any) -> None:
    """schemathesis can only test what the document describes: every /api/v1 route must be in it."""
    from tests.security.test_access import api_routes

    document = await (await client.get("/api/v1/openapi.json")).json()
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    missing = [route for route in api_routes(client.app) if route not in documented]
    assert missing == []


NESTED = b"[" * 1500 + b"]" * 1500  # 3 KB: deeper than json's C scanner recurses


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/dossiers"),
        ("PATCH", "/api/v1/dossiers/TTHCC-261123-0001"),
        ("POST", "/api/v1/recipients"),
    ],
)
async def test_deeply_nested_json_is_a_400(client: Any, api_key: Any, method: str, path: str) -> None:
    """`[[[…]]]` raised RecursionError inside json.loads: a 500 with a traceback in the log."""
    headers = {**(await api_key("admin")), "Content-Type": "application/json"}
    for body in (NESTED, b'{"a":' * 40 + b"1" + b"}" * 40):
        resp = await client.request(method, path, data=body, headers=headers)
        assert resp.status == 400, await resp.text()
        assert (await resp.json())["error"]["code"] == "invalid_json"


# Dates at the calendar's edges: converting 0001-01-01 local to UTC, or 9999-12-31 plus a month, overflowed
# `datetime` (OverflowError: a 500). They are refused as dates outside the supported range.
EDGE_DATE_PATHS = [
    "/api/v1/reports/summary?from=9999-12-31",
    "/api/v1/reports/summary?from=0001-01-01&to=0001-01-31",
    "/api/v1/reports/summary.csv?from=9999-12-31",
    "/api/v1/reports/summary.xlsx?from=9999-12-31",
    "/api/v1/reports/trend?from=9999-12-31",
    "/api/v1/dossiers?received_from=0001-01-01",
    "/api/v1/dossiers?received_to=0001-01-01",
    "/api/v1/dossiers?received_from=9999-12-31T23:59:59-10:00",
    "/api/v1/exports/dossiers.csv?received_from=0001-01-01",
    "/api/v1/ratings?since=0001-01-01",
]


@pytest.mark.parametrize("path", EDGE_DATE_PATHS)
async def test_dates_at_the_calendars_edges_are_a_400(client: Any, api_key: Any, path: str) -> None:
    resp = await client.get(path, headers=await api_key("admin"))
    assert resp.status == 400, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_date"
    assert "1901-01-01" in error["message"] and "2099-12-31" in error["message"]


@pytest.mark.parametrize("received_at", ["0001-01-01", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
async def test_a_received_at_at_the_calendars_edge_is_a_400(
    client: Any, api_key: Any, two_procedures: Any, received_at: str
) -> None:
    body = {**dossier_body(two_procedures[0].id), "received_at": received_at}
    resp = await client.post("/api/v1/dossiers", json=body, headers=await api_key("admin"))
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["error"]["code"] == "invalid_date"


async def test_the_supported_range_itself_is_accepted(client: Any, api_key: Any) -> None:
    headers = await api_key("admin")
    for path in (
        "/api/v1/reports/summary?from=2000-01-01&to=2000-01-31",  # reports cover 2000–2100 (storage.reports)
        "/api/v1/reports/summary?from=2099-12-01&to=2099-12-31",
        "/api/v1/ratings?since=1901-01-01",
        "/api/v1/dossiers?received_from=1901-01-01&received_to=2099-12-31T23:59:59",
    ):
        resp = await client.get(path, headers=headers)
        assert resp.status == 200, (path, await resp.text())


async def test_csv_import_with_edge_dates_reports_the_rows(client: Any, api_key: Any, two_procedures: Any) -> None:
    proc = two_procedures[0].id
    body = (
        "procedure_id,applicant_name,channel,received_at,due_at\n"
        f"{proc},Lê Văn A,online,0001-01-01,\n"
        f"{proc},Lê Văn B,online,2026-01-05T09:00:00,9999-12-31T23:59:59-12:00\n"
    )
    headers = {**(await api_key("admin")), "Content-Type": "text/csv"}
    resp = await client.post("/api/v1/dossiers/import", data=body.encode(), headers=headers)
    assert resp.status == 200, await resp.text()
    report = await resp.json()
    assert [r["line"] for r in report["rejected"]] == [2, 3]
    assert all("supported dates" in r["reason"] for r in report["rejected"])


async def test_the_dashboard_and_its_exports_refuse_edge_dates(
    aiohttp_client: Any, make_settings: Any, api_key: Any
) -> None:
    from bot.app import create_app
    from bot.dashboard import COOKIE

    dash = await aiohttp_client(create_app(make_settings(session_secret="edge-dates-secret-0123456789")))
    from bot import keys
    from storage.apikeys import create_api_key

    async with dash.app[keys.SESSIONMAKER].begin() as session:
        _row, secret = await create_api_key(session, name="dash", role="admin")
    resp = await dash.post("/dashboard/login", data={"api_key": secret}, allow_redirects=False)
    assert resp.status == 303
    cookie = {"Cookie": f"{COOKIE}={resp.cookies[COOKIE].value}"}
    dash.session.cookie_jar.clear()
    resp = await dash.get("/dashboard?from=9999-12-31", headers=cookie)
    assert resp.status == 400
    assert "2099-12-31" in await resp.text()
    for path in (
        "/dashboard/export/summary.xlsx?from=9999-12-31",
        "/dashboard/export/summary.txt?from=0001-01-01&to=0001-01-02",
        "/dashboard/export/dossiers.csv?received_from=0001-01-01",
    ):
        resp = await dash.get(path, headers=cookie)
        assert resp.status == 400, (path, await resp.text())
        assert (await resp.json())["error"]["code"] == "invalid_date"


@pytest.mark.parametrize(
    "part_headers",
    [
        b"no colon here",
        b"Content-Disposition form-data; name=file",
        b'Content-Disposition: form-data; name="file"\r\nx',
    ],
)
async def test_a_multipart_header_line_without_colon_is_422(client: Any, api_key: Any, part_headers: bytes) -> None:
    """aiohttp's InvalidHeader escaped the import route: a 500."""
    body = b"--b\r\n" + part_headers + b"\r\n\r\ncode,procedure_id\r\n--b--\r\n"
    headers = {**(await api_key("admin")), "Content-Type": "multipart/form-data; boundary=b"}
    resp = await client.post("/api/v1/dossiers/import", data=body, headers=headers)
    assert resp.status == 422, await resp.text()
    assert (await resp.json())["error"]["code"] == "invalid_csv"


@pytest.mark.parametrize(
    "code",
    [
        "<img src=x onerror=alert(1)>",
        "=cmd|' /C calc'!A0",
        "AB\r\nSet-Cookie: x=1",
        "../../etc/passwd",
        "A B",
        "-AB",
        "AB.",
        "A..B",
        "Ông-01",
    ],
)
async def test_dossier_codes_with_other_characters_are_a_400(
    client: Any, api_key: Any, two_procedures: Any, code: str
) -> None:
    """Any 1–40 characters were accepted as a code, markup and formulas included."""
    body = {**dossier_body(two_procedures[0].id), "code": code}
    resp = await client.post("/api/v1/dossiers", json=body, headers=await api_key("admin"))
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["error"]["code"] == "invalid_code"


@pytest.mark.parametrize("code", ["TTHCC-261123-0001", "000.12.34.H56-261123-0001", "12/2026/HS_A", "A"])
async def test_dossier_codes_real_systems_use_are_accepted(
    client: Any, api_key: Any, two_procedures: Any, code: str
) -> None:
    body = {**dossier_body(two_procedures[0].id), "code": code}
    resp = await client.post("/api/v1/dossiers", json=body, headers=await api_key("admin"))
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["code"] == code


async def test_an_officer_cannot_file_another_departments_procedure_under_their_own(
    client: Any, api_key: Any, two_procedures: Any
) -> None:
    mine, theirs = two_procedures
    officer = await api_key("officer", mine.department)
    body = {**dossier_body(theirs.id), "department_id": mine.department}
    resp = await client.post("/api/v1/dossiers", json=body, headers=officer)
    assert resp.status == 403, await resp.text()
    assert (await resp.json())["error"]["code"] == "wrong_department"
    csv_body = f"procedure_id,applicant_name,channel,department_id\n{theirs.id},Lê Văn C,online,{mine.department}\n"
    resp = await client.post(
        "/api/v1/dossiers/import", data=csv_body.encode(), headers={**officer, "Content-Type": "text/csv"}
    )
    assert resp.status == 200
    assert [r["line"] for r in (await resp.json())["rejected"]] == [2]


async def test_another_departments_code_answers_like_a_missing_one(
    client: Any, api_key: Any, two_procedures: Any
) -> None:
    """403 for an existing code of another department, 404 for a missing one: codes could be probed."""
    mine, theirs = two_procedures
    resp = await client.post("/api/v1/dossiers", json=dossier_body(theirs.id), headers=await api_key("admin"))
    existing = (await resp.json())["code"]
    officer = await api_key("officer", mine.department)
    missing = existing[:-1] + ("9" if existing[-1] != "9" else "8")
    answers = []
    for code in (existing, missing):
        for method, path in (
            ("GET", f"/api/v1/dossiers/{code}"),
            ("PATCH", f"/api/v1/dossiers/{code}"),
            ("GET", f"/api/v1/dossiers/{code}/receipt.pdf"),
            ("POST", f"/api/v1/dossiers/{code}/subscribe-links"),
        ):
            resp = await client.request(method, path, json={"status": "in_progress"}, headers=officer)
            body = await resp.json()
            answers.append((method, resp.status, body["error"]["code"], body["error"]["message"].replace(code, "…")))
    assert answers[:4] == answers[4:]
    assert {a[1] for a in answers} == {404}


async def test_no_server_header_names_the_software(client: Any, api_key: Any) -> None:
    """`Server: Python/3.11 aiohttp/3.x` told an attacker which versions to look up."""
    for path, headers in (("/healthz", {}), ("/api/v1/departments", await api_key("admin")), ("/nope", {})):
        resp = await client.get(path, headers=headers)
        assert "Server" not in resp.headers, (path, resp.headers.get("Server"))
