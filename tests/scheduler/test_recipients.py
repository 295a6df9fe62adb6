"""Officer recipients through the HTTP API and the CLI, and `motcua jobs list|run` through the real entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.cli import main


async def test_an_admin_registers_and_lists_recipients(client: Any, api_key: Any) -> None:
    admin = await api_key("admin")
    resp = await client.post(
        "/api/v1/recipients",
        json={"department_id": "so-tu-phap", "name": "Trần Văn Bình", "channel": "sms", "phone": "+84 912 345 678"},
        headers=admin,
    )
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert created["phone"] == "0912345678" and created["channel"] == "sms" and created["active"] is True
    resp = await client.post(
        "/api/v1/recipients",
        json={"department_id": "cong-an", "name": "Lê Thị Cúc", "channel": "telegram", "telegram_chat_id": "-100123"},
        headers=admin,
    )
    assert resp.status == 201
    listing = await (await client.get("/api/v1/recipients", headers=admin)).json()
    assert [(r["department_id"], r["name"]) for r in listing["items"]] == [
        ("cong-an", "Lê Thị Cúc"),
        ("so-tu-phap", "Trần Văn Bình"),
    ]
    only = await (await client.get("/api/v1/recipients?department=cong-an", headers=admin)).json()
    assert [r["telegram_chat_id"] for r in only["items"]] == ["-100123"]


async def test_an_officer_manages_only_their_department(client: Any, api_key: Any) -> None:
    admin = await api_key("admin")
    await client.post(
        "/api/v1/recipients",
        json={"department_id": "cong-an", "name": "Khác", "channel": "zalo", "zalo_user_id": "8150000001"},
        headers=admin,
    )
    officer = await api_key("officer", "so-tu-phap")
    resp = await client.post(
        "/api/v1/recipients",
        json={"department_id": "so-tu-phap", "name": "Phó Giám đốc", "channel": "sms", "phone": "0987654321"},
        headers=officer,
    )
    assert resp.status == 201
    own_id = (await resp.json())["id"]
    resp = await client.post(
        "/api/v1/recipients",
        json={"department_id": "cong-an", "name": "X", "channel": "sms", "phone": "0987654321"},
        headers=officer,
    )
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "wrong_department"
    listing = await (await client.get("/api/v1/recipients", headers=officer)).json()
    assert [r["name"] for r in listing["items"]] == ["Phó Giám đốc"]
    resp = await client.get("/api/v1/recipients?department=cong-an", headers=officer)
    assert resp.status == 403
    other_id = (await (await client.get("/api/v1/recipients?department=cong-an", headers=admin)).json())["items"][0]
    assert (await client.delete(f"/api/v1/recipients/{other_id['id']}", headers=officer)).status == 404
    removed = await client.delete(f"/api/v1/recipients/{own_id}", headers=officer)
    assert removed.status == 200 and (await removed.json())["active"] is False
    assert (await (await client.get("/api/v1/recipients", headers=officer)).json())["items"] == []
    with_removed = await client.get("/api/v1/recipients?include_inactive=true", headers=officer)
    assert [r["active"] for r in (await with_removed.json())["items"]] == [False]


async def test_integration_keys_cannot_touch_recipients(client: Any, api_key: Any) -> None:
    integration = await api_key("integration")
    assert (await client.get("/api/v1/recipients", headers=integration)).status == 403
    assert (await client.get("/api/v1/recipients")).status == 401


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"department_id": "so-tu-phap", "name": "A", "channel": "sms"}, 422, "missing_address"),
        ({"department_id": "so-tu-phap", "name": "A", "channel": "sms", "phone": "12345"}, 422, "invalid_phone"),
        ({"department_id": "khong", "name": "A", "channel": "sms", "phone": "0912345678"}, 422, "unknown_department"),
        ({"department_id": "so-tu-phap", "name": "A", "channel": "fax", "phone": "0912345678"}, 400, "invalid_field"),
        (
            {"department_id": "so-tu-phap", "name": "A", "channel": "telegram", "telegram_chat_id": "@boss"},
            422,
            "invalid_telegram_chat_id",
        ),
        ({"department_id": "so-tu-phap", "name": "  ", "channel": "zalo", "zalo_user_id": "1"}, 422, "invalid_name"),
        ({"department_id": "so-tu-phap", "name": "A", "channel": "sms", "phone": "09", "x": 1}, 400, "invalid_field"),
    ],
)
async def test_bad_recipients_get_a_clear_error(
    client: Any, api_key: Any, payload: dict[str, Any], status: int, code: str
) -> None:
    resp = await client.post("/api/v1/recipients", json=payload, headers=await api_key("admin"))
    assert resp.status == status
    error = (await resp.json())["error"]
    assert error["message"]
    assert error["code"] == code


async def test_the_recipients_api_is_in_the_openapi_document(client: Any) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert set(document["paths"]["/api/v1/recipients"]) == {"get", "post"}
    assert "delete" in document["paths"]["/api/v1/recipients/{id}"]
    assert "Recipient" in document["components"]["schemas"]


# --- CLI ---------------------------------------------------------------------------------------------------


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("OFFICER_ALERT_SEND_EMPTY", "true")
    return tmp_path


SMS = ["--channel", "sms"]


@pytest.mark.usefixtures("env")
def test_recipients_add_list_and_remove_on_the_command_line(capsys: Any) -> None:
    assert main(["recipients", "list"]) == 0
    assert "no recipients" in capsys.readouterr().out
    code = main(
        ["recipients", "add", "--department", "so-tu-phap", "--name", "Trần Văn Bình", "--phone", "0912345678"]
        + ["--channel", "sms"]
    )
    assert code == 0
    assert "recipient #1 Trần Văn Bình (so-tu-phap) added: alerts by sms" in capsys.readouterr().out
    args = ["recipients", "add", "--department", "cong-an", "--name", "Lê Cúc", "--telegram-chat-id", "4242"]
    assert main([*args, "--channel", "telegram"]) == 0
    capsys.readouterr()
    assert main(["recipients", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        "2\tcong-an\tLê Cúc\ttelegram\t-\t4242\t-\tactive",
        "1\tso-tu-phap\tTrần Văn Bình\tsms\t0912345678\t-\t-\tactive",
    ]
    assert main(["recipients", "remove", "2"]) == 0
    assert main(["recipients", "list", "--department", "cong-an"]) == 0
    assert "no recipients" in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.usefixtures("env")
def test_recipients_add_refuses_a_channel_without_its_address(capsys: Any) -> None:
    assert main(["recipients", "add", "--department", "so-tu-phap", "--name", "A", "--channel", "zalo"]) == 2
    assert "channel zalo needs zalo_user_id" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["recipients", "add", "--department", "so-tu-phap", "--name", "A", "--channel", "fax"])


@pytest.mark.usefixtures("env")
def test_jobs_list_and_run_on_the_command_line(capsys: Any) -> None:
    assert main(["jobs", "list"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("\t")[0]: line.split("\t") for line in out.splitlines()[1:] if "\t" in line}
    assert set(rows) == {"officer-alerts", "citizen-reminders", "housekeeping"}
    assert rows["officer-alerts"][1] == "daily at 07:30"
    assert rows["housekeeping"][4] == "never run"
    assert main(["recipients", "add", "--department", "so-tu-phap", "--name", "B", "--phone", "0912345678"] + SMS) == 0
    capsys.readouterr()
    # By hand, the alert is computed even on a weekend; with nothing due it says so (OFFICER_ALERT_SEND_EMPTY).
    assert main(["jobs", "run", "officer-alerts"]) == 0
    out = capsys.readouterr().out
    assert "officer-alerts: " in out and "1 department alert(s), 1 new message(s) of 1" in out
    assert "không có hồ sơ đến hạn hoặc quá hạn." in out
    assert main(["jobs", "run", "officer-alerts"]) == 0
    assert "0 new message(s) of 1" in capsys.readouterr().out
    assert main(["jobs", "run", "housekeeping"]) == 0
    assert "housekeeping: deleted 0 expired subscription token(s)" in capsys.readouterr().out
    assert main(["jobs", "list"]) == 0
    rows = {line.split("\t")[0]: line.split("\t") for line in capsys.readouterr().out.splitlines()[1:] if "\t" in line}
    assert rows["officer-alerts"][4] == "ok" and rows["housekeeping"][4] == "ok"
    assert rows["citizen-reminders"][4] == "never run"
    with pytest.raises(SystemExit):
        main(["jobs", "run", "reports"])


@pytest.mark.usefixtures("env")
def test_the_demo_registers_officers_so_a_new_user_sees_real_alerts(capsys: Any) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "officer recipient(s) added" in out
    assert main(["jobs", "run", "officer-alerts"]) == 0
    out = capsys.readouterr().out
    assert "HS đến hạn hôm nay" in out and "HS quá hạn" in out
    assert main(["demo"]) == 0
    assert "officer recipient(s) added" not in capsys.readouterr().out
