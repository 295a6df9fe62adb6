"""Deployment hygiene: secrets stay out of git, compose refuses a missing database password, the image installs
pinned versions, the systemd units are sandboxed, and `motcua db check` guards a replica's start."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MAX_EXPOSURE = 4.5


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
@pytest.mark.parametrize(
    "path", ["deploy/motcua.env", "deploy/.env", "deploy/tls/privkey.pem", "deploy/tls/fullchain.pem"]
)
def test_deployment_secrets_are_ignored_by_git(path: str) -> None:
    done = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT)
    assert done.returncode == 0, f"{path} is not ignored"


def test_the_templates_are_not_ignored() -> None:
    done = subprocess.run(["git", "check-ignore", "-q", "--no-index", "deploy/motcua.env.example"], cwd=ROOT)
    assert done.returncode == 1


def test_compose_stops_without_a_database_password() -> None:
    """It fell back to `change-me`: a database reachable with a password anyone can read in the repository."""
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    assert "change-me" not in text and ":-" not in text.split("POSTGRES_PASSWORD", 1)[1].split("\n", 1)[0]
    uses = re.findall(r"\$\{POSTGRES_PASSWORD([^}]*)\}", text)
    assert len(uses) >= 2 and all(use.startswith(":?") for use in uses), uses


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run([docker, "compose", "version"], capture_output=True)
    return [docker, "compose"] if probe.returncode == 0 else None


def test_docker_compose_refuses_to_start_without_the_password() -> None:
    compose = _compose_command()
    if compose is None:
        pytest.skip("docker compose is not installed: the file itself is checked above")
    done = subprocess.run(
        [*compose, "-f", str(DEPLOY / "compose.yaml"), "config"],
        env={"PATH": "/usr/local/bin:/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "POSTGRES_PASSWORD" in done.stderr


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (DEPLOY / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_the_image_installs_pinned_versions_that_satisfy_the_ranges() -> None:
    """The image installed whatever was newest on the day of the build."""
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --constraint constraints.txt ." in dockerfile
    assert "!deploy/constraints.txt" in (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    pins = _constraints()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not pinned in deploy/constraints.txt: run make constraints"
        assert requirement.specifier.contains(pins[name], prereleases=True), (name, pins[name])


def _exposure(unit: Path, tmp_path: Path) -> float:
    copy = tmp_path / unit.name.replace("@.", "@8081.")
    copy.write_text(unit.read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(copy)], capture_output=True, text=True
    )
    found = re.search(r"Overall exposure level for \S+: ([\d.]+)", done.stdout + done.stderr)
    assert found is not None, done.stdout[-2000:] + done.stderr[-2000:]
    return float(found.group(1))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", ["motcua@.service", "motcua-migrate.service"])
def test_systemd_units_are_sandboxed(unit: str, tmp_path: Path) -> None:
    """`systemd-analyze security` scored the replica 7.7 EXPOSED."""
    assert _exposure(DEPLOY / "systemd" / unit, tmp_path) <= MAX_EXPOSURE


def test_db_check_guards_a_replicas_start(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    if database_url.startswith("sqlite"):
        monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}")
        assert main(["db", "check"]) == 1
        assert "run motcua db upgrade" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["db", "check"]) == 0
    assert "schema at head" in capsys.readouterr().out


def test_nginx_bounds_slow_clients_before_the_replicas() -> None:
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    for directive in ("proxy_request_buffering on;", "client_header_timeout", "client_body_timeout", "send_timeout"):
        assert directive in conf, directive
