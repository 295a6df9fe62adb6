"""Fixtures of the security suites (the shared ones — client, api_key, backends — are in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from bot import keys


@pytest.fixture
def two_procedures(client: Any) -> tuple[Any, Any]:
    """Two knowledge-base procedures of different departments, both with a processing time."""
    kb = client.app[keys.KB]
    first = next(p for p in kb.procedures if p.processing_time.days)
    second = next(p for p in kb.procedures if p.processing_time.days and p.department != first.department)
    return first, second
