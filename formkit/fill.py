"""Writing values onto a form the way a person would: one character per comb cell, ticks, circles.

Used for pre-filled forms (``dejiru template fill``) and for sample scans. The ink follows
:mod:`formkit.layout`, so a value lands exactly where the reader will look for it. ``jitter`` makes
the hand less regular (size, position, slant per character) for handwriting-style samples.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from typing import Any

from reportlab.lib.colors import Color
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from formkit.fonts import reportlab_font
from formkit.layout import FieldLayout, layout
from formkit.model import Box, FieldType, Template
from validation.wareki import to_wareki

INKS = {"black": Color(0.08, 0.08, 0.1), "blue": Color(0.1, 0.15, 0.5)}


@dataclass
class Hand:
    """How a value is written: font, ink, and how unsteady the hand is (0 = typed)."""

    font: str = "ipag"
    ink: Color = field(default_factory=lambda: INKS["black"])
    jitter: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def j(self, scale: float) -> float:
        return self.rng.uniform(-1, 1) * scale * self.jitter


class Writer:
    def __init__(self, canvas: Canvas, tpl: Template, hand: Hand) -> None:
        self.c = canvas
        self.page_h = tpl.page.height_mm
        self.hand = hand
        self.font = reportlab_font(hand.font)

    def _pt(self, x: float, y: float) -> tuple[float, float]:
        return x * mm, (self.page_h - y) * mm

    def glyph(self, ch: str, cx: float, cy: float, size_mm: float) -> None:
        """One character centred on (cx, cy) mm."""
        h = self.hand
        size = size_mm * (1 + h.j(0.12)) / 25.4 * 72
        self.c.saveState()
        self.c.setFillColor(h.ink)
        self.c.setFont(self.font, size)
        x, y = self._pt(cx + h.j(size_mm * 0.12), cy + h.j(size_mm * 0.1))
        self.c.translate(x, y)
        self.c.rotate(h.j(6))
        w = stringWidth(ch, self.font, size)
        self.c.drawString(-w / 2, -size * 0.36, ch)
        self.c.restoreState()

    def line_text(self, text: str, box: Box, size_mm: float | None = None) -> None:
        """Free text along a box, left-aligned with a small margin, shrunk to fit."""
        size_mm = size_mm or box.h * 0.55
        margin = min(2.0, box.w * 0.12)
        avail = box.w - 2 * margin
        widths = [self._adv(ch, size_mm) for ch in text]
        total = sum(widths)
        if total > avail:
            k = avail / total
            size_mm *= k
            widths = [w * k for w in widths]
        x = box.x + margin + abs(self.hand.j(margin))
        cy = box.y + box.h / 2
        for ch, w in zip(text, widths, strict=True):
            if not ch.isspace():
                self.glyph(ch, x + w / 2, cy, size_mm)
            x += w

    def _adv(self, ch: str, size_mm: float) -> float:
        size_pt = size_mm / 25.4 * 72
        w_mm = stringWidth(ch, self.font, size_pt) / mm
        if ch.isspace():
            w_mm = size_mm * 0.9
        return w_mm * (1.08 + self.hand.j(0.1))

    def cells(self, chars: list[str], cells: list[Box]) -> None:
        for ch, cell in zip(chars, cells, strict=False):
            if ch and not ch.isspace():
                self.glyph(ch, cell.x + cell.w / 2, cell.y + cell.h / 2, min(cell.h, cell.w) * 0.72)

    def tick(self, box: Box) -> None:
        h = self.hand
        c = self.c
        c.saveState()
        c.setStrokeColor(h.ink)
        c.setLineWidth(0.5 * mm * (1 + h.j(0.4)))
        c.setLineCap(1)
        p = c.beginPath()
        x0, y0 = self._pt(box.x + box.w * (0.15 + h.j(0.05)), box.y + box.h * (0.5 + h.j(0.08)))
        x1, y1 = self._pt(box.x + box.w * (0.42 + h.j(0.05)), box.y + box.h * (0.85 + h.j(0.05)))
        x2, y2 = self._pt(box.x + box.w * (0.95 + h.j(0.1)), box.y + box.h * (0.05 + h.j(0.1)))
        p.moveTo(x0, y0)
        p.lineTo(x1, y1)
        p.lineTo(x2, y2)
        c.drawPath(p, stroke=1, fill=0)
        c.restoreState()

    def circle(self, box: Box) -> None:
        """An ellipse filling a circle area, not quite closed, as people draw it around a word."""
        h = self.hand
        c = self.c
        c.saveState()
        c.setStrokeColor(h.ink)
        c.setLineWidth(0.45 * mm)
        cx, cy = box.x + box.w / 2 + h.j(0.6), box.y + box.h / 2 + h.j(0.3)
        rx, ry = box.w / 2 - 0.5 + h.j(0.6), box.h / 2 - 0.4 + h.j(0.3)
        start = self.hand.rng.uniform(0, 2 * math.pi)
        sweep = 2 * math.pi * (1.0 + self.hand.rng.uniform(-0.04, 0.1))
        p = c.beginPath()
        steps = 48
        for i in range(steps + 1):
            a = start + sweep * i / steps
            x, y = self._pt(cx + rx * math.cos(a), cy + ry * math.sin(a))
            p.moveTo(x, y) if i == 0 else p.lineTo(x, y)
        c.drawPath(p, stroke=1, fill=0)
        c.restoreState()

    def signature(self, text: str, box: Box) -> None:
        self.line_text(text, Box(x=box.x + 10, y=box.y, w=box.w * 0.6, h=box.h), size_mm=box.h * 0.6)


def _right_aligned(text: str, n: int) -> list[str]:
    return [""] * (n - len(text)) + list(text)


def write_value(w: Writer, lay: FieldLayout, value: Any) -> None:
    """Write one field's value in its layout; None writes nothing."""
    if value is None or value == [] or value is False:
        return
    t = lay.spec.type
    if t is FieldType.KANA or t is FieldType.DIGITS:
        w.cells(list(str(value)), lay.cells)
    elif t is FieldType.COUNT:
        w.cells(_right_aligned(str(value), len(lay.cells)), lay.cells)
    elif t is FieldType.POSTAL:
        w.cells(list(str(value).replace("-", "")), lay.cells)
    elif t is FieldType.DATE and lay.spec.part_boxes:
        date = dt.date.fromisoformat(str(value))
        era, year = to_wareki(date)
        default = lay.spec.eras[0] if len(lay.spec.eras) == 1 else None
        w.line_text(str(year) if era == default else f"{era}{year}", lay.parts["year"][0])
        w.line_text(str(date.month), lay.parts["month"][0])
        w.line_text(str(date.day), lay.parts["day"][0])
    elif t is FieldType.DATE:
        date = dt.date.fromisoformat(str(value))
        era, year = to_wareki(date)
        for m in lay.marks:
            if m.value == era:
                w.tick(m.box)
        w.cells(_right_aligned(str(year), 2), lay.parts["year"])
        w.cells(_right_aligned(str(date.month), 2), lay.parts["month"])
        w.cells(_right_aligned(str(date.day), 2), lay.parts["day"])
    elif t in (FieldType.TEXT, FieldType.ADDRESS, FieldType.NAME, FieldType.PHONE, FieldType.NUMBER):
        w.line_text(str(value), lay.zone)
    elif t is FieldType.AMOUNT:
        w.line_text(f"{int(value):,}", lay.zone)
    elif t is FieldType.CHECKBOX:
        w.tick(lay.marks[0].box)
    elif t is FieldType.CHECKBOXES:
        chosen = {value} if isinstance(value, str) else set(value)
        for m in lay.marks:
            if m.value in chosen:
                w.tick(m.box)
    elif t is FieldType.CHOICE:
        for m in lay.marks:
            if m.value == value:
                w.circle(m.box)
    elif t is FieldType.SIGNATURE:
        w.signature(str(value) if isinstance(value, str) else "署名", lay.zone)


def fill_canvas(canvas: Canvas, tpl: Template, values: dict[str, Any], hand: Hand) -> None:
    w = Writer(canvas, tpl, hand)
    for lay in layout(tpl):
        write_value(w, lay, values.get(lay.spec.name))
