"""CSV import over HTTP and the CLI: good rows land, bad rows are reported, re-importing changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.cli import main

HEADER = (
    "code,procedure_id,department_id,applicant_name,applicant_phone,channel,received_at,due_at,status,"
    "resolved_at,returned_at,return_method\n"
)


def sample(proc: Any) -> str:
    return (
        HEADER
        + "\n".join(
            [
                f"HS-0001,{proc.id},,Nguyễn Văn An,0912345678,direct,2026-03-02T08:30:00,,received,,,counter",
                f"HS-0002,{proc.id},,Trần Thị Bình,,online,2026-03-02T09:00:00+07:00,2026-03-05T17:00:00,returned,"
                "2026-03-04T10:00:00,2026-03-04T15:00:00,postal",
                f",{proc.id},,Lê Văn Cường,,postal,2026-03-03T10:00:00,,in_progress,,,counter",
                "HS-0004,no-such-procedure,,Phạm Dũng,,direct,2026-03-03T10:00:00,,received,,,counter",
                f"HS-0005,{proc.id},,,,direct,2026-03-03T10:00:00,,received,,,counter",
                f"HS-0006,{proc.id},,Võ Hà,,fax,2026-03-03T10:00:00,,received,,,counter",
                f"HS-0007,{proc.id},,Đỗ Lan,,direct,03/03/2026,,received,,,counter",
                f"HS-0008,{proc.id},,Hồ Mai,12345,direct,2026-03-03T10:00:00,,received,,,counter",
                f"HS-0009,{proc.id},,Ngô Nam,,direct,2026-03-03T10:00:00,,closed,,,counter",
                f"HS-0001,{proc.id},,Nguyễn Văn An,0912345678,direct,2026-03-02T08:30:00,,received,,,counter",
            ]
        )
        + "\n"
    )


async def test_import_over_http(client: Any, api_key: Any, two_procedures: Any) -> None:
    proc, _ = two_procedures
    headers = {**(await api_key("integration")), "Content-Type": "text/csv"}
    resp = await client.post("/api/v1/dossiers/import", data=sample(proc).encode(), headers=headers)
    assert resp.status == 200, await resp.text()
    report = await resp.json()
    assert report["accepted"] == 3
    assert report["unchanged"] == 1  # HS-0001 twice in the file
    rejected = {r["line"]: r["reason"] for r in report["rejected"]}
    assert set(rejected) == {5, 6, 7, 8, 9, 10}
    assert "no-such-procedure" in rejected[5]
    assert "applicant_name is required" in rejected[6]
    assert "channel" in rejected[7]
    assert "received_at" in rejected[8]
    assert "phone" in rejected[9]
    assert "status" in rejected[10]

    admin = await api_key("admin")
    returned = await (await client.get("/api/v1/dossiers/HS-0002", headers=admin)).json()
    assert returned["status"] == "returned"
    assert returned["return_method"] == "postal"
    assert returned["due_at"].startswith("2026-03-05T17:00:00")
    assert returned["resolved_at"].startswith("2026-03-04T10:00:00")
    # Bad rows were not half-written.
    assert (await client.get("/api/v1/dossiers/HS-0005", headers=admin)).status == 404

    again = await (await client.post("/api/v1/dossiers/import", data=sample(proc).encode(), headers=headers)).json()
    assert again["accepted"] == 0
    assert again["unchanged"] == 4
    total = (await (await client.get("/api/v1/dossiers", headers=admin)).json())["total"]
    assert total == 3


async def test_import_file_errors(client: Any, api_key: Any) -> None:
    headers = {**(await api_key("admin")), "Content-Type": "text/csv"}
    for payload, fragment in [
        (b"", "CSV"),
        (b"code,colour\nA,red\n", "Unknown columns"),
        (b"code,applicant_name\nA,B\n", "Missing required columns"),
        ("procedure_id,applicant_name,channel\nx,Nguyễn,direct\n".encode("utf-16"), "UTF-8"),
    ]:
        resp = await client.post("/api/v1/dossiers/import", data=payload, headers=headers)
        assert resp.status in (400, 422), await resp.text()
        assert fragment in (await resp.json())["error"]["message"]


async def test_officer_import_rejects_other_departments(client: Any, api_key: Any, two_procedures: Any) -> None:
    mine, theirs = two_procedures
    headers = {**(await api_key("officer", mine.department)), "Content-Type": "text/csv"}
    text = (
        "procedure_id,applicant_name,channel,received_at\n"
        f"{mine.id},Nguyễn An,direct,2026-03-02T08:00:00\n"
        f"{theirs.id},Trần Bình,direct,2026-03-02T08:00:00\n"
    )
    report = await (await client.post("/api/v1/dossiers/import", data=text.encode(), headers=headers)).json()
    assert report["accepted"] == 1
    assert report["rejected"][0]["line"] == 3


def test_import_cli(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from bot.settings import Settings
    from knowledge import load_knowledge_base

    proc = next(p for p in load_knowledge_base().procedures if p.processing_time.days)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    csv_file = tmp_path / "dossiers.csv"
    csv_file.write_text(sample(proc), encoding="utf-8")
    assert Settings().database_url == database_url
    assert main(["import", "dossiers", str(csv_file)]) == 1  # some rows rejected
    out = capsys.readouterr().out
    assert "accepted: 3" in out
    assert "line 5:" in out
    assert main(["import", "dossiers", str(csv_file)]) == 1
    assert "accepted: 0, unchanged (already imported): 4" in capsys.readouterr().out
