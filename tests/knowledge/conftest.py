"""Shared fixtures: the small fixture knowledge base and a matcher over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import CentreInfo, KnowledgeBase, Matcher, load_knowledge_base

FIXTURES = Path(__file__).parent / "fixtures"
KB_PATH = FIXTURES / "kb"
BAD_KB_PATH = FIXTURES / "kb_bad"

CENTRE = CentreInfo(
    name="Trung tâm Phục vụ hành chính công tỉnh Thử Nghiệm",
    address="số 1 Đường Trần Phú, phường Trung Tâm",
    hotline="0123 456 789",
    working_hours="Mon-Fri 07:30-11:30,13:30-17:00",
    portal_url="https://dichvucong.example.gov.vn",
)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge_base(KB_PATH)


@pytest.fixture(scope="session")
def matcher(kb: KnowledgeBase) -> Matcher:
    return Matcher(kb, CENTRE)
