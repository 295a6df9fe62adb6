"""Access to every `/api/v1` route: no key, a revoked key, the wrong role, the wrong department.

Routes are discovered from `app.router`, so a new route is covered the day it is added: it must be listed
in `ACCESS` (who may call it) and `REQUESTS` (how to call it), or these tests fail and say so. The policy is
written out here on purpose — a reviewer reads who can do what in one table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot import keys
from bot.settings import Settings
from storage.apikeys import revoke_api_key

ALL = frozenset({"admin", "officer", "integration"})
STAFF = frozenset({"admin", "officer"})
ADMIN = frozenset({"admin"})
PUBLIC = {"/api/v1/openapi.json"}

# (method, route) -> roles that may call it. Officers are further limited to their own department.
ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/api/v1/dossiers"): ALL,
    ("GET", "/api/v1/dossiers"): ALL,
    ("POST", "/api/v1/dossiers/import"): ALL,
    ("GET", "/api/v1/dossiers/{code}"): ALL,
    ("PATCH", "/api/v1/dossiers/{code}"): ALL,
    ("GET", "/api/v1/dossiers/{code}/receipt.pdf"): ALL,
    ("POST", "/api/v1/dossiers/{code}/subscribe-links"): ALL,
    ("GET", "/api/v1/departments"): ALL,
    ("GET", "/api/v1/procedures"): ALL,
    ("GET", "/api/v1/ratings"): ALL,
    ("GET", "/api/v1/outbox"): ADMIN,
    ("GET", "/api/v1/recipients"): STAFF,
    ("POST", "/api/v1/recipients"): STAFF,
    ("DELETE", "/api/v1/recipients/{id}"): STAFF,
    ("GET", "/api/v1/reports/summary"): ALL,
    ("GET", "/api/v1/reports/summary.{fmt}"): ALL,
    ("GET", "/api/v1/reports/trend"): ALL,
    ("GET", "/api/v1/exports/dossiers.{fmt}"): ALL,
    ("GET", "/api/v1/exports/overdue.{fmt}"): ALL,
}


@dataclass
class World:
    """Two departments, a dossier and an alert recipient in the first, keys of every kind."""

    dept_a: str
    dept_b: str
    procedure_a: str
    code_a: str
    recipient_a: int
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    path: str
    json: Any = None
    data: bytes | None = None
    content_type: str | None = None


# How to call each route against department A's data (an officer of B must be refused).
REQUESTS: dict[tuple[str, str], Callable[[World], Call]] = {
    ("POST", "/api/v1/dossiers"): lambda w: Call(
        "/api/v1/dossiers",
        json={
            "procedure_id": w.procedure_a,
            "applicant": {"name": "Phạm Thị Lan", "phone": "0987000111"},
            "channel": "direct",
            "department_id": w.dept_a,
        },
    ),
    ("GET", "/api/v1/dossiers"): lambda w: Call(f"/api/v1/dossiers?department={w.dept_a}"),
    ("POST", "/api/v1/dossiers/import"): lambda w: Call(
        "/api/v1/dossiers/import",
        data=(
            f"procedure_id,applicant_name,channel,department_id\n{w.procedure_a},Lý Văn Bảo,direct,{w.dept_a}\n"
        ).encode(),
        content_type="text/csv",
    ),
    ("GET", "/api/v1/dossiers/{code}"): lambda w: Call(f"/api/v1/dossiers/{w.code_a}"),
    ("PATCH", "/api/v1/dossiers/{code}"): lambda w: Call(f"/api/v1/dossiers/{w.code_a}", json={"status": "received"}),
    ("GET", "/api/v1/dossiers/{code}/receipt.pdf"): lambda w: Call(f"/api/v1/dossiers/{w.code_a}/receipt.pdf"),
    ("POST", "/api/v1/dossiers/{code}/subscribe-links"): lambda w: Call(f"/api/v1/dossiers/{w.code_a}/subscribe-links"),
    ("GET", "/api/v1/departments"): lambda w: Call("/api/v1/departments"),
    ("GET", "/api/v1/procedures"): lambda w: Call("/api/v1/procedures"),
    ("GET", "/api/v1/ratings"): lambda w: Call(f"/api/v1/ratings?department={w.dept_a}"),
    ("GET", "/api/v1/outbox"): lambda w: Call("/api/v1/outbox"),
    ("GET", "/api/v1/recipients"): lambda w: Call(f"/api/v1/recipients?department={w.dept_a}"),
    ("POST", "/api/v1/recipients"): lambda w: Call(
        "/api/v1/recipients",
        json={"department_id": w.dept_a, "name": "Cán bộ B", "channel": "sms", "phone": "0988777666"},
    ),
    ("DELETE", "/api/v1/recipients/{id}"): lambda w: Call(f"/api/v1/recipients/{w.recipient_a}"),
    ("GET", "/api/v1/reports/summary"): lambda w: Call(f"/api/v1/reports/summary?department={w.dept_a}"),
    ("GET", "/api/v1/reports/summary.{fmt}"): lambda w: Call(f"/api/v1/reports/summary.csv?department={w.dept_a}"),
    ("GET", "/api/v1/reports/trend"): lambda w: Call(f"/api/v1/reports/trend?department={w.dept_a}"),
    ("GET", "/api/v1/exports/dossiers.{fmt}"): lambda w: Call(f"/api/v1/exports/dossiers.csv?department={w.dept_a}"),
    ("GET", "/api/v1/exports/overdue.{fmt}"): lambda w: Call(f"/api/v1/exports/overdue.csv?department={w.dept_a}"),
}


def api_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, route) under /api/v1 that needs a key, from the router itself."""
    found = set()
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method in ("HEAD", "OPTIONS", "*"):
            continue
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", resource.canonical)
        if path.startswith("/api/v1/") and path not in PUBLIC:
            found.add((route.method, path))
    return sorted(found)


async def send(client: Any, method: str, call: Call, headers: dict[str, str]) -> Any:
    all_headers = dict(headers)
    if call.content_type:
        all_headers["Content-Type"] = call.content_type
    return await client.request(method, call.path, json=call.json, data=call.data, headers=all_headers)


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    # Hundreds of wrong keys from one client here: the limit on them has its own tests (test_auth_guard.py).
    return make_settings(auth_fail_limit=1_000_000)


@pytest.fixture
async def world(client: Any, api_key: Any) -> World:
    kb = client.app[keys.KB]
    proc_a = next(p for p in kb.procedures if p.processing_time.days)
    proc_b = next(p for p in kb.procedures if p.processing_time.days and p.department != proc_a.department)
    admin = await api_key("admin")
    body = {"procedure_id": proc_a.id, "applicant": {"name": "Đỗ Văn Hùng", "phone": "0912000333"}, "channel": "online"}
    resp = await client.post("/api/v1/dossiers", json=body, headers=admin)
    assert resp.status == 201
    code_a = (await resp.json())["code"]
    recipient = {"department_id": proc_a.department, "name": "Cán bộ A", "channel": "sms", "phone": "0987654321"}
    resp = await client.post("/api/v1/recipients", json=recipient, headers=admin)
    assert resp.status == 201
    w = World(proc_a.department, proc_b.department, proc_a.id, code_a, (await resp.json())["id"])
    w.headers = {
        "admin": admin,
        "integration": await api_key("integration"),
        "officer": await api_key("officer", proc_a.department),
        "officer_b": await api_key("officer", proc_b.department),
    }
    return w


async def test_every_route_is_in_the_access_policy(client: Any) -> None:
    routes = api_routes(client.app)
    missing = [r for r in routes if r not in ACCESS or r not in REQUESTS]
    assert not missing, f"new API routes: say who may call them in ACCESS and how in REQUESTS: {missing}"
    stale = [r for r in ACCESS if r not in routes]
    assert not stale, f"ACCESS lists routes that no longer exist: {stale}"


def _bad_headers(secret: str) -> list[dict[str, str]]:
    return [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {secret}"},
        {"Authorization": f"Bearer {secret}x"},
        {"Authorization": f"Bearer {secret[:-1]}"},
        {"Authorization": "Bearer mc_" + "a" * 5000},
        {"Authorization": "Bearer ' OR '1'='1"},
        {"X-Api-Key": secret},
    ]


async def test_no_key_or_a_wrong_key_is_401_everywhere(client: Any, world: World) -> None:
    secret = world.headers["admin"]["Authorization"].removeprefix("Bearer ")
    failures = []
    for method, route in api_routes(client.app):
        call = REQUESTS[(method, route)](world)
        for headers in _bad_headers(secret):
            resp = await send(client, method, call, headers)
            body = await resp.json()
            if resp.status != 401 or body["error"]["code"] != "unauthorized":
                failures.append((method, call.path, list(headers.values())[:1], resp.status))
    assert failures == []


async def test_revoked_key_is_401_everywhere(client: Any, world: World, api_key: Any) -> None:
    headers = await api_key("admin")
    resp = await client.get("/api/v1/departments", headers=headers)
    assert resp.status == 200
    async with client.app[keys.SESSIONMAKER].begin() as session:
        from sqlalchemy import select

        from storage.apikeys import hash_key
        from storage.models import ApiKey

        secret = headers["Authorization"].removeprefix("Bearer ")
        key_id = (await session.execute(select(ApiKey.id).where(ApiKey.key_hash == hash_key(secret)))).scalar_one()
        await revoke_api_key(session, key_id)
    failures = []
    for method, route in api_routes(client.app):
        resp = await send(client, method, REQUESTS[(method, route)](world), headers)
        if resp.status != 401:
            failures.append((method, route, resp.status))
    assert failures == []


async def test_wrong_role_is_403(client: Any, world: World) -> None:
    failures = []
    for method, route in api_routes(client.app):
        for role in sorted(ALL - ACCESS[(method, route)]):
            resp = await send(client, method, REQUESTS[(method, route)](world), world.headers[role])
            body = await resp.json()
            if resp.status != 403 or body["error"]["code"] != "wrong_role":
                failures.append((method, route, role, resp.status))
    assert failures == []


async def test_allowed_roles_get_through(client: Any, world: World) -> None:
    """The same calls with a role that may make them are not refused (the policy is not just 'deny all')."""
    failures = []
    for method, route in api_routes(client.app):
        for role in sorted(ACCESS[(method, route)]):
            resp = await send(client, method, REQUESTS[(method, route)](world), world.headers[role])
            if resp.status in (401, 403) or resp.status >= 500:
                failures.append((method, route, role, resp.status, await resp.text()))
    assert failures == []


async def test_officer_of_another_department_is_refused(client: Any, world: World) -> None:
    """An officer of B asking for A's data: 403, or for one of A's dossiers 404 exactly as for a missing code."""
    failures = []
    for method, route in api_routes(client.app):
        if "officer" not in ACCESS[(method, route)] or route in ("/api/v1/departments", "/api/v1/procedures"):
            continue
        if (method, route) == ("POST", "/api/v1/dossiers/import"):
            continue  # per-row refusal: tested below
        resp = await send(client, method, REQUESTS[(method, route)](world), world.headers["officer_b"])
        body = await resp.json() if resp.content_type == "application/json" else {}
        code = body.get("error", {}).get("code", "")
        if "{code}" in route:
            if not (resp.status == 404 and code == "dossier_not_found"):
                failures.append((method, route, resp.status, code))
        elif not ((resp.status == 403 and code == "wrong_department") or resp.status == 404):
            failures.append((method, route, resp.status, code))
    assert failures == []


async def test_officer_import_into_another_department_is_refused_per_row(client: Any, world: World) -> None:
    call = REQUESTS[("POST", "/api/v1/dossiers/import")](world)
    resp = await send(client, "POST", call, world.headers["officer_b"])
    assert resp.status == 200
    report = await resp.json()
    assert report["accepted"] == 0
    assert len(report["rejected"]) == 1


async def test_officer_lists_only_their_department(client: Any, world: World) -> None:
    """Without a department filter an officer of B sees nothing of A's: lists, exports, reports."""
    officer_b = world.headers["officer_b"]
    resp = await client.get("/api/v1/dossiers", headers=officer_b)
    assert resp.status == 200
    assert all(item["department"] == world.dept_b for item in (await resp.json())["items"])
    for path in ("/api/v1/exports/dossiers.csv", "/api/v1/exports/overdue.csv", "/api/v1/reports/summary.csv"):
        resp = await client.get(path, headers=officer_b)
        assert resp.status == 200, path
        text = await resp.text()
        assert world.code_a not in text, path
        assert "Đỗ Văn Hùng" not in text, path
    resp = await client.get("/api/v1/reports/summary", headers=officer_b)
    assert resp.status == 200
    summary = await resp.json()
    assert {d["id"] for d in summary["departments"]} <= {world.dept_b}
    resp = await client.get("/api/v1/recipients", headers=officer_b)
    assert all(r["department_id"] == world.dept_b for r in (await resp.json())["items"])
