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

from bot import keys
from bot.cli.dossiers import DEMO_EXTRAS
from bot.demo import load_demo
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


async def test_api_conforms_to_openapi_document(client: Any, api_key: Any, tmp_path: Path) -> None:
    app = client.app
    await load_demo(app[keys.SESSIONMAKER], app[keys.DOSSIERS], app[keys.CALENDAR])
    for extra in DEMO_EXTRAS:
        await extra(app)
    headers = await api_key("admin")
    base_url = str(client.make_url("")).rstrip("/")
    code, report = await run_schemathesis(base_url, f"Authorization: {headers['Authorization']}", tmp_path)
    assert code == 0, report[-20000:]
    assert "No issues found" in report or "passed" in report, report[-5000:]
