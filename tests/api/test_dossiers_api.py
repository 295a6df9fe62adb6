"""The dossier API over a real aiohttp server: happy paths, every error, roles and departments."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot import keys


def body(procedure_id: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "procedure_id": procedure_id,
        "applicant": {"name": "Nguyễn Thị Hoa", "phone": "0912 345 678", "id_number": "001190012345"},
        "channel": "online",
    }
    data.update(extra)
    return data


async def test_create_get_and_due_date(client: Any, api_key: Any, two_procedures: Any) -> None:
    proc, _ = two_procedures
    headers = await api_key("admin")
    resp = await client.post("/api/v1/dossiers", json=body(proc.id, received_at="2026-02-12T09:00:00"), headers=headers)
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert created["status"] == "received"
    assert created["department"] == proc.department
    assert created["code"].startswith("TTHCC-260212-")
    assert created["applicant"]["phone"] == "0912345678"
    # Appointment computed by the working-day calendar from the procedure's processing time.
    calendar = client.app[keys.CALENDAR]
    expected = calendar.due_at(datetime.fromisoformat("2026-02-12T09:00:00+07:00"), proc.processing_time.days)
    assert datetime.fromisoformat(created["due_at"]) == expected
    assert created["original_due_at"] == created["due_at"]

    typed = created["code"].lower().replace("-", " ")
    resp = await client.get(f"/api/v1/dossiers/{typed}", headers=headers)
    assert resp.status == 200
    got = await resp.json()
    assert got["code"] == created["code"]
    assert [e["to_status"] for e in got["events"]] == ["received"]


async def test_codes_are_sequential_and_unique(client: Any, api_key: Any, two_procedures: Any) -> None:
    proc, _ = two_procedures
    headers = await api_key("integration")
    codes = []
    for _ in range(3):
        resp = await client.post(
            "/api/v1/dossiers", json=body(proc.id, received_at="2026-03-09T08:00:00"), headers=headers
        )
        assert resp.status == 201
        codes.append((await resp.json())["code"])
    assert codes == ["TTHCC-260309-0001", "TTHCC-260309-0002", "TTHCC-260309-0003"]


async def test_explicit_code_and_duplicate(client: Any, api_key: Any, two_procedures: Any) -> None:
    proc, _ = two_procedures
    headers = await api_key("admin")
    resp = await client.post("/api/v1/dossiers", json=body(proc.id, code="H12.5-2026-000123"), headers=headers)
    assert resp.status == 201
    resp = await client.post("/api/v1/dossiers", json=body(proc.id, code="h12 5 2026 000123"), headers=headers)
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "duplicate_code"


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_json"),
        (b"", 400, "invalid_json"),
        (b'{"applicant": {"name": "A"}, "channel": "online"}', 400, "invalid_field"),
        (b'{"procedure_id": "x", "applicant": {"name": "A"}, "channel": "fax"}', 400, "invalid_field"),
        (b'{"procedure_id": "x", "applicant": {"name": "A"}, "channel": "online", "colour": 1}', 400, "invalid_field"),
        (b'{"procedure_id": 5, "applicant": "A", "channel": "online"}', 400, "invalid_field"),
        (
            b'{"procedure_id": "no-such-procedure", "applicant": {"name": "A"}, "channel": "online"}',
            422,
            "unknown_procedure",
        ),
    ],
)
async def test_create_bad_input(client: Any, api_key: Any, payload: bytes, status: int, code: str) -> None:
    headers = await api_key("admin")
    resp = await client.post("/api/v1/dossiers", data=payload, headers={**headers, "Content-Type": "application/json"})
    assert resp.status == status, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == code
    assert error["message"]
    assert "Traceback" not in await resp.text()


async def test_create_field_errors(client: Any, api_key: Any, two_procedures: Any) -> None:
    proc, _ = two_procedures
    headers = await api_key("admin")
    cases = [
        (body(proc.id, received_at="yesterday"), "invalid_date"),
        (body(proc.id, received_at="2098-01-01T00:00:00"), "invalid_received_at"),
        (body(proc.id, applicant={"name": "A", "phone": "12345"}), "invalid_phone"),
        (body(proc.id, applicant={"name": "A", "id_number": "12AB"}), "invalid_id_number"),
        (body(proc.id, department_id="so-khong-ton-tai"), "unknown_department"),
    ]
    for payload, code in cases:
        resp = await client.post("/api/v1/dossiers", json=payload, headers=headers)
        assert resp.status in (400, 422), await resp.text()
        assert (await resp.json())["error"]["code"] == code


async def test_oversized_body(client: Any, api_key: Any) -> None:
    headers = await api_key("admin")
    big = b'{"procedure_id": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    resp = await client.post(
        "/api/v1/dossiers", data=io.BytesIO(big), headers={**headers, "Content-Type": "application/json"}
    )
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "payload_too_large"


async def test_unknown_code_is_404(client: Any, api_key: Any) -> None:
    resp = await client.get("/api/v1/dossiers/NOPE-000000-0000", headers=await api_key("admin"))
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "dossier_not_found"


async def _create(client: Any, headers: dict[str, str], procedure_id: str, **extra: Any) -> dict[str, Any]:
    resp = await client.post("/api/v1/dossiers", json=body(procedure_id, **extra), headers=headers)
    assert resp.status == 201, await resp.text()
    result: dict[str, Any] = await resp.json()
    return result


async def test_status_changes_and_illegal_transition(client: Any, api_key: Any, two_procedures: Any) -> None:
    proc, _ = two_procedures
    headers = await api_key("admin")
    code = (await _create(client, headers, proc.id))["code"]
    for status in ("in_progress", "needs_supplement", "in_progress", "result_ready"):
        resp = await client.patch(f"/api/v1/dossiers/{code}", json={"status": status}, headers=headers)
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["status"] == status
    data = await (await client.get(f"/api/v1/dossiers/{code}", headers=headers)).json()
    assert data["resolved_at"] is not None
    resp = await client.patch(f"/api/v1/dossiers/{code}", json={"status": "in_progress"}, headers=headers)
    assert resp.status == 409
    error = (await resp.json())["error"]
    assert error["code"] == "illegal_transition"
    assert "Đã xử lý xong" in error["message"]
    resp = await client.patch(f"/api/v1/dossiers/{code}", json={"status": "returned"}, headers=headers)
    assert (await resp.json())["returned_at"] is not None
    resp = await client.patch(f"/api/v1/dossiers/{code}", json={"status": "teleported"}, headers=headers)
    assert resp.status == 422
    resp = await client.patch(f"/api/v1/dossiers/{code}", json={}, headers=headers)
    assert (await resp.json())["error"]["code"] == "nothing_to_change"


async def test_retried_change_changes_once(client: Any, api_key: Any, two_procedures: Any) -> None:
    proc, _ = two_procedures
    headers = await api_key("integration")
    code = (await _create(client, headers, proc.id))["code"]
    for _ in range(3):
        resp = await client.patch(
            f"/api/v1/dossiers/{code}", json={"status": "in_progress"}, headers={**headers, "Idempotency-Key": "k-1"}
        )
        assert resp.status == 200
    # Same status again without a key: a no-op, not an error, not a second event.
    resp = await client.patch(f"/api/v1/dossiers/{code}", json={"status": "in_progress"}, headers=headers)
    assert resp.status == 200
    assert (await resp.json())["changed"] is False
    events = (await (await client.get(f"/api/v1/dossiers/{code}", headers=headers)).json())["events"]
    assert [e["to_status"] for e in events] == ["received", "in_progress"]


async def test_postponement_keeps_original_due(client: Any, api_key: Any, two_procedures: Any) -> None:
    proc, _ = two_procedures
    headers = await api_key("admin")
    created = await _create(client, headers, proc.id)
    original = datetime.fromisoformat(created["due_at"])
    new_due = (original + timedelta(days=7)).isoformat()
    resp = await client.patch(
        f"/api/v1/dossiers/{created['code']}", json={"new_due_at": new_due, "note": "Chờ xác minh"}, headers=headers
    )
    assert resp.status == 200
    data = await resp.json()
    assert datetime.fromisoformat(data["due_at"]) == datetime.fromisoformat(new_due)
    assert datetime.fromisoformat(data["original_due_at"]) == original
    assert data["postponed"] is True
    resp = await client.patch(
        f"/api/v1/dossiers/{created['code']}", json={"new_due_at": created["received_at"]}, headers=headers
    )
    assert (await resp.json())["error"]["code"] == "invalid_new_due_at"


async def test_list_filters_and_pagination(client: Any, api_key: Any, two_procedures: Any) -> None:
    first, second = two_procedures
    headers = await api_key("admin")
    for _ in range(3):
        await _create(client, headers, first.id)
    await _create(client, headers, second.id)
    resp = await client.get(f"/api/v1/dossiers?department={first.department}&limit=2", headers=headers)
    page = await resp.json()
    assert page["total"] == 3 and len(page["items"]) == 2
    resp = await client.get(f"/api/v1/dossiers?department={first.department}&limit=2&offset=2", headers=headers)
    assert len((await resp.json())["items"]) == 1
    resp = await client.get("/api/v1/dossiers?status=received,in_progress", headers=headers)
    assert (await resp.json())["total"] == 4
    for bad in ("status=nope", "limit=0", "limit=abc", "due_before=soon", "channel=fax"):
        resp = await client.get(f"/api/v1/dossiers?{bad}", headers=headers)
        assert resp.status in (400, 422), bad


async def test_auth_errors(client: Any, api_key: Any) -> None:
    from storage.apikeys import revoke_api_key

    resp = await client.get("/api/v1/dossiers")
    assert resp.status == 401
    resp = await client.get("/api/v1/dossiers", headers={"Authorization": "Bearer mc_wrong_key"})
    assert resp.status == 401
    resp = await client.get("/api/v1/dossiers", headers={"Authorization": "Basic abc"})
    assert resp.status == 401
    headers = await api_key("admin")
    assert (await client.get("/api/v1/dossiers", headers=headers)).status == 200
    async with client.app[keys.SESSIONMAKER].begin() as session:
        from sqlalchemy import select

        from storage.models import ApiKey

        key_id = (await session.execute(select(ApiKey.id).order_by(ApiKey.id.desc()))).scalars().first()
        await revoke_api_key(session, key_id)
    resp = await client.get("/api/v1/dossiers", headers=headers)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "unauthorized"


async def test_officer_sees_and_changes_only_own_department(client: Any, api_key: Any, two_procedures: Any) -> None:
    mine, theirs = two_procedures
    admin = await api_key("admin")
    officer = await api_key("officer", mine.department)
    own = await _create(client, admin, mine.id)
    other = await _create(client, admin, theirs.id)

    assert (await client.get(f"/api/v1/dossiers/{own['code']}", headers=officer)).status == 200
    resp = await client.get(f"/api/v1/dossiers/{other['code']}", headers=officer)
    assert resp.status == 404  # as for a missing code: no probing which codes exist
    assert (await resp.json())["error"]["code"] == "dossier_not_found"
    resp = await client.patch(f"/api/v1/dossiers/{other['code']}", json={"status": "in_progress"}, headers=officer)
    assert resp.status == 404
    resp = await client.post("/api/v1/dossiers", json=body(theirs.id), headers=officer)
    assert resp.status == 403
    assert (await client.post("/api/v1/dossiers", json=body(mine.id), headers=officer)).status == 201

    listing = await (await client.get("/api/v1/dossiers", headers=officer)).json()
    assert {d["department"] for d in listing["items"]} == {mine.department}
    resp = await client.get(f"/api/v1/dossiers?department={theirs.department}", headers=officer)
    assert resp.status == 403


async def test_officer_key_needs_department(client: Any) -> None:
    from storage.apikeys import create_api_key
    from storage.errors import InvalidInput

    async with client.app[keys.SESSIONMAKER].begin() as session:
        with pytest.raises(InvalidInput):
            await create_api_key(session, name="x", role="officer")
        with pytest.raises(InvalidInput):
            await create_api_key(session, name="x", role="superuser")


async def test_openapi_matches_routes(client: Any) -> None:
    resp = await client.get("/api/v1/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routed = set()
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and path.startswith("/api/v1/") and path != "/api/v1/openapi.json" and route.method != "HEAD":
            routed.add((path, route.method))
    assert routed == documented


async def test_dossiers_expose_the_national_status_code(client: Any, api_key: Any, two_procedures: Any) -> None:
    proc, _ = two_procedures
    headers = await api_key("admin")
    resp = await client.post("/api/v1/dossiers", json=body(proc.id, received_at="2026-02-12T09:00:00"), headers=headers)
    created = await resp.json()
    assert created["status"] == "received"  # the API's English value is unchanged
    assert created["national_status_code"] == 2
    assert created["status_label"] == "Được tiếp nhận"
    resp = await client.get("/api/v1/dossiers", headers=headers)
    listed = await resp.json()
    items = listed.get("items", listed.get("dossiers", listed)) if isinstance(listed, dict) else listed
    assert all(item["national_status_code"] == 2 for item in items)
