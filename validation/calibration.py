"""Calibrating review thresholds from labelled readings, to meet a target silent-error rate.

A field is auto-accepted when no check failed and its confidence reaches its type's threshold; it is
a *silent error* if it was accepted but wrong. For each field type we pick the lowest threshold whose
silent-error rate (over all fields of that type) stays within the target, which maximises
straight-through at that error rate. Labels come from generated samples with ground truth (before
go-live) or from reviewers' decisions (after): a field a reviewer left unchanged was read right.
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


@dataclass(frozen=True)
class Point:
    threshold: float
    straight_through: float
    silent: float


def wilson_upper(errors: int, n: int, z: float = 1.96) -> float:
    """Upper end of the 95 % Wilson interval for an error rate (honest about small samples)."""
    if n == 0:
        return 1.0
    p = errors / n
    denom = 1 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / denom)


def curve(items: list[Labelled]) -> list[Point]:
    """Straight-through and silent-error rate for every useful threshold, lowest threshold first."""
    n = len(items)
    if n == 0:
        return []
    eligible = sorted((d for d in items if not d.blocked), key=lambda d: d.confidence, reverse=True)
    points = []
    accepted = wrong = 0
    i = 0
    while i < len(eligible):
        c = eligible[i].confidence
        while i < len(eligible) and eligible[i].confidence == c:
            accepted += 1
            wrong += not eligible[i].correct
            i += 1
        points.append(Point(c, accepted / n, wrong / n))
    points.append(Point(1.01, 0.0, 0.0))
    return sorted(points, key=lambda p: p.threshold)


def choose(points: list[Point], target: float) -> Point:
    """The lowest threshold (most straight-through) whose silent-error rate is within the target."""
    ok = [p for p in points if p.silent <= target]
    return min(ok, key=lambda p: p.threshold) if ok else Point(1.01, 0.0, 0.0)


def calibrate(items: Iterable[Labelled], target: float) -> dict[str, Any]:
    by_type: dict[str, list[Labelled]] = defaultdict(list)
    for d in items:
        by_type[d.type].append(d)
    result: dict[str, Any] = {"thresholds": {}, "per_type": {}, "curves": {}}
    for ftype, rows in sorted(by_type.items()):
        pts = curve(rows)
        best = choose(pts, target)
        n = len(rows)
        errors = round(best.silent * n)
        result["thresholds"][ftype] = round(min(best.threshold, 1.01), 4)
        result["per_type"][ftype] = {
            "n": n,
            "threshold": round(best.threshold, 4),
            "straight_through": round(best.straight_through, 4),
            "silent": round(best.silent, 5),
            "silent_upper95": round(wilson_upper(errors, n), 5),
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
    lines = [
        f"{'type':12} {'n':>6} {'threshold':>9} {'straight%':>9} {'silent%':>8} {'≤95%':>7} {'wrong':>6}"
    ]
    for ftype, row in result["per_type"].items():
        lines.append(
            f"{ftype:12} {row['n']:6} {row['threshold']:9.3f} {100 * row['straight_through']:9.1f} "
            f"{100 * row['silent']:8.3f} {100 * row['silent_upper95']:7.2f} {row['wrong_readings']:6}"
        )
    return "\n".join(lines)
