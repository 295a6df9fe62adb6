"""The server-drawn SVG charts: well-formed, escaped, sensible axes, nothing divided by zero."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot.charts import Share, nice_ticks, share_chart, trend_chart
from storage.reports import MonthFigures

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (4, [0, 1, 2, 3, 4]),
        (13, [0, 5, 10, 15]),
        (77, [0, 20, 40, 60, 80]),
        (5399, [0, 2000, 4000, 6000]),
    ],
)
def test_axis_ticks_are_round_and_cover_the_peak(peak: int, ticks: list[int]) -> None:
    assert nice_ticks(peak) == ticks


def test_trend_bars_scale_to_the_axis() -> None:
    months = [MonthFigures("2025-08", 7, 3, 1), MonthFigures("2025-09", 13, 9, 4)]
    svg = ET.fromstring(str(trend_chart(months, width=400, height=200)))
    bars = [r for r in svg.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(bars) == 6
    heights = {r.find(f"{SVG}title").text: float(r.get("height", "0")) for r in bars}  # type: ignore[union-attr]
    # Axis 0–15 over 200 − 34 − 40 = 126 px: 13 received → 109.2 px, 4 late → 33.6 px.
    assert heights["09/25 — Tiếp nhận: 13"] == pytest.approx(109.2)
    assert heights["09/25 — Trễ hạn: 4"] == pytest.approx(33.6)
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert "08/25" in labels and "15" in labels


def test_empty_charts_are_still_drawn() -> None:
    ET.fromstring(str(trend_chart([])))
    ET.fromstring(str(trend_chart([MonthFigures("2025-01")])))
    ring = ET.fromstring(str(share_chart([Share("Trực tiếp", 0, "#000"), Share("Trực tuyến", 0, "#111")])))
    assert len(ring.findall(f"{SVG}circle")) == 1  # only the grey track
    assert [t.text for t in ring.iter(f"{SVG}text")][0] == "0"


def test_text_is_escaped() -> None:
    svg = str(share_chart([Share('<script>"x"&', 3, "#000")]))
    assert "<script>" not in svg
    tree = ET.fromstring(svg)
    titles = [t.text for t in tree.iter(f"{SVG}title")]
    assert titles == ['<script>"x"&: 3']
    assert tree.get("aria-label") == '<script>"x"&: 100%'
