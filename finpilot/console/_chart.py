"""Line charts drawn on the server as inline SVG: nothing is loaded from elsewhere.

Every label that reaches the SVG (series labels come from scraped targets) is escaped here, so
the result can be placed in a page as it is. Non-finite values and gaps longer than twice the
step break a line instead of being drawn through.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from markupsafe import Markup

PALETTE = ("#0b5cad", "#c0392b", "#1d7a3a", "#8e44ad", "#d35400", "#16a085", "#7f8c8d", "#b8860b")
"""Line colours, in the order lines are drawn (they repeat after eight lines)."""

Point = tuple[float, float]


@dataclass(frozen=True)
class ChartLine:
    """One series to draw: its label and its (time, value) points, oldest first."""

    label: str
    points: Sequence[Point]


@dataclass(frozen=True)
class ChartBand:
    """A shaded interval (a forecast's prediction interval), from ``lower`` up to ``upper``."""

    label: str
    lower: Sequence[Point]
    upper: Sequence[Point]


@dataclass(frozen=True)
class ChartMark:
    """A vertical marker at a time: a scaling action, an alert firing."""

    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    """What to draw and how big."""

    lines: Sequence[ChartLine]
    bands: Sequence[ChartBand] = field(default_factory=tuple)
    marks: Sequence[ChartMark] = field(default_factory=tuple)
    width: int = 640
    height: int = 180
    unit: str = ""


_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 8, 8, 20


def _finite(points: Sequence[Point]) -> list[Point]:
    return [(t, v) for t, v in points if math.isfinite(t) and math.isfinite(v)]


def _segments(points: Sequence[Point]) -> list[list[Point]]:
    """Split at non-finite values and at gaps longer than twice the usual step."""
    steps = sorted(b[0] - a[0] for a, b in itertools.pairwise(points) if b[0] > a[0])
    usual = steps[len(steps) // 2] if steps else 0.0
    out: list[list[Point]] = []
    current: list[Point] = []
    for t, v in points:
        broken = not (math.isfinite(t) and math.isfinite(v))
        gap = bool(current) and usual > 0 and t - current[-1][0] > 2 * usual
        if broken or gap:
            if current:
                out.append(current)
            current = []
        if not broken:
            current.append((t, v))
    if current:
        out.append(current)
    return out


def _tick(value: float, unit: str) -> str:
    if unit == "s" and 0 < abs(value) < 1:
        return f"{value * 1000:.3g} ms"
    return f"{value:.3g}{(' ' + unit) if unit else ''}"


def render_chart(chart: Chart) -> Markup:
    """The chart as one ``<svg>`` element (escaped, ready to place in a template)."""
    every = [p for line in chart.lines for p in _finite(line.points)]
    every += [p for band in chart.bands for p in _finite([*band.lower, *band.upper])]
    w, h = chart.width, chart.height
    if not every:
        # Safe: built only from integers and fixed text.
        return Markup(  # noqa: S704  # nosec B704 - fixed text and integers only
            f'<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="no data">'
            f'<text x="{w / 2:.0f}" y="{h / 2:.0f}" text-anchor="middle" class="legend">'
            "no data in this range</text></svg>"
        )
    t0 = min(t for t, _ in every)
    t1 = max([t for t, _ in every] + [m.at for m in chart.marks])
    low = min(0.0, *(v for _, v in every))
    high = max(v for _, v in every)
    if high <= low:
        high = low + 1.0
    plot_w, plot_h = w - _LEFT - _RIGHT, h - _TOP - _BOTTOM
    span = (t1 - t0) or 1.0

    def x(t: float) -> float:
        return _LEFT + (t - t0) / span * plot_w

    def y(v: float) -> float:
        return _TOP + plot_h - (v - low) / (high - low) * plot_h

    parts = [f'<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img">']
    for frac in (0.0, 0.5, 1.0):
        value = low + frac * (high - low)
        parts.append(
            f'<line x1="{_LEFT}" x2="{w - _RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#d9dee5"/>'
            f'<text x="{_LEFT - 4}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="10" fill="#5b6675">'
            f"{escape(_tick(value, chart.unit))}</text>"
        )
    for band in chart.bands:
        upper, lower = _finite(band.upper), _finite(band.lower)
        if upper and lower:
            outline = [*upper, *reversed(lower)]
            points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in outline)
            parts.append(
                f'<polygon class="band" points="{points}" fill="#0b5cad" fill-opacity="0.15">'
                f"<title>{escape(band.label)}</title></polygon>"
            )
    for i, line in enumerate(chart.lines):
        colour = PALETTE[i % len(PALETTE)]
        for segment in _segments(line.points):
            points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in segment)
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}">'
                f"<title>{escape(line.label)}</title></polyline>"
            )
    for mark in chart.marks:
        parts.append(
            f'<line class="mark" x1="{x(mark.at):.1f}" x2="{x(mark.at):.1f}" y1="{_TOP}" y2="{_TOP + plot_h}" '
            f'stroke="#d35400" stroke-dasharray="3,2"><title>{escape(mark.label)}</title></line>'
        )
    parts.append("</svg>")
    # Safe: every text from outside (labels, units) went through html.escape above; the rest are numbers.
    return Markup("".join(parts))  # noqa: S704  # nosec B704 - outside text escaped above


def legend(chart: Chart) -> list[tuple[str, str]]:
    """``(colour, label)`` of each line, for a legend beside the chart."""
    return [(PALETTE[i % len(PALETTE)], line.label) for i, line in enumerate(chart.lines)]
