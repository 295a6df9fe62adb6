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
