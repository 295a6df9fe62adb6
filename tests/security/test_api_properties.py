"""Property tests: arbitrary JSON, bytes and query strings to the dossier API never make a 500 or hang.

Every answer is a JSON error with a 4xx status (or a success); each example has a deadline (see profile.py).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import example, given
from hypothesis import strategies as st

from tests.security.profile import PROPERTY_SETTINGS

# Text as hostile as it gets: any code point except surrogates (not encodable), SQL/HTML fragments, huge.
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=300),
    st.sampled_from(
        [
            "'; DROP TABLE dossiers; --",
            "<script>alert(1)</script>",
            "\x00",
            "../../etc/passwd",
            "%00%ff",
            "TTHCC-260302-0001",
            "ﷺ𒐫👨‍👩‍👧‍👦",
            "Nguyễn Văn A" * 50,
            "9" * 400,
        ]
    ),
)
# Shapes an outside attack found (each a 500 once): containers nested far deeper than any real body, and dates
# at the calendar's edges, bare or with the extreme offsets, which overflow `datetime` on conversion.
NESTED_JSON = st.integers(min_value=33, max_value=3000).flatmap(
    lambda depth: st.sampled_from(["[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth])
)
EDGE_DATE = st.one_of(
    st.sampled_from(["0001-01-01", "9999-12-31", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]),
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(TEXT, children, max_size=5),
    max_leaves=20,
)
FIELDS = [
    "procedure_id",
    "applicant",
    "channel",
    "code",
    "received_at",
    "department_id",
    "return_method",
    "fees",
    "documents",
]
CHANGE_FIELDS = ["status", "note", "new_due_at", "supplement_deadline", "amount", "reason"]
# Dossier-shaped bodies with arbitrary values: these get past "unknown field" and reach the domain.
DOSSIER_LIKE = st.fixed_dictionaries(
    {},
    optional={
        **{name: JSON for name in FIELDS},
        "applicant": st.fixed_dictionaries({}, optional={"name": JSON, "phone": JSON, "id_number": JSON}) | JSON,
        "channel": st.sampled_from(["direct", "online", "postal"]) | JSON,
        "received_at": st.datetimes().map(lambda d: d.isoformat()) | EDGE_DATE | TEXT,
    },
)
CHANGE_LIKE = st.fixed_dictionaries(
    {},
    optional={
        **{name: JSON for name in CHANGE_FIELDS},
        "new_due_at": EDGE_DATE | JSON,
        "supplement_deadline": EDGE_DATE | JSON,
    },
)


async def check(resp: Any) -> None:
    """Not a server error; an error is our JSON error shape, never a stack trace."""
    assert resp.status < 500, await resp.text()
    if resp.status >= 400:
        body = await resp.json()
        assert set(body["error"]) >= {"code", "message"}
        assert "Traceback" not in body["error"]["message"]


@PROPERTY_SETTINGS
@given(body=st.one_of(JSON, DOSSIER_LIKE))
async def test_create_dossier_with_any_json(client: Any, api_key: Any, body: Any) -> None:
    resp = await client.post("/api/v1/dossiers", data=json.dumps(body), headers=await api_key("admin"))
    await check(resp)


@PROPERTY_SETTINGS
@given(
    raw=st.one_of(st.binary(max_size=2000), NESTED_JSON.map(str.encode)),
    content_type=st.sampled_from(["application/json", "text/plain", "", "x/y"]),
)
async def test_create_dossier_with_any_bytes(client: Any, api_key: Any, raw: bytes, content_type: str) -> None:
    headers = {**(await api_key("integration")), "Content-Type": content_type}
    resp = await client.post("/api/v1/dossiers", data=raw, headers=headers)
    await check(resp)


@PROPERTY_SETTINGS
@given(code=TEXT, body=st.one_of(JSON, CHANGE_LIKE), key=st.none() | TEXT)
async def test_change_dossier_with_any_json(client: Any, api_key: Any, code: str, body: Any, key: str | None) -> None:
    headers = await api_key("admin")
    if key is not None and key.isprintable() and key.isascii():
        headers["Idempotency-Key"] = key
    resp = await client.patch(f"/api/v1/dossiers/{quote(code, safe='')}", data=json.dumps(body), headers=headers)
    await check(resp)


@PROPERTY_SETTINGS
@given(body=CHANGE_LIKE)
async def test_change_an_existing_dossier_with_any_fields(
    client: Any, api_key: Any, two_procedures: Any, body: Any
) -> None:
    headers = await api_key("admin")
    new = {"procedure_id": two_procedures[0].id, "applicant": {"name": "Hà Văn Sơn"}, "channel": "direct"}
    resp = await client.post("/api/v1/dossiers", json=new, headers=headers)
    assert resp.status == 201
    code = (await resp.json())["code"]
    resp = await client.patch(f"/api/v1/dossiers/{code}", data=json.dumps(body), headers=headers)
    await check(resp)


@PROPERTY_SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "status",
                "department",
                "procedure",
                "channel",
                "due_before",
                "due_after",
                "received_from",
                "received_to",
                "overdue",
                "limit",
                "offset",
                "x",
            ]
        ),
        TEXT | EDGE_DATE,
        max_size=6,
    )
)
async def test_list_dossiers_with_any_query(client: Any, api_key: Any, params: dict[str, str]) -> None:
    query = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in params.items())
    resp = await client.get(f"/api/v1/dossiers?{query}", headers=await api_key("officer", "so-tu-phap"))
    await check(resp)


CSV_CELL = st.one_of(
    TEXT, EDGE_DATE, st.sampled_from(["direct", "online", "2026-03-02", "2026-13-45T25:61", "=1+1", '"'])
)


@PROPERTY_SETTINGS
@given(
    header=st.lists(
        st.sampled_from(
            [
                "code",
                "procedure_id",
                "applicant_name",
                "channel",
                "received_at",
                "due_at",
                "status",
                "applicant_phone",
                "department_id",
                "zzz",
            ]
        ),
        min_size=1,
        max_size=8,
    ),
    rows=st.lists(st.lists(CSV_CELL, max_size=9), max_size=8),
    raw_tail=st.binary(max_size=100),
)
async def test_import_any_csv(
    client: Any, api_key: Any, header: list[str], rows: list[list[str]], raw_tail: bytes
) -> None:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    body = out.getvalue().encode("utf-8", "surrogatepass") + raw_tail
    headers = {**(await api_key("admin")), "Content-Type": "text/csv"}
    resp = await client.post("/api/v1/dossiers/import", data=body, headers=headers)
    await check(resp)
    if resp.status == 200:
        report = await resp.json()
        # Every bad row is reported with its line number and a reason; nothing is counted twice.
        assert (
            report["accepted"] + report["unchanged"] + len(report["rejected"]) <= len(rows) + raw_tail.count(b"\n") + 1
        )
        assert all(r["line"] >= 2 and r["reason"] for r in report["rejected"])


@PROPERTY_SETTINGS
@given(body=NESTED_JSON, target=st.sampled_from(["dossiers", "change", "recipients"]))
async def test_deeply_nested_json_anywhere(client: Any, api_key: Any, body: str, target: str) -> None:
    headers = {**(await api_key("admin")), "Content-Type": "application/json"}
    method, path = {
        "dossiers": ("POST", "/api/v1/dossiers"),
        "change": ("PATCH", "/api/v1/dossiers/TTHCC-261123-0001"),
        "recipients": ("POST", "/api/v1/recipients"),
    }[target]
    resp = await client.request(method, path, data=body, headers=headers)
    await check(resp)
    assert resp.status == 400


REPORT_PATHS = [
    "/api/v1/reports/summary",
    "/api/v1/reports/summary.csv",
    "/api/v1/reports/summary.xlsx",
    "/api/v1/reports/summary.txt",
    "/api/v1/reports/trend",
]


@PROPERTY_SETTINGS
@given(
    path=st.sampled_from(REPORT_PATHS),
    params=st.one_of(
        st.fixed_dictionaries({"from": EDGE_DATE}, optional={"to": EDGE_DATE | TEXT}),
        st.fixed_dictionaries({"to": EDGE_DATE}),
        st.dictionaries(st.sampled_from(["from", "to", "department"]), TEXT, max_size=3),
    ),
)
@example(path="/api/v1/reports/summary", params={"from": "9999-12-31"})
@example(path="/api/v1/reports/trend", params={"from": "0001-01-01", "to": "9999-12-31"})
async def test_reports_with_any_period(client: Any, api_key: Any, path: str, params: dict[str, str]) -> None:
    query = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in params.items())
    resp = await client.get(f"{path}?{query}", headers=await api_key("admin"))
    await check(resp)


@PROPERTY_SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(["since", "until", "department", "level", "limit"]), EDGE_DATE | TEXT, max_size=4
    )
)
async def test_ratings_with_any_query(client: Any, api_key: Any, params: dict[str, str]) -> None:
    query = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in params.items())
    resp = await client.get(f"/api/v1/ratings?{query}", headers=await api_key("admin"))
    await check(resp)


HEADER_LINE = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters=":"), max_size=60),
    st.sampled_from(
        [
            "Content-Disposition form-data; name=file",
            'Content-Disposition: form-data; name="file"',
            "Content-Type: text/csv",
            "Content-Transfer-Encoding: rot13",
            ": no name",
        ]
    ),
)


@PROPERTY_SETTINGS
@given(header_lines=st.lists(HEADER_LINE, max_size=4), payload=st.binary(max_size=200))
async def test_multipart_import_with_any_part_headers(
    client: Any, api_key: Any, header_lines: list[str], payload: bytes
) -> None:
    head = "".join(f"{line}\r\n" for line in header_lines).encode("utf-8")
    body = b"--b\r\n" + head + b"\r\n" + payload + b"\r\n--b--\r\n"
    headers = {**(await api_key("admin")), "Content-Type": "multipart/form-data; boundary=b"}
    resp = await client.post("/api/v1/dossiers/import", data=body, headers=headers)
    await check(resp)
