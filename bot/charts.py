"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, readable offline and on a phone.

Every function returns markup that is safe to embed (all text is escaped) as `markupsafe.Markup`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from bot.report_text import vi_int, vi_percent
from storage.reports import MonthFigures, percent

SERIES = (
    ("received", "Tiếp nhận", "#2563eb"),
    ("resolved", "Đã giải quyết", "#16a34a"),
    ("late", "Trễ hạn", "#dc2626"),
)


@dataclass(frozen=True)
class Share:
    label: str
    value: int
    colour: str


def nice_ticks(maximum: int, count: int = 5) -> list[int]:
    """Round axis ticks from 0 to at least `maximum` (1, 2 or 5 times a power of ten apart)."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(int(step), 1)
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


def _text(x: float, y: float, text: str, *, anchor: str = "middle", cls: str = "axis") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{cls}">{escape(text)}</text>'


def trend_chart(months: Sequence[MonthFigures], *, width: int = 720, height: int = 280) -> Markup:
    """Grouped bars per month: received, resolved and late dossiers."""
    left, right, top, bottom = 44, 8, 34, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([max(m.received, m.resolved, m.late) for m in months] or [0])
    ticks = nice_ticks(peak)
    scale = plot_h / ticks[-1]
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Biểu đồ theo tháng: tiếp nhận, đã giải quyết, trễ hạn" xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in ticks:
        y = top + plot_h - tick * scale
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(_text(left - 6, y + 4, vi_int(tick), anchor="end"))
    slot = plot_w / max(len(months), 1)
    bar = max(min(slot * 0.8 / len(SERIES), 28.0), 1.0)
    label_every = max(1, math.ceil(len(months) / 12))
    for i, month in enumerate(months):
        x0 = left + i * slot + (slot - bar * len(SERIES)) / 2
        for j, (key, label, colour) in enumerate(SERIES):
            value = getattr(month, key)
            h = value * scale
            x = x0 + j * bar
            y = top + plot_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(_month_label(month.month))} — {escape(label)}: {vi_int(value)}</title></rect>"
            )
        if i % label_every == 0:
            parts.append(_text(left + (i + 0.5) * slot, height - bottom + 16, _month_label(month.month)))
    legend_x = float(left)
    for _key, label, colour in SERIES:
        parts.append(f'<rect x="{legend_x:.1f}" y="8" width="12" height="12" fill="{colour}"/>')
        parts.append(_text(legend_x + 17, 18, label, anchor="start", cls="legend"))
        legend_x += 22 + 8.5 * len(label)
    parts.append("</svg>")
    return Markup("".join(parts))


def _month_label(month: str) -> str:
    year, _, mm = month.partition("-")
    return f"{mm}/{year[2:]}"


def share_chart(shares: Sequence[Share], *, size: int = 160) -> Markup:
    """A ring of shares (e.g. channels of receipt) with the total in the middle."""
    total = sum(s.value for s in shares)
    r = size / 2 - 14
    c = size / 2
    circumference = 2 * math.pi * r
    parts = [
        f'<svg class="ring" viewBox="0 0 {size} {size}" role="img" aria-label="'
        + escape("; ".join(f"{s.label}: {vi_percent(percent(s.value, total))}" for s in shares))
        + '" xmlns="http://www.w3.org/2000/svg">',
        f'<circle cx="{c}" cy="{c}" r="{r:.1f}" fill="none" stroke="#e5e7eb" stroke-width="22"/>',
    ]
    offset = 0.0
    for share in shares:
        if total == 0 or share.value == 0:
            continue
        length = circumference * share.value / total
        parts.append(
            f'<circle cx="{c}" cy="{c}" r="{r:.1f}" fill="none" stroke="{share.colour}" stroke-width="22" '
            f'stroke-dasharray="{length:.2f} {circumference - length:.2f}" stroke-dashoffset="{-offset:.2f}" '
            f'transform="rotate(-90 {c} {c})"><title>{escape(share.label)}: {vi_int(share.value)}</title></circle>'
        )
        offset += length
    parts.append(_text(c, c + 2, vi_int(total), cls="ring-total"))
    parts.append(_text(c, c + 20, "hồ sơ mới", cls="ring-sub"))
    parts.append("</svg>")
    return Markup("".join(parts))


__all__ = ["SERIES", "Share", "nice_ticks", "share_chart", "trend_chart"]
