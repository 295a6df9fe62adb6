"""The one JSON body parser: bounded nesting, never a RecursionError."""

from __future__ import annotations

import pytest

from bot.http import MAX_JSON_DEPTH, loads_json


def nested(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


def test_ordinary_documents_parse() -> None:
    assert loads_json(b'{"update_id": 1, "message": {"chat": {"id": 5}, "entities": [{"type": "url"}]}}') == {
        "update_id": 1,
        "message": {"chat": {"id": 5}, "entities": [{"type": "url"}]},
    }
    assert loads_json(nested(MAX_JSON_DEPTH)) is not None


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 5000, 100_000])
def test_too_deep_is_a_value_error(depth: int) -> None:
    with pytest.raises(ValueError, match="nested deeper"):
        loads_json(nested(depth))


def test_objects_count_as_levels_too() -> None:
    body = '{"a":' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1)
    with pytest.raises(ValueError, match="nested deeper"):
        loads_json(body)


def test_wide_but_shallow_is_fine() -> None:
    assert len(loads_json("[" + ",".join(["[1]"] * 10_000) + "]")) == 10_000
