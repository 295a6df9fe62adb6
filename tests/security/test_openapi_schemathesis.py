"""schemathesis against `/api/v1/openapi.json` of a running app with an admin key: no 500, responses match.

The CLI runs in a subprocess against the test's real aiohttp server (positive and negative data, the coverage,
fuzzing and stateful phases). Checks that judge the *data* rather than the service are left out:
`positive_data_acceptance` (a schema-valid but unknown procedure id is rightly a 422) and
`negative_data_rejection` (an empty optional query parameter is read as absent, as HTML forms send it).
`unsupported_method` is left out because `/dossiers/import` and `/dossiers/{code}` overlap in aiohttp's router
(GET /dossiers/import is the dossier coded "import"); the `Allow` header itself is tested in test_api_hostile.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from tests.security.profile import FULL, SCHEMATHESIS_EXAMPLES

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "missing_required_header",
        "ignored_auth",
    ]
)


async def run_schemathesis(base_url: str, token_header: str, tmp_path: Path) -> tuple[int, str]:
    """Run `st run` on the document; returns the exit code and the report."""
    st = Path(sys.executable).with_name("st")
    args = [
        str(st),
        "run",
        f"{base_url}/api/v1/openapi.json",
        "--header",
        token_header,
        "--checks",
        CHECKS,
        "--mode",
        "all",
        "--max-examples",
        str(SCHEMATHESIS_EXAMPLES),
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    if not FULL:
        args += ["--seed", "20261122"]
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"PATH": str(st.parent), "HOME": str(tmp_path), "SCHEMATHESIS_HOOKS": ""},
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode("utf-8", "replace")


async def seed_dossiers(client: Any, headers: dict[str, str], procedures: tuple[Any, Any]) -> None:
    """A few dossiers in several statuses, and an alert recipient, for the operations that read them."""
    for n, status in enumerate(["received", "in_progress", "needs_supplement", "result_ready"]):
        body = {
            "procedure_id": procedures[n % 2].id,
            "applicant": {"name": f"Trần Văn {n}", "phone": f"09123456{n:02d}"},
            "channel": ["direct", "online", "postal"][n % 3],
            "received_at": "2026-03-02T09:00:00",
        }
        resp = await client.post("/api/v1/dossiers", json=body, headers=headers)
        assert resp.status == 201, await resp.text()
        code = (await resp.json())["code"]
        if status == "received":
            continue
        for step in ["in_progress", status] if status != "in_progress" else [status]:
            resp = await client.patch(f"/api/v1/dossiers/{code}", json={"status": step}, headers=headers)
            assert resp.status == 200, await resp.text()
    recipient = {"department_id": procedures[0].department, "name": "Cán bộ A", "channel": "sms", "phone": "0987654321"}
    resp = await client.post("/api/v1/recipients", json=recipient, headers=headers)
    assert resp.status == 201, await resp.text()


async def test_api_conforms_to_openapi_document(client: Any, api_key: Any, two_procedures: Any, tmp_path: Path) -> None:
    headers = await api_key("admin")
    await seed_dossiers(client, headers, two_procedures)
    base_url = str(client.make_url("")).rstrip("/")
    code, report = await run_schemathesis(base_url, f"Authorization: {headers['Authorization']}", tmp_path)
    assert code == 0, report[-20000:]
    assert "No issues found" in report or "passed" in report, report[-5000:]
