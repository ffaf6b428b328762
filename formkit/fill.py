"""Writing values onto a form the way a person would: one character per comb cell, ticks, circles.

Used for pre-filled forms (``dejiru template fill``), the 記入例 sheet and sample scans. The ink follows
:mod:`formkit.layout`, so a value lands exactly where the reader will look for it. ``jitter`` makes
the hand less regular (size, position, slant per character) for handwriting-style samples.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reportlab.lib.colors import Color
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from dejiru.errors import FieldInvalid
from formkit.fonts import FORM_FONT, reportlab_font
from formkit.layout import FieldLayout, layout
from formkit.model import COMB_TYPES, Box, FieldSpec, FieldType, Template
from formkit.render import draw_master, render_pdf
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
    if t in (FieldType.KANA, FieldType.DIGITS, FieldType.POSTAL) and not lay.cells:
        w.line_text(str(value), lay.zone)  # a legacy form's own box, written freely
    elif t is FieldType.KANA or t is FieldType.DIGITS:
        w.cells(list(str(value)), lay.cells)
    elif t is FieldType.COUNT or (t is FieldType.AMOUNT and lay.cells):  # digits right-aligned in cells
        w.cells(_right_aligned(str(value), len(lay.cells)), lay.cells)
    elif t is FieldType.POSTAL:
        w.cells(list(str(value).replace("-", "")), lay.cells)
    elif t is FieldType.DATE and lay.spec.part_boxes:
        date = dt.date.fromisoformat(str(value))
        era, year = to_wareki(date)
        default = lay.spec.eras[0] if len(lay.spec.eras) == 1 else None
        circled = [m for m in lay.marks if m.value == era]  # the form prints the eras to circle
        for m in circled:
            w.circle(m.box)
        if lay.spec.cells:  # two comb cells per part, one digit each
            for part, n in (("year", year), ("month", date.month), ("day", date.day)):
                w.cells(_right_aligned(str(n), len(lay.parts[part])), lay.parts[part])
            return
        w.line_text(str(year) if era == default or circled else f"{era}{year}", lay.parts["year"][0])
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


# --- pre-filled forms (``dejiru template fill``) ---------------------------------------------------------


def typed_hand() -> Hand:
    """How a pre-filled form is printed: the form's own font, black, perfectly steady."""
    return Hand(font=FORM_FONT, ink=INKS["black"], jitter=0.0)


def _bad(spec: FieldSpec, value: Any, ja: str, en: str) -> FieldInvalid:
    return FieldInvalid(
        f"項目 {spec.name}（{spec.label}）の値 {value!r} は使えません: {ja}",
        f"field {spec.name} ({spec.label_en or spec.label}): value {value!r} cannot be used: {en}",
    )


def _check_value(spec: FieldSpec, value: Any) -> Any:
    """The value in the shape the writer and the reader use, or a FieldInvalid a person can fix."""
    t = spec.type
    options = [o.value for o in spec.options]
    if value is None or value == "" or value == []:
        return None
    if t is FieldType.DATE:
        try:
            date = dt.date.fromisoformat(str(value))
        except ValueError:
            raise _bad(
                spec, value, "日付は YYYY-MM-DD で書いてください", "write dates as YYYY-MM-DD"
            ) from None
        era = to_wareki(date)[0]
        if era not in spec.eras:
            raise _bad(
                spec,
                value,
                f"この欄に書ける元号は {'・'.join(spec.eras)} です（{era}）",
                f"this field takes the eras {', '.join(spec.eras)} only ({era})",
            )
        return date.isoformat()
    if t in (FieldType.CHECKBOX, FieldType.SIGNATURE):
        if isinstance(value, bool) or (t is FieldType.SIGNATURE and isinstance(value, str)):
            return value
        raise _bad(spec, value, "true か false で書いてください", "write true or false")
    if t is FieldType.CHOICE:
        if value not in options:
            raise _bad(spec, value, f"選択肢は {', '.join(options)}", f"options are {', '.join(options)}")
        return value
    if t is FieldType.CHECKBOXES:
        chosen = [value] if isinstance(value, str) else value
        if not isinstance(chosen, list) or any(v not in options for v in chosen):
            raise _bad(
                spec,
                value,
                f"選択肢 {', '.join(options)} のリストで書いてください",
                f"write a list of the options {', '.join(options)}",
            )
        if spec.exclusive and len(chosen) > 1:
            raise _bad(spec, value, "1つだけ選べる欄です", "only one option may be ticked")
        return chosen[0] if spec.exclusive else [o for o in options if o in chosen]
    if t in (FieldType.COUNT, FieldType.AMOUNT):
        if isinstance(value, bool) or not re.fullmatch(r"\d+", str(value).replace(",", "")):
            raise _bad(spec, value, "数字で書いてください", "write a whole number")
        value = int(str(value).replace(",", ""))
        if (t is FieldType.COUNT or spec.cells) and len(str(value)) > (spec.cells or 1):
            raise _bad(spec, value, f"{spec.cells}桁までです", f"at most {spec.cells} digit(s)")
        return value
    if isinstance(value, (list, dict, bool)):
        raise _bad(spec, value, "文字で書いてください", "write text")
    text = str(value)
    if t is FieldType.POSTAL:
        digits = text.replace("-", "")
        if not re.fullmatch(r"\d{7}", digits):
            raise _bad(spec, value, "郵便番号は 123-4567 の形です", "postal codes are 123-4567")
        return f"{digits[:3]}-{digits[3:]}"
    if t is FieldType.DIGITS and not text.isdigit():
        raise _bad(spec, value, "数字だけで書いてください", "digits only")
    if t in COMB_TYPES and spec.cells and len(text) > spec.cells:
        raise _bad(spec, value, f"{spec.cells}マスに入りません", f"does not fit in {spec.cells} cells")
    return text


def parse_values(tpl: Template, data: Any) -> dict[str, Any]:
    """Field values for a pre-filled form, from a JSON object ``{field: value}`` or a sample's ground
    truth (``{"form": ..., "fields": {...}}``); unknown fields and values that cannot be printed are
    refused with the field's name."""
    if isinstance(data, dict) and isinstance(data.get("fields"), dict):
        if data.get("form") not in (None, tpl.id):
            raise FieldInvalid(
                f"データは様式 {data['form']} のものです（{tpl.id} ではありません）",
                f"the data is for form {data['form']}, not {tpl.id}",
            )
        data = data["fields"]
    if not isinstance(data, dict):
        raise FieldInvalid(
            'データは {"項目名": 値} の形のJSONにしてください',
            'the data must be a JSON object {"field": value}',
        )
    known = {f.name: f for f in tpl.fields}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise FieldInvalid(
            f"様式 {tpl.id} にない項目があります: {', '.join(unknown)}",
            f"form {tpl.id} has no field(s) {', '.join(unknown)}",
            detail="項目 / fields: " + ", ".join(known),
        )
    return {name: _check_value(known[name], value) for name, value in data.items()}


def filled_pdf(
    tpl: Template,
    values: dict[str, Any],
    hand: Hand | None = None,
    *,
    decorate: Callable[[Canvas], None] | None = None,
) -> bytes:
    """The form with values written in, as one PDF page (typed unless another hand is given).

    A legacy form gets its published master as the background; ``decorate`` draws on top (a stamp).
    """
    writer_hand = hand or typed_hand()

    def overlay(canvas: Canvas) -> None:
        if tpl.legacy:
            draw_master(canvas, tpl)
        fill_canvas(canvas, tpl, values, writer_hand)
        if decorate is not None:
            decorate(canvas)

    return render_pdf(tpl, overlay=overlay)
