"""`.env.example` documents every setting, each with a comment."""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import field_names

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    lines = text.splitlines()
    documented: dict[str, int] = {}
    for number, line in enumerate(lines):
        match = re.match(r"^#?\s?([A-Z][A-Z0-9_]+)=", line)
        if match:
            documented[match.group(1)] = number
    missing = sorted(set(field_names()) - set(documented))
    assert missing == [], f"settings missing from .env.example: {missing}"
    unknown = sorted(set(documented) - set(field_names()))
    assert unknown == [], f".env.example names settings that do not exist: {unknown}"
    for name, number in documented.items():
        assert lines[number - 1].startswith("#"), f"{name} has no comment above it"
