"""The deployment files agree with the code: settings they set exist, commands they run parse, replicas match."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import create_parser
from bot.settings import field_names

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return data


def _replicas(compose: dict[str, Any]) -> dict[str, Any]:
    return {name: svc for name, svc in compose["services"].items() if name.startswith("motcua-")}


def _parses(argv: list[str]) -> None:
    """`motcua ARGS` is a real subcommand with valid arguments (argparse exits on anything else)."""
    assert argv[0].endswith("motcua"), argv
    args = create_parser().parse_args(argv[1:])
    assert callable(args.func)


def _env_file_keys(path: Path) -> set[str]:
    keys = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip().lstrip("#").strip()
        match = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if match:
            keys.add(match.group(1))
    return keys


def test_compose_topology() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "nginx"} <= set(services)
    replicas = _replicas(compose)
    assert len(replicas) >= 2
    for name, svc in replicas.items():
        env = svc["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+asyncpg://"), name
        assert env["REDIS_URL"].startswith("redis://"), name
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
    assert "443:443" in services["nginx"]["ports"]


def test_compose_environment_names_are_settings() -> None:
    known = set(field_names())
    for name, svc in _compose()["services"].items():
        if name.startswith("motcua-") or name == "migrate":
            assert set(svc["environment"]) <= known, name


def test_env_example_names_are_settings() -> None:
    keys = _env_file_keys(DEPLOY / "motcua.env.example")
    assert {"TELEGRAM_WEBHOOK_SECRET", "ZALO_OA_SECRET_KEY", "SESSION_SECRET", "PUBLIC_BASE_URL"} <= keys
    assert keys <= set(field_names())


def test_commands_the_deployment_runs_exist() -> None:
    compose = _compose()
    migrate = compose["services"]["migrate"]["command"]
    assert migrate[:2] == ["sh", "-c"]
    for part in migrate[2].split("&&"):
        _parses(shlex.split(part))
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert cmd is not None
    _parses(yaml.safe_load(cmd.group(1)))
    for unit in (DEPLOY / "systemd").glob("*.service"):
        for line in unit.read_text(encoding="utf-8").splitlines():
            if line.startswith(("ExecStart=", "ExecStartPre=")):
                argv = shlex.split(line.split("=", 1)[1].replace("%i", "8081"))
                _parses(argv)


def test_image_runs_unprivileged_with_healthcheck() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    users = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert users and users[-1] not in {"root", "0"}
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", dockerfile, re.M)
    assert "pip install --constraint constraints.txt ." in dockerfile


@pytest.mark.parametrize("unit", ["motcua@.service", "motcua-migrate.service", "motcua.target"])
def test_systemd_units_are_wired(unit: str) -> None:
    text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
    sections = re.findall(r"^\[(\w+)\]$", text, re.M)
    assert sections[0] == "Unit" and "Install" in sections
    if unit == "motcua@.service":
        # Restarting the migration must not restart every replica at once: Wants=, never Requires=/BindsTo=.
        assert not re.search(r"^(Requires|BindsTo|Requisite)=.*motcua-migrate", text, re.M)
        assert re.search(r"^Wants=.*motcua-migrate\.service", text, re.M)
        assert "After=" in text and "motcua-migrate.service" in text.split("After=")[1].splitlines()[0]
        # …and a replica whose schema is behind refuses to start.
        assert "ExecStartPre=/opt/motcua/.venv/bin/motcua db check" in text
        assert "User=motcua" in text
    if unit == "motcua-migrate.service":
        assert "Type=oneshot" in text and "RemainAfterExit=yes" in text


def test_nginx_upstream_lists_every_replica() -> None:
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert conf.count("{") == conf.count("}")
    upstream = re.search(r"upstream motcua \{(.*?)\}", conf, re.S)
    assert upstream is not None
    servers = set(re.findall(r"^\s*server (\S+?):8080", upstream.group(1), re.M))
    assert servers == set(_replicas(_compose()))
    assert "ssl_certificate " in conf and "ssl_certificate_key " in conf
    assert re.search(r"location /webhooks/ \{[^}]*non_idempotent", conf)
