"""Upgrades in a many-replica deployment: concurrent `motcua db upgrade` runs take turns on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set: PostgreSQL skipped")


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
def test_concurrent_db_upgrades_all_succeed(empty_database_url: str) -> None:
    """Three upgrades racing on an empty database (a migrate unit and replicas starting): none fails."""
    env = {**os.environ, "DATABASE_URL": empty_database_url, "REDIS_URL": "", "LOG_LEVEL": "WARNING"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "db", "upgrade"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(proc.wait(timeout=120), *proc.communicate()) for proc in procs]
    for code, out, err in results:
        assert code == 0, err[-2000:]
        assert out.startswith("schema at revision ")
    assert len({out for _code, out, _err in results}) == 1
