"""The `motcua` command line through its real entry point, on a real database."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from knowledge.loader import BUNDLED_PATH


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return tmp_path


def test_help_lists_the_commands(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "db", "demo", "import", "apikey", "kb", "ask"):
        assert command in out


@pytest.mark.usefixtures("env")
def test_a_wrong_setting_is_named_without_a_traceback(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "tám nghìn")
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1,nginx")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "configuration is not valid" in err and "Traceback" not in err
    assert "PORT: Input should be a valid integer" in err
    assert "TRUSTED_PROXIES: Value error, 'nginx' is not an IP address or network" in err


@pytest.mark.usefixtures("env")
def test_db_upgrade_demo_is_idempotent(capsys: Any) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "schema at revision" in capsys.readouterr().out
    assert main(["demo"]) == 0
    assert "demo: 200 dossiers created, 0 already there" in capsys.readouterr().out
    assert main(["demo"]) == 0
    assert "demo: 0 dossiers created, 200 already there" in capsys.readouterr().out


@pytest.mark.usefixtures("env")
def test_apikey_create_list_revoke(capsys: Any) -> None:
    assert main(["apikey", "create", "--role", "officer", "--department", "so-tu-phap", "--name", "Quầy Tư pháp"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    secret = lines[-1]
    assert secret.startswith("mc_") and len(secret) > 40
    assert main(["apikey", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Quầy Tư pháp" in listing and "officer" in listing and secret not in listing
    assert main(["apikey", "revoke", "1"]) == 0
    assert main(["apikey", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["apikey", "create", "--role", "officer", "--name", "no department"]) == 2
    assert "needs a department" in capsys.readouterr().err
    assert main(["apikey", "revoke", "99"]) == 2


def test_kb_sync_deactivates_removed_procedures(env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    kb_dir = env / "kb"
    shutil.copytree(BUNDLED_PATH, kb_dir)
    monkeypatch.setenv("KNOWLEDGE_BASE_PATH", str(kb_dir))
    assert main(["kb", "sync"]) == 0
    first = capsys.readouterr().out
    assert "procedures: +" in first
    removed = sorted((kb_dir / "procedures").glob("*.yaml"))[0]
    csv_file = env / "one.csv"
    csv_file.write_text(
        "code,procedure_id,applicant_name,channel,received_at\n"
        f"OLD-1,{removed.stem},Nguyễn An,direct,2026-03-02T08:00\n",
        encoding="utf-8",
    )
    assert main(["import", "dossiers", str(csv_file)]) == 0
    removed.unlink()
    assert main(["kb", "sync"]) == 0
    assert "procedures: +0 ~0 -1" in capsys.readouterr().out
    # The old dossier still points at the (now inactive) procedure.
    assert main(["import", "dossiers", str(csv_file)]) == 0
    assert "unchanged (already imported): 1" in capsys.readouterr().out
