"""Server-rendered SVG charts that screen readers can read.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` referenced
by ``aria-labelledby``; the page shows the same numbers in a table beside it, so the
chart is never the only way to read them. No script, no inline style: presentation
attributes only, which the Content-Security-Policy allows.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from markupsafe import Markup, escape

from web.i18n import format_number

_ids = itertools.count(1)
BAR = "#1d4f91"
TEXT = "#1a1a1a"
GRID = "#767676"


def bar_chart(title: str, description: str, data: Sequence[tuple[str, float]]) -> Markup:
    """Horizontal bars, one per ``(label, value)``, largest scale = largest value."""
    n = next(_ids)
    label_w, bar_w, row_h, top = 190, 300, 26, 8
    height = top * 2 + row_h * max(1, len(data))
    width = label_w + bar_w + 70
    peak = max((v for _, v in data), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="chart{n}-t chart{n}-d" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart{n}-t">{escape(title)}</title>',
        f'<desc id="chart{n}-d">{escape(description)}</desc>',
        f'<line x1="{label_w}" y1="{top}" x2="{label_w}" y2="{height - top}" stroke="{GRID}"/>',
    ]
    for i, (label, value) in enumerate(data):
        y = top + i * row_h
        w = max(1, round(bar_w * value / peak)) if value else 0
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" fill="{TEXT}" '
            f'font-size="13">{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w}" height="{row_h - 8}" fill="{BAR}"/>'
            f'<text x="{label_w + w + 6}" y="{y + 17}" fill="{TEXT}" font-size="13">'
            f"{escape(format_number(value))}</text>"
        )
    if not data:
        parts.append(
            f'<text x="{label_w + 6}" y="{top + 17}" fill="{TEXT}" font-size="13">–</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(title: str, description: str, data: Sequence[tuple[str, float]]) -> Markup:
    """Vertical columns over time (``label`` is a period such as ``2026-03``)."""
    n = next(_ids)
    col_w, gap, plot_h, left, bottom, top = 34, 10, 160, 40, 40, 20
    width = left + (col_w + gap) * max(1, len(data)) + gap
    height = top + plot_h + bottom
    peak = max((v for _, v in data), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="chart{n}-t chart{n}-d" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart{n}-t">{escape(title)}</title>',
        f'<desc id="chart{n}-d">{escape(description)}</desc>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" stroke="{GRID}"/>',
        f'<text x="{left - 6}" y="{top + 5}" text-anchor="end" fill="{TEXT}" font-size="12">'
        f"{escape(format_number(peak))}</text>",
    ]
    for i, (label, value) in enumerate(data):
        x = left + gap + i * (col_w + gap)
        h = round(plot_h * value / peak)
        parts.append(
            f'<rect x="{x}" y="{top + plot_h - h}" width="{col_w}" height="{h}" fill="{BAR}"/>'
            f'<text x="{x + col_w / 2}" y="{top + plot_h + 16}" text-anchor="middle" '
            f'fill="{TEXT}" font-size="11">{escape(label[2:] if len(label) == 7 else label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
