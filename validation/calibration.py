"""Calibrating review thresholds from labelled readings, to meet a target silent-error rate.

A field is auto-accepted when no check failed and its confidence reaches its type's threshold; it is
a *silent error* if it was accepted but wrong. The target is a rate over all fields: the budget of
silent errors (target × fields) is spent where it buys the most straight-through — per type, the
threshold that maximises ``accepted − λ·errors``, with the smallest λ whose total errors fit the
budget (a Lagrangian allocation over each type's curve). ``per_type=True`` instead holds every type
to the target on its own. Labels come from generated samples with ground truth (before go-live) or
from production (after): fields keyed blind in 抜き取り検査 and the doubtful fields reviewers decided,
each weighted by how many fields it stands for (``pipeline.calibrate.from_store``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Labelled:
    type: str
    confidence: float
    correct: bool
    #: A check failed: goes to review whatever the confidence.
    blocked: bool
    #: How many fields of the population this label stands for (1 for a sample or a decided field;
    #: more for an audit label, which stands for all the accepted fields of its type).
    weight: float = 1.0


@dataclass(frozen=True)
class Point:
    threshold: float
    straight_through: float
    silent: float


def wilson_interval(errors: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson interval for an error rate: honest about small samples (no error in 50 fields
    is 0–7 %, not 0 %). ``errors`` and ``n`` may be effective (weighted) counts; nothing known: 0–1."""
    if n <= 0:
        return 0.0, 1.0
    p = min(max(errors / n, 0.0), 1.0)
    denom = 1 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - spread) / denom), min(1.0, (centre + spread) / denom)


def wilson_upper(errors: float, n: float, z: float = 1.96) -> float:
    """Upper end of the 95 % Wilson interval for an error rate (honest about small samples)."""
    return wilson_interval(errors, n, z)[1]


def curve(items: list[Labelled]) -> list[Point]:
    """Straight-through and silent-error rate for every useful threshold, lowest threshold first
    (shares of the labels' total weight)."""
    n = sum(d.weight for d in items)
    if n <= 0:
        return []
    eligible = sorted((d for d in items if not d.blocked), key=lambda d: d.confidence, reverse=True)
    points = []
    accepted = wrong = 0.0
    i = 0
    while i < len(eligible):
        c = eligible[i].confidence
        while i < len(eligible) and eligible[i].confidence == c:
            accepted += eligible[i].weight
            wrong += eligible[i].weight * (not eligible[i].correct)
            i += 1
        points.append(Point(c, accepted / n, wrong / n))
    points.append(Point(1.01, 0.0, 0.0))
    return sorted(points, key=lambda p: p.threshold)


def choose(points: list[Point], target: float) -> Point:
    """The lowest threshold (most straight-through) whose silent-error rate is within the target."""
    ok = [p for p in points if p.silent <= target]
    return min(ok, key=lambda p: p.threshold) if ok else Point(1.01, 0.0, 0.0)


def _allocate(curves: dict[str, list[Point]], sizes: dict[str, float], budget: float) -> dict[str, Point]:
    """Per type, the point maximising accepted − λ·errors, for the smallest λ within the error budget."""

    def pick(lam: float) -> dict[str, Point]:
        out = {}
        for t, pts in curves.items():
            n = sizes[t]
            out[t] = max(pts, key=lambda p: (p.straight_through * n - lam * p.silent * n, p.threshold))
        return out

    def errors(choice: dict[str, Point]) -> float:
        return sum(p.silent * sizes[t] for t, p in choice.items())

    lo, hi = 0.0, 1e7
    if errors(pick(lo)) <= budget:
        return pick(lo)
    for _ in range(100):
        mid = (lo + hi) / 2
        if errors(pick(mid)) <= budget:
            hi = mid
        else:
            lo = mid
    return pick(hi)


def calibrate(items: Iterable[Labelled], target: float, per_type: bool = False) -> dict[str, Any]:
    by_type: dict[str, list[Labelled]] = defaultdict(list)
    for d in items:
        by_type[d.type].append(d)
    curves = {t: curve(rows) for t, rows in by_type.items()}
    sizes = {t: float(sum(d.weight for d in rows)) for t, rows in by_type.items()}
    if per_type:
        chosen = {t: choose(pts, target) for t, pts in curves.items()}
    else:
        chosen = _allocate(curves, sizes, target * sum(sizes.values()))
    result: dict[str, Any] = {
        "thresholds": {},
        "per_type": {},
        "curves": {},
        "mode": "per type" if per_type else "global",
    }
    total = sum(sizes.values())
    result["overall"] = {
        "fields": sum(len(rows) for rows in by_type.values()),
        "straight_through": round(
            sum(p.straight_through * sizes[t] for t, p in chosen.items()) / max(total, 1), 4
        ),
        "silent": round(sum(p.silent * sizes[t] for t, p in chosen.items()) / max(total, 1), 5),
    }
    for ftype, rows in sorted(by_type.items()):
        pts = curves[ftype]
        best = chosen[ftype]
        n = len(rows)
        # Weighted labels count as fewer independent ones (Kish's effective sample size).
        n_eff = sizes[ftype] ** 2 / sum(d.weight**2 for d in rows)
        result["thresholds"][ftype] = round(min(best.threshold, 1.01), 4)
        result["per_type"][ftype] = {
            "n": n,
            "threshold": round(best.threshold, 4),
            "straight_through": round(best.straight_through, 4),
            "silent": round(best.silent, 5),
            "silent_upper95": round(wilson_upper(best.silent * n_eff, n_eff), 5),
            "wrong_readings": sum(not d.correct for d in rows),
        }
        result["curves"][ftype] = [
            [round(p.threshold, 4), round(p.straight_through, 4), round(p.silent, 5)] for p in _thin(pts)
        ]
    return result


def _thin(points: list[Point], keep: int = 25) -> list[Point]:
    if len(points) <= keep:
        return points
    step = len(points) / keep
    return [points[int(i * step)] for i in range(keep)] + [points[-1]]


def write(result: dict[str, Any], path: Path, target: float, source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "target_silent_error": target,
        "source": source,
        "created": dt.datetime.now(dt.UTC).isoformat(),
        **result,
    }
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")


def table(result: dict[str, Any]) -> str:
    o = result.get("overall", {})
    lines = [
        f"all fields: {o.get('fields', 0)}, straight-through {100 * o.get('straight_through', 0):.1f} %, "
        f"silent errors {100 * o.get('silent', 0):.3f} % ({result.get('mode', '')})",
        f"{'type':12} {'n':>6} {'threshold':>9} {'straight%':>9} {'silent%':>8} {'≤95%':>7} {'wrong':>6}",
    ]
    for ftype, row in result["per_type"].items():
        lines.append(
            f"{ftype:12} {row['n']:6} {row['threshold']:9.3f} {100 * row['straight_through']:9.1f} "
            f"{100 * row['silent']:8.3f} {100 * row['silent_upper95']:7.2f} {row['wrong_readings']:6}"
        )
    return "\n".join(lines)


def save_labels(items: Iterable[Labelled], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for d in items:
            row = [d.type, d.confidence, d.correct, d.blocked] + ([d.weight] if d.weight != 1.0 else [])
            fh.write(json.dumps(row) + "\n")


def load_labels(path: Path) -> list[Labelled]:
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [
        Labelled(str(r[0]), float(r[1]), bool(r[2]), bool(r[3]), float(r[4]) if len(r) > 4 else 1.0)
        for r in rows
    ]
