"""Bar charts drawn on the server as SVG geometry: no JavaScript library, nothing downloaded.

The KPI page shows weekly trends per channel; a template draws the rectangles these functions place.
Pure: numbers in, coordinates out, so the geometry is tested without a browser. Bars may be negative
(a week whose reviews cost more than the typing saved): they hang below the zero line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    values: Sequence[float]
    color: str


#: Channel colours (paper grey-blue, counter green, online blue): distinguishable in grey too.
COLORS = {"paper": "#78909c", "counter": "#2e7d32", "online": "#1565c0"}
OTHER_COLOR = "#8d6e63"

TOP, BOTTOM, LEFT = 18.0, 34.0, 8.0


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.1f}"


def bars(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool,
    width: int = 640,
    height: int = 200,
) -> dict[str, Any]:
    """One group of bars per label: the series stacked in one bar, or side by side.

    Returns ``width``, ``height``, ``zero`` (the zero line's y), ``groups`` (``label``, ``x`` of the
    label's centre, ``bars`` with ``x y w h color value title``) and ``legend`` (``label color x``)."""
    n = len(labels)
    plot_h = height - TOP - BOTTOM
    if stacked:
        highs = [sum(max(s.values[i], 0.0) for s in series) for i in range(n)]
        lows = [sum(min(s.values[i], 0.0) for s in series) for i in range(n)]
    else:
        highs = [max([0.0, *(s.values[i] for s in series)]) for i in range(n)]
        lows = [min([0.0, *(s.values[i] for s in series)]) for i in range(n)]
    top, bottom = max([0.0, *highs]), min([0.0, *lows])
    span = (top - bottom) or 1.0

    def y(v: float) -> float:
        return TOP + (top - v) / span * plot_h

    slot = (width - LEFT) / max(n, 1)
    groups = []
    for i, label in enumerate(labels):
        x0 = LEFT + i * slot + slot * 0.12
        inner = slot * 0.76
        group: list[dict[str, Any]] = []
        up = down = 0.0
        for k, s in enumerate(series):
            v = float(s.values[i])
            if stacked:
                bx, bw = x0, inner
                base = up if v >= 0 else down
                y1, y2 = y(base + v), y(base)
                up, down = (up + v, down) if v >= 0 else (up, down + v)
            else:
                bw = inner / max(len(series), 1)
                bx = x0 + k * bw
                y1, y2 = y(max(v, 0.0)), y(min(v, 0.0))
            group.append(
                {
                    "x": round(bx, 1),
                    "y": round(min(y1, y2), 1),
                    "w": round(max(bw - 1, 1.0), 1),
                    "h": round(abs(y2 - y1), 1),
                    "color": s.color,
                    "value": _fmt(v),
                    "title": f"{label} {s.label}: {_fmt(v)}",
                }
            )
        total = sum(float(s.values[i]) for s in series)
        groups.append(
            {
                "label": label,
                "x": round(x0 + inner / 2, 1),
                "bars": group,
                "total": _fmt(total),
                "top": y(highs[i]),
            }
        )
    legend = [{"label": s.label, "color": s.color, "x": LEFT + k * 150} for k, s in enumerate(series)]
    return {"width": width, "height": height, "zero": round(y(0.0), 1), "groups": groups, "legend": legend}
