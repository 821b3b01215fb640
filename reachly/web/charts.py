"""Bar charts as plain geometry for server-rendered SVG (templates/web/_chart.html).

No chart library and no JavaScript: the server computes bars, a rounded
y-axis and labels; each day is a link (to that day's breakdown), so the
chart works with a keyboard and a screen reader reads its labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 10, 24


@dataclass
class Segment:
    series: str
    label: str
    value: float
    y: float
    height: float


@dataclass
class Bar:
    day: date
    x: float
    width: float
    segments: list[Segment]
    total: float
    label: str  # for <title> and aria-label
    selected: bool = False

    @property
    def hit_x(self) -> float:
        return round(self.x - 2, 2)

    @property
    def hit_width(self) -> float:
        return round(self.width + 4, 2)


@dataclass
class Chart:
    title: str
    bars: list[Bar]
    ticks: list[dict[str, Any]]
    x_labels: list[dict[str, Any]]
    series: list[dict[str, str]]
    total_label: str
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - BOTTOM
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    empty: bool = False
    kind: str = ""

    @property
    def hit_height(self) -> float:
        return self.baseline - 4


# Axis tops: x 10^n. Counts use tops whose half is a whole number too.
DECIMAL_STEPS = (1, 2, 2.5, 5, 10)
COUNT_STEPS = (2, 4, 10)


def nice_max(value: float, steps: tuple[float, ...] = DECIMAL_STEPS) -> float:
    """The smallest step x 10^n at or above `value` (an axis top)."""
    if value <= 0:
        value = 1.0
    exponent = math.floor(math.log10(value))
    for e in (exponent - 1, exponent, exponent + 1):
        for step in steps:
            top = step * 10**e
            if top >= value:
                return float(top)
    return float(10 ** (exponent + 1))


def bar_chart(
    title: str,
    days: list[dict[str, Any]],
    series: list[tuple[str, str]],
    *,
    fmt=lambda v: f"{v:,.0f}",
    selected: date | None = None,
    kind: str = "",
    counts: bool = True,
) -> Chart:
    """Stacked bars, one per day; `series` is [(key in each day, label)].
    For counts the axis ticks are whole numbers (0, 2, 4 at the least)."""
    totals = [sum(float(d[key]) for key, _ in series) for d in days]
    top = nice_max(max([*totals, 2 if counts else 1]), COUNT_STEPS if counts else DECIMAL_STEPS)
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(days))
    width = max(2.0, slot * 0.7)
    bars = []
    for i, (day, total) in enumerate(zip(days, totals, strict=True)):
        y: float = HEIGHT - BOTTOM
        segments = []
        for key, label in series:
            value = float(day[key])
            h = plot_h * value / top if top else 0
            y -= h
            segments.append(Segment(key, label, value, round(y, 2), round(h, 2)))
        parts = ", ".join(f"{label} {fmt(Decimal(str(day[key])))}" for key, label in series)
        bars.append(
            Bar(
                day=day["date"],
                x=round(LEFT + i * slot + (slot - width) / 2, 2),
                width=round(width, 2),
                segments=segments,
                total=total,
                label=f"{day['date']:%a %-d %b}: {parts}",
                selected=day["date"] == selected,
            )
        )
    ticks = [{"y": round(HEIGHT - BOTTOM - plot_h * f, 2), "label": fmt(Decimal(str(top * f)))} for f in (0, 0.5, 1)]
    x_labels = [
        {"x": round(b.x + b.width / 2, 2), "label": f"{b.day:%-d %b}"}
        for i, b in enumerate(bars)
        if i % 7 == (len(bars) - 1) % 7
    ]
    grand = sum(totals)
    return Chart(
        title=title,
        bars=bars,
        ticks=ticks,
        x_labels=x_labels,
        series=[{"key": k, "label": label} for k, label in series],
        total_label=fmt(Decimal(str(grand))),
        empty=grand == 0,
        kind=kind,
    )
