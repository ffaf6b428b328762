"""Synthetic handwriting from stroke data: every character written stroke by stroke, by many "writers".

Why: handwriting-style *fonts* draw each character the same way every time, so a reader (and its
review thresholds) fitted on a few such fonts learns those fonts rather than handwriting. Here each
character is drawn from its strokes in `KanjiVG <https://kanjivg.tagaini.net>`_ (copyright Ulrich
Apel, CC BY-SA 3.0; read offline from the ``kanjivg`` wheel, which installs its SVGs as
``site-packages/kanji/``) with a writer's own habits, drawn afresh for every character:

- each stroke's Bézier control points jittered, a slow tremor along the stroke, corners rounded;
- a pen width, pressure rising and falling along a stroke, the end of a stroke tapered (はね・はらい);
- consecutive strokes joined now and then by a thin connecting line, as a hurried hand does;
- uneven character size, a baseline that drifts along a line, a slant, narrow or wide characters,
  kana written smaller than kanji.

A :class:`WriterStyle` is derived from an integer id, so ``writer_style(3)`` is always the same
person and ``writer_style(4)`` another; :mod:`synth.splits` keeps the ids used for calibration
apart from those only measured. KanjiVG covers kanji, kana, digits, Latin letters and some marks;
a few marks forms need (``-``, ``〒``, brackets) have their own strokes below. Anything else (e.g.
髙, 﨑) is reported as missing and the caller writes it with a font instead, noting it in the
sample's ground truth.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

#: KanjiVG draws on a 109 × 109 grid, y downwards.
GRID = 109.0

Point = tuple[float, float]
#: A cubic Bézier segment: start, two control points, end.
Cubic = tuple[Point, Point, Point, Point]
Stroke = tuple[Cubic, ...]


def _line(x0: float, y0: float, x1: float, y1: float) -> Cubic:
    return (
        (x0, y0),
        (x0 + (x1 - x0) / 3, y0 + (y1 - y0) / 3),
        (x0 + 2 * (x1 - x0) / 3, y0 + 2 * (y1 - y0) / 3),
        (x1, y1),
    )


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float) -> Stroke:
    """An elliptic arc as cubic segments (angles in degrees, y downwards)."""
    out: list[Cubic] = []
    n = max(1, math.ceil(abs(a1 - a0) / 90))
    step = (a1 - a0) / n
    for i in range(n):
        t0, t1 = math.radians(a0 + i * step), math.radians(a0 + (i + 1) * step)
        k = 4 / 3 * math.tan((t1 - t0) / 4)
        p0 = (cx + rx * math.cos(t0), cy + ry * math.sin(t0))
        p3 = (cx + rx * math.cos(t1), cy + ry * math.sin(t1))
        p1 = (p0[0] - k * rx * math.sin(t0), p0[1] + k * ry * math.cos(t0))
        p2 = (p3[0] + k * rx * math.sin(t1), p3[1] - k * ry * math.cos(t1))
        out.append((p0, p1, p2, p3))
    return tuple(out)


#: Marks the forms need that KanjiVG does not draw (same grid; our own, simple and public domain).
EXTRA_STROKES: dict[str, tuple[Stroke, ...]] = {
    "-": ((_line(32, 56, 77, 55),),),
    "〒": ((_line(24, 22, 86, 22),), (_line(20, 44, 90, 44),), (_line(55, 45, 55, 96),)),
    "(": (_arc(82, 54.5, 40, 46, 140, 220),),
    ")": (_arc(27, 54.5, 40, 46, -40, 40),),
    "/": ((_line(78, 14, 32, 96),),),
    "#": (
        (_line(42, 18, 36, 92),),
        (_line(70, 18, 64, 92),),
        (_line(22, 40, 88, 40),),
        (_line(20, 68, 86, 68),),
    ),
    "・": (_arc(54.5, 54.5, 4, 4, 0, 360),),
}
#: Same strokes as another character (full-width forms, look-alike dashes).
ALIASES = {"－": "-", "‐": "-", "−": "-", "（": "(", "）": ")", "／": "/", "＃": "#", "･": "・"}


@cache
def kanjivg_dir() -> Path | None:
    """Where the ``kanjivg`` wheel put its SVG files, or None if it is not installed."""
    try:
        path = Path(str(metadata.distribution("kanjivg").locate_file("kanji")))
    except metadata.PackageNotFoundError:
        return None
    return path if path.is_dir() else None


_TOKEN = re.compile(r"[MmCcSsLl]|-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_PATH_D = re.compile(r'<path[^>]*\sd="([^"]+)"')


def parse_path(d: str) -> Stroke:
    """One SVG path (the commands KanjiVG uses: M, C, S, L, absolute and relative) as cubics."""
    tokens = _TOKEN.findall(d)
    out: list[Cubic] = []
    cur: Point = (0.0, 0.0)
    last_ctrl: Point | None = None
    cmd = ""
    i = 0

    def num() -> float:
        nonlocal i
        v = float(tokens[i])
        i += 1
        return v

    while i < len(tokens):
        if tokens[i].isalpha():
            cmd = tokens[i]
            i += 1
        rel = cmd.islower()
        ox, oy = cur if rel else (0.0, 0.0)
        c = cmd.upper()
        if c == "M":
            cur = (ox + num(), oy + num())
            last_ctrl = None
            cmd = "l" if rel else "L"  # further pairs after M are line-tos
        elif c == "L":
            p = (ox + num(), oy + num())
            out.append(_line(*cur, *p))
            cur, last_ctrl = p, None
        elif c == "C":
            p1 = (ox + num(), oy + num())
            p2 = (ox + num(), oy + num())
            p3 = (ox + num(), oy + num())
            out.append((cur, p1, p2, p3))
            cur, last_ctrl = p3, p2
        elif c == "S":
            p1 = (2 * cur[0] - last_ctrl[0], 2 * cur[1] - last_ctrl[1]) if last_ctrl else cur
            p2 = (ox + num(), oy + num())
            p3 = (ox + num(), oy + num())
            out.append((cur, p1, p2, p3))
            cur, last_ctrl = p3, p2
        else:  # pragma: no cover - KanjiVG uses no other command
            raise ValueError(f"unsupported path command {cmd!r}")
    return tuple(out)


def _base_char(ch: str) -> str:
    """Full-width digits and letters are written as their ASCII forms; dashes as a hyphen."""
    if ch in ALIASES:
        return ALIASES[ch]
    if "０" <= ch <= "～":
        return unicodedata.normalize("NFKC", ch)
    return ch


@cache
def strokes_of(ch: str) -> tuple[Stroke, ...] | None:
    """The strokes of a character in writing order, or None when no stroke data covers it."""
    ch = _base_char(ch)
    if ch in EXTRA_STROKES:
        return EXTRA_STROKES[ch]
    root = kanjivg_dir()
    if root is None or len(ch) != 1:
        return None
    path = root / f"{ord(ch):05x}.svg"
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    strokes = tuple(parse_path(d) for d in _PATH_D.findall(text))
    return strokes or None


def covered(ch: str) -> bool:
    return ch.isspace() or strokes_of(ch) is not None


def narrow(ch: str) -> bool:
    """ASCII-like characters take about half a cell of advance (digits, Latin, hyphens)."""
    return ord(_base_char(ch)) < 0x80


def small_kana(ch: str) -> bool:
    return ch in "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"


def is_kana(ch: str) -> bool:
    return "\u3040" <= ch <= "\u30ff"


@dataclass(frozen=True)
class WriterStyle:
    """One person's handwriting habits (sizes relative to the character size, pen in mm)."""

    id: int
    pen_mm: float
    pressure: float  # how much the width swells mid-stroke (0 = even)
    taper: float  # how thin a stroke's end gets (0 = blunt)
    jitter: float  # control-point jitter, grid units
    tremor: float  # slow wobble along a stroke, grid units
    join_prob: float  # a thin line joining consecutive strokes
    size_var: float  # per-character size variation
    drift: float  # baseline random-walk step, share of the size
    slant_deg: float  # shear: positive leans right
    rotate_deg: float  # per-character rotation spread
    aspect: float  # width / height
    kana_scale: float  # kana relative to kanji
    spacing: float  # advance relative to the size
    smooth: int  # corner rounding passes (fast writers round corners)
    ink: str  # "black" | "blue"

    @property
    def name(self) -> str:
        return f"kvg{self.id:03d}"


def writer_style(writer_id: int) -> WriterStyle:
    """The writer with this id: the same habits every time (drawn from a seeded stream)."""
    r = random.Random(f"kanjivg-writer:{writer_id}")
    hurried = r.random()  # one trait drives several habits, as in real hands
    return WriterStyle(
        id=writer_id,
        pen_mm=r.uniform(0.25, 0.5),
        pressure=r.uniform(0.0, 0.5),
        taper=r.uniform(0.1, 0.7) * (0.5 + hurried),
        jitter=r.uniform(1.0, 3.0) + 2.5 * hurried,
        tremor=r.uniform(0.0, 1.2),
        join_prob=0.35 * hurried**1.5,
        size_var=r.uniform(0.03, 0.14),
        drift=r.uniform(0.01, 0.06),
        slant_deg=r.uniform(-6.0, 12.0),
        rotate_deg=r.uniform(0.5, 4.0),
        aspect=r.uniform(0.85, 1.1),
        kana_scale=r.uniform(0.78, 1.0),
        spacing=r.uniform(0.95, 1.2),
        smooth=int(hurried * 3),
        ink=r.choice(["black", "black", "blue"]),
    )


def _bezier(c: Cubic, n: int) -> list[Point]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = c
    pts = []
    for k in range(n + 1):
        t = k / n
        u = 1 - t
        a, b, cc, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        pts.append((a * x0 + b * x1 + cc * x2 + d * x3, a * y0 + b * y1 + cc * y2 + d * y3))
    return pts


def _chaikin(pts: list[Point], passes: int) -> list[Point]:
    for _ in range(passes):
        if len(pts) < 3:
            break
        out = [pts[0]]
        for (ax, ay), (bx, by) in itertools.pairwise(pts):
            out += [
                (0.75 * ax + 0.25 * bx, 0.75 * ay + 0.25 * by),
                (0.25 * ax + 0.75 * bx, 0.25 * ay + 0.75 * by),
            ]
        out.append(pts[-1])
        pts = out
    return pts


def stroke_points(stroke: Stroke, style: WriterStyle, rng: random.Random) -> list[Point]:
    """One stroke as this writer draws it this time: jittered control points, tremor, rounding."""
    j = style.jitter
    # The whole stroke shifts a little, and each control point moves on its own.
    sx, sy = rng.gauss(0, j * 0.5), rng.gauss(0, j * 0.5)
    pts: list[Point] = []
    for seg in stroke:
        moved = tuple((x + sx + rng.gauss(0, j * 0.35), y + sy + rng.gauss(0, j * 0.35)) for x, y in seg)
        if pts:  # keep the stroke continuous: a segment starts where the last one ended
            moved = (pts[-1], *moved[1:])
        length = sum(math.dist(a, b) for a, b in itertools.pairwise(moved))
        pts += _bezier(moved, max(2, int(length / 4)))[1 if pts else 0 :]  # type: ignore[arg-type]
    if style.tremor:
        phase, freq = rng.uniform(0, 2 * math.pi), rng.uniform(0.05, 0.15)
        total = 0.0
        out = [pts[0]]
        for a, b in itertools.pairwise(pts):
            total += math.dist(a, b)
            w = style.tremor * math.sin(phase + freq * total)
            out.append((b[0] + w, b[1] - w * 0.6))
        pts = out
    return _chaikin(pts, style.smooth)


@dataclass(frozen=True)
class Mark:
    """A stroke ready to draw: points on the grid and a width (mm) per point."""

    points: list[Point]
    widths: list[float]


def character_marks(ch: str, style: WriterStyle, rng: random.Random) -> list[Mark] | None:
    """Every mark of one character (strokes and the odd joining line), or None when not covered."""
    strokes = strokes_of(ch)
    if strokes is None:
        return None
    pen = style.pen_mm * (1 + rng.gauss(0, 0.06))
    marks: list[Mark] = []
    prev_end: Point | None = None
    for stroke in strokes:
        pts = stroke_points(stroke, style, rng)
        if prev_end is not None and rng.random() < style.join_prob and math.dist(prev_end, pts[0]) < 55:
            # A hurried hand does not lift the pen: a thin line from the last stroke to this one.
            mx = (prev_end[0] + pts[0][0]) / 2 + rng.gauss(0, 3)
            my = (prev_end[1] + pts[0][1]) / 2 + rng.gauss(0, 3)
            link = _bezier((prev_end, (mx, my), (mx, my), pts[0]), 8)
            marks.append(Mark(link, [pen * 0.4] * len(link)))
        n = len(pts)
        widths = []
        for k in range(n):
            t = k / max(n - 1, 1)
            w = pen * (1 + style.pressure * math.sin(math.pi * t) - style.taper * max(0.0, t - 0.75) * 3.2)
            widths.append(max(pen * 0.25, w))
        marks.append(Mark(pts, widths))
        prev_end = pts[-1]
    return marks


class StrokeLine:
    """Per-line state of a writer: the baseline drifts from one character to the next."""

    def __init__(self, style: WriterStyle, rng: random.Random) -> None:
        self.style = style
        self.rng = rng
        self.offset = 0.0

    def next_offset(self) -> float:
        self.offset = 0.8 * self.offset + self.rng.gauss(0, self.style.drift)
        return self.offset
