"""What a new user meets: `make run` says where it really listens, commands print their output without log
noise, `make test` says once why tests were skipped, the package metadata installs without warnings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MOTCUA = str(Path(sys.executable).with_name("motcua"))


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST_", "REDIS_URL", "DATABASE_URL"))}
    env.update({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}", "HOME": str(tmp_path)}, **extra)
    env.pop("LOG_LEVEL", None)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_apikey_create_prints_the_key_without_log_lines(tmp_path: Path) -> None:
    """INFO lines (per-process secrets, catalogue synchronised…) came before the key."""
    done = subprocess.run(
        [MOTCUA, "apikey", "create", "--role", "admin", "--name", "Quản trị"],
        cwd=tmp_path,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("mc_")
    assert " INFO " not in done.stderr, done.stderr


def test_log_level_still_asks_for_more(tmp_path: Path) -> None:
    done = subprocess.run(
        [MOTCUA, "apikey", "create", "--role", "admin", "--name", "Quản trị"],
        cwd=tmp_path,
        env={**clean_env(tmp_path), "LOG_LEVEL": "INFO"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and " INFO " in done.stderr


def test_serve_prints_the_port_it_really_listens_on_and_the_dashboard(tmp_path: Path) -> None:
    """`make run` printed 8080 whatever PORT said."""
    port = free_port()
    process = subprocess.Popen(
        [MOTCUA, "serve"],
        cwd=tmp_path,
        env=clean_env(tmp_path, PORT=str(port), SCHEDULER_ENABLED="false", WORKERS_ENABLED="false"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    with process.stdout:
        try:
            lines = [process.stdout.readline() for _ in range(2)]
        finally:
            process.terminate()
            process.wait(30)
    assert f"http://127.0.0.1:{port}" in lines[0] and ":8080" not in lines[0]
    assert f"http://127.0.0.1:{port}/dashboard" in lines[1] and "API key" in lines[1]


def test_makefile_no_longer_hard_codes_the_port() -> None:
    run = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "8080" not in run


def test_one_notice_says_why_tests_were_skipped(tmp_path: Path) -> None:
    """435 tests were skipped with no word of why unless one ran -rs."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "tests/storage/test_state.py"],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    notices = [line for line in done.stdout.splitlines() if "tests skipped because" in line]
    assert len(notices) == 1, done.stdout[-3000:]
    assert "TEST_REDIS_URL" in notices[0]


def test_the_licence_is_an_spdx_expression() -> None:
    """The table form (`license = {text = "MIT"}`) warns at install and stops being accepted in 2027."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"
    assert not any(c.startswith("License ::") for c in project["project"].get("classifiers", []))
