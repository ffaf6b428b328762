"""Writing values onto a form the way a person would: one character per comb cell, ticks, circles.

Used for pre-filled forms (``dejiru template fill``), the 記入例 sheet and sample scans. The ink follows
:mod:`formkit.layout`, so a value lands exactly where the reader will look for it. Two kinds of hand
write: :class:`Hand` sets a font's glyphs with ``jitter`` (size, position, slant per character) for
handwriting-style fonts, and :class:`StrokeHand` draws each character stroke by stroke as one of many
synthetic writers (:mod:`synth.strokes`), so samples are not limited to a handful of fonts.
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

from core.errors import FieldInvalid
from formkit.fonts import FORM_FONT, has_glyph, reportlab_font
from formkit.kinds import Comb, Shape, Value
from formkit.layout import FieldLayout, layout, line_bands
from formkit.model import LINE_JOIN, Box, FieldSpec, Template
from formkit.render import draw_master, draw_seal, render_pdf
from formkit.seal import counter_values
from synth.strokes import (
    GRID,
    StrokeLine,
    WriterStyle,
    character_marks,
    is_kana,
    narrow,
    small_kana,
    strokes_of,
    writer_style,
)
from validation.normalize import amount_text
from validation.wareki import to_wareki

INKS = {"black": Color(0.08, 0.08, 0.1), "blue": Color(0.1, 0.15, 0.5)}


@dataclass
class Hand:
    """How a value is written: font, ink, and how unsteady the hand is (0 = typed).

    The font-based hand draws each character as the font's glyph, moved, resized and turned a
    little (``jitter``); :class:`StrokeHand` writes stroke by stroke instead. Both are used through
    the same three methods, so a sample can be filled in by either.
    """

    font: str = "ipag"
    ink: Color = field(default_factory=lambda: INKS["black"])
    jitter: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    #: Probability that a value written on a line has one character crossed out with a double line
    #: and written again after it (the ground truth is what was meant; see ``scan.DEFECTS``).
    strikeout: float = 0.0
    #: Characters this hand could not write itself and left to a font (noted in the ground truth).
    fallbacks: set[str] = field(default_factory=set)
    #: The values written with a struck-out character (noted in the ground truth).
    struck: list[str] = field(default_factory=list)

    def j(self, scale: float) -> float:
        return self.rng.uniform(-1, 1) * scale * self.jitter

    @property
    def kind(self) -> str:
        return self.font

    def begin_line(self) -> None:
        """A new line or comb starts (the font hand keeps no state along a line)."""

    def glyph(self, w: Writer, ch: str, cx: float, cy: float, size_mm: float) -> None:
        """One character centred on (cx, cy) mm."""
        size = size_mm * (1 + self.j(0.12)) / 25.4 * 72
        font = w.font_for(ch)
        w.c.saveState()
        w.c.setFillColor(self.ink)
        w.c.setFont(font, size)
        x, y = w._pt(cx + self.j(size_mm * 0.12), cy + self.j(size_mm * 0.1))
        w.c.translate(x, y)
        w.c.rotate(self.j(6))
        width = stringWidth(ch, font, size)
        w.c.drawString(-width / 2, -size * 0.36, ch)
        w.c.restoreState()

    def advance(self, w: Writer, ch: str, size_mm: float) -> float:
        """How far the pen moves on after this character (mm)."""
        size_pt = size_mm / 25.4 * 72
        w_mm = stringWidth(ch, w.font_for(ch), size_pt) / mm
        if ch.isspace():
            w_mm = size_mm * 0.9
        return w_mm * (1.08 + self.j(0.1))


@dataclass
class StrokeHand(Hand):
    """A synthetic writer: every character drawn from its KanjiVG strokes with this writer's habits
    (:mod:`synth.strokes`). ``font`` is only the fallback for characters without stroke data."""

    style: WriterStyle = field(default_factory=lambda: writer_style(0))
    _line: StrokeLine | None = field(default=None, init=False, repr=False)

    @property
    def kind(self) -> str:
        return self.style.name

    def begin_line(self) -> None:
        self._line = StrokeLine(self.style, self.rng)

    def glyph(self, w: Writer, ch: str, cx: float, cy: float, size_mm: float) -> None:
        st, r = self.style, self.rng
        marks = character_marks(ch, st, r)
        if marks is None:
            self.fallbacks.add(ch)
            super().glyph(w, ch, cx, cy, size_mm)
            return
        if self._line is None:
            self.begin_line()
        assert self._line is not None
        s = size_mm * max(0.6, 1 + r.gauss(0, st.size_var))
        if is_kana(ch):
            s *= st.kana_scale * (0.62 if small_kana(ch) else 1.0)
        cy += self._line.next_offset() * size_mm + (size_mm - s) * 0.25 * small_kana(ch)
        cx += r.gauss(0, 0.04 * size_mm)
        rot = math.radians(r.gauss(0, st.rotate_deg))
        shear = math.tan(math.radians(st.slant_deg + r.gauss(0, 2.0)))
        cos, sin = math.cos(rot), math.sin(rot)
        c = w.c
        c.saveState()
        c.setStrokeColor(self.ink)
        c.setLineCap(1)
        c.setLineJoin(1)
        for mark in marks:
            pts = []
            for gx, gy in mark.points:
                u = (gx - GRID / 2) / GRID * s * st.aspect
                v = (GRID / 2 - gy) / GRID * s
                u += v * shear
                pts.append(w._pt(cx + u * cos - v * sin, cy - (u * sin + v * cos)))
            # Pressure: the stroke in short pieces, each with its own width (round caps join them).
            step = 3
            for k in range(0, max(len(pts) - 1, 1), step):
                piece = pts[k : k + step + 1]
                if len(piece) < 2:
                    piece = [pts[k], pts[k]]
                width = mark.widths[min(k + step // 2, len(mark.widths) - 1)]
                c.setLineWidth(width * mm)
                p = c.beginPath()
                p.moveTo(*piece[0])
                for q in piece[1:]:
                    p.lineTo(*q)
                c.drawPath(p, stroke=1, fill=0)
        c.restoreState()

    def advance(self, w: Writer, ch: str, size_mm: float) -> float:
        if ch.isspace():
            return size_mm * 0.9
        if strokes_of(ch) is None:
            return super().advance(w, ch, size_mm)
        k = 0.62 if narrow(ch) else 1.0
        return size_mm * k * self.style.spacing * (1 + self.rng.gauss(0, 0.05))


def make_hand(
    rng: random.Random, *, font: str | None = None, writer: int | None = None, strikeout: float = 0.0
) -> Hand:
    """The hand a sample is written in: a KanjiVG writer when ``writer`` is given, else a font
    (typed-looking for printed fonts, unsteadier for handwriting-style ones)."""
    if writer is not None:
        style = writer_style(writer)
        return StrokeHand(
            font=FORM_FONT, ink=INKS[style.ink], jitter=0.3, rng=rng, strikeout=strikeout, style=style
        )
    from formkit.fonts import FONTS

    assert font is not None
    group = FONTS[font].group
    return Hand(
        font=font,
        ink=INKS[rng.choice(["black", "black", "blue"])],
        jitter=0.8 if group == "handwriting" else 0.25,
        rng=rng,
        strikeout=strikeout,
    )


#: Characters a struck-out slip is likely to be mistaken for: same kind of character, not the same.
_SLIPS = {
    "digit": "0123456789",
    "hiragana": "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわん",
    "katakana": "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン",
    "kanji": "田中山川本木林村大小上下口日月目石原井野",
}


def slip_for(ch: str, rng: random.Random) -> str:
    """A wrong character of the same kind, as a writer might start before correcting it."""
    kind = (
        "digit"
        if ch.isdigit()
        else "hiragana"
        if "ぁ" <= ch <= "ゖ"
        else "katakana"
        if "ァ" <= ch <= "ヺ"
        else "kanji"
    )
    return rng.choice([c for c in _SLIPS[kind] if c != ch])


class Writer:
    def __init__(self, canvas: Canvas, tpl: Template, hand: Hand) -> None:
        self.c = canvas
        self.page_h = tpl.page.height_mm
        self.hand = hand
        self.font = reportlab_font(hand.font)

    def _pt(self, x: float, y: float) -> tuple[float, float]:
        return x * mm, (self.page_h - y) * mm

    def font_for(self, ch: str) -> str:
        """The hand's font, or the form's font where the hand's font has no glyph for ``ch``
        (some handwriting fonts lack 髙 or 﨑, or carry an empty glyph for them)."""
        if ch.isspace() or has_glyph(self.hand.font, ch):
            return self.font
        self.hand.fallbacks.add(ch)
        return reportlab_font(FORM_FONT)

    def glyph(self, ch: str, cx: float, cy: float, size_mm: float) -> None:
        """One character centred on (cx, cy) mm, in the hand's way."""
        self.hand.glyph(self, ch, cx, cy, size_mm)

    def line_text(self, text: str, box: Box, size_mm: float | None = None) -> None:
        """Free text along a box, left-aligned with a small margin, shrunk to fit.

        With the hand's ``strikeout`` probability one character is first written wrong, struck
        through with a double line (二重線, how a correction is made on a Japanese form) and then
        written right after it."""
        size_mm = size_mm or box.h * 0.55
        margin = min(2.0, box.w * 0.12)
        avail = box.w - 2 * margin
        chars = list(text)
        struck = -1
        h = self.hand
        if h.strikeout and text.strip() and h.rng.random() < h.strikeout:
            struck = h.rng.choice([i for i, ch in enumerate(chars) if not ch.isspace()])
            chars.insert(struck, slip_for(chars[struck], h.rng))
            h.struck.append(text)
        widths = [self._adv(ch, size_mm) for ch in chars]
        total = sum(widths)
        if total > avail:
            k = avail / total
            size_mm *= k
            widths = [w * k for w in widths]
        x = box.x + margin + abs(self.hand.j(margin))
        cy = box.y + box.h / 2
        h.begin_line()
        for i, (ch, w) in enumerate(zip(chars, widths, strict=True)):
            if not ch.isspace():
                self.glyph(ch, x + w / 2, cy, size_mm)
            if i == struck:
                self.strike(x, x + w, cy, size_mm)
            x += w

    def strike(self, x0: float, x1: float, cy: float, size_mm: float) -> None:
        """A double line through a character written in error."""
        r = self.hand.rng
        c = self.c
        c.saveState()
        c.setStrokeColor(self.hand.ink)
        c.setLineWidth(0.3 * mm)
        c.setLineCap(1)
        for dy in (-0.09, 0.09):
            p = c.beginPath()
            p.moveTo(*self._pt(x0 - r.uniform(0, 0.4), cy + dy * size_mm + r.gauss(0, 0.15)))
            p.lineTo(*self._pt(x1 + r.uniform(0, 0.4), cy + dy * size_mm + r.gauss(0, 0.15)))
            c.drawPath(p, stroke=1, fill=0)
        c.restoreState()

    def _adv(self, ch: str, size_mm: float) -> float:
        return self.hand.advance(self, ch, size_mm)

    def cells(self, chars: list[str], cells: list[Box]) -> None:
        self.hand.begin_line()
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


def _write_address_parts(w: Writer, lay: FieldLayout, value: str) -> None:
    """An address on a form that asks for it in parts: the town (the postal code says the prefecture
    and city), 丁目・番地・号 one digit a cell from the left, the building and room. Numbers that do
    not fit the cells (more than three, or too many digits) are written after the town instead."""
    from validation.address import block_parts, parse

    addr = parse(value)
    parts = block_parts(addr)
    fits = parts is not None and all(len(str(n)) <= len(lay.parts[p]) for p, n in parts.items())
    town = addr.town if fits else f"{addr.town}{addr.block_text()}{addr.extra}"
    if town:
        w.line_text(town, lay.parts["town"][0])
    for part, n in (parts or {}).items() if fits else ():
        w.cells(list(str(n)), lay.parts[part])
    if addr.building:
        w.line_text(addr.building, lay.parts["building"][0])


def _write_date(w: Writer, lay: FieldLayout, value: Any) -> None:
    date = dt.date.fromisoformat(str(value))
    era, year = to_wareki(date)
    if not lay.spec.part_boxes:  # a redesigned form: era tick boxes, two comb cells per part
        for m in lay.marks:
            if m.value == era:
                w.tick(m.box)
        w.cells(_right_aligned(str(year), 2), lay.parts["year"])
        w.cells(_right_aligned(str(date.month), 2), lay.parts["month"])
        w.cells(_right_aligned(str(date.day), 2), lay.parts["day"])
        return
    default = lay.spec.eras[0] if len(lay.spec.eras) == 1 else None
    code = next((c for c, e in lay.spec.era_codes.items() if e == era), None)
    if code is not None:  # the era's printed code, in its own box
        w.line_text(code, lay.parts["era"][0])
        default = era
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


def _write_cells(w: Writer, lay: FieldLayout, comb: Comb, value: Any) -> None:
    """One character a comb cell, as the kind's ``comb`` places them."""
    if comb is Comb.RIGHT:  # digits right-aligned (a count, yen)
        w.cells(_right_aligned(str(value), len(lay.cells)), lay.cells)
    elif comb is Comb.POSTAL:  # 3 + 4 cells, the hyphen printed between them
        w.cells(list(str(value).replace("-", "")), lay.cells)
    else:
        w.cells(list(str(value)), lay.cells)


def write_value(w: Writer, lay: FieldLayout, value: Any) -> None:
    """Write one field's value in its layout, as its kind's shape says; None writes nothing."""
    if value is None or value == [] or value is False:
        return
    spec = lay.spec
    kind = spec.kind
    if kind.shape is Shape.DATE:
        _write_date(w, lay, value)
    elif kind.shape is Shape.TICK:
        w.tick(lay.marks[0].box)
    elif kind.shape is Shape.TICKS:
        chosen = {value} if isinstance(value, str) else set(value)
        for m in lay.marks:
            if m.value in chosen:
                w.tick(m.box)
    elif kind.shape is Shape.CIRCLE:
        for m in lay.marks:
            if m.value == value:
                w.circle(m.box)
    elif kind.shape is Shape.SIGNATURE:
        w.signature(str(value) if isinstance(value, str) else "署名", lay.zone)
    elif kind.comb is not None and kind.in_cells(spec):
        _write_cells(w, lay, kind.comb, value)
    elif kind.address and lay.parts:
        _write_address_parts(w, lay, str(value))
    elif spec.lines or spec.pieces:  # one piece a line (or a box), what is left over in the last
        bands = line_bands(spec)
        pieces = kind.printed(value).split(spec.joiner if spec.pieces else LINE_JOIN)
        rest = (spec.joiner if spec.pieces else LINE_JOIN).join(pieces[len(bands) - 1 :])
        pieces = [*pieces[: len(bands) - 1], rest]
        for piece, band in zip(pieces, bands, strict=False):
            if piece:
                w.line_text(piece, band)
    else:  # a free box (a legacy form's own box too), written as a hand writes the value
        w.line_text(kind.printed(value), lay.zone)


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
    kind = spec.kind
    options = [o.value for o in spec.options]
    if value is None or value == "" or value == []:
        return None
    if kind.value is Value.DATE:
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
    if kind.value is Value.FLAG:
        # A signature may be given as the text signed (a sample's ink); it is present all the same.
        if isinstance(value, bool) or (kind.shape is Shape.SIGNATURE and isinstance(value, str)):
            return value
        raise _bad(spec, value, "true か false で書いてください", "write true or false")
    if kind.value is Value.OPTION:
        if value not in options:
            raise _bad(spec, value, f"選択肢は {', '.join(options)}", f"options are {', '.join(options)}")
        return value
    if kind.value is Value.OPTIONS:
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
    if kind.value is Value.INTEGER:
        digits = amount_text(str(value))
        if isinstance(value, bool) or not re.fullmatch(r"[0-9]+", digits):
            raise _bad(spec, value, "数字で書いてください", "write a whole number")
        value = int(digits)
        if (kind.shape is Shape.COMB or spec.cells) and len(str(value)) > (spec.cells or 1):
            raise _bad(spec, value, f"{spec.cells}桁までです", f"at most {spec.cells} digit(s)")
        return value
    if isinstance(value, (list, dict, bool)):
        raise _bad(spec, value, "文字で書いてください", "write text")
    text = str(value)
    if kind.value is Value.POSTAL:
        digits = text.replace("-", "")
        if not re.fullmatch(r"\d{7}", digits):
            raise _bad(spec, value, "郵便番号は 123-4567 の形です", "postal codes are 123-4567")
        return f"{digits[:3]}-{digits[3:]}"
    if kind.value is Value.DIGITS and not text.isdigit():
        raise _bad(spec, value, "数字だけで書いてください", "digits only")
    if kind.in_cells(spec) and spec.cells and len(text) > spec.cells:
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


def prefilled_pdf(tpl: Template, values: dict[str, Any], seal_text: str) -> bytes:
    """A counter slip (書かない窓口): the form with ``values`` typed in and the signed QR
    (:func:`formkit.render.draw_seal`) holding them. The signature stays empty, whatever ``values``
    say: the visitor signs the printed slip by hand, and the seal (made from
    :func:`formkit.seal.counter_values`) does not vouch for it either."""
    typed = counter_values(tpl, values)

    def seal(canvas: Canvas) -> None:
        draw_seal(canvas, tpl, seal_text)

    return filled_pdf(tpl, typed, typed_hand(), decorate=seal)


# --- a counter slip as printed, and a visitor's hand on it (ocr.print_check) ------------------------------


def expected_print(tpl: Template, values: dict[str, Any], px_per_mm: float) -> Any:
    """What a counter slip with ``values`` shows on paper (an RGB array at ``px_per_mm``, exactly the
    size of an aligned page, :func:`ocr.align.warp`): the form with the values typed, the signature
    left empty. The QR seal is left out: it lies outside every field's zone, which is all that
    :func:`ocr.print_check.check_print` compares."""
    import numpy as np

    from formkit.render import rasterize_pdf

    img = rasterize_pdf(
        filled_pdf(tpl, counter_values(tpl, values), typed_hand()), px_per_mm, tpl.page.width_mm
    )
    h, w = round(tpl.page.height_mm * px_per_mm), round(tpl.page.width_mm * px_per_mm)
    img = img[:h, :w]  # pdfium rounds the page's points up by a pixel at times
    return np.pad(img, ((0, h - img.shape[0]), (0, w - img.shape[1]), (0, 0)), constant_values=255)


def write_correction(w: Writer, lay: FieldLayout, value: Any, span: Box | None = None) -> None:
    """A visitor's correction of a printed value, made as on any Japanese form: a double line (二重線)
    through what is wrong (``span``, mm: the printed value or one character of it) and the right
    ``value`` written beside it where the zone has room, else above it; ticks, circles, dates and comb
    cells get the new value in their own places. Without ``span`` the value is written straight over
    the printed one (a digit overwritten), with nothing struck."""
    spec = lay.spec
    free_line = (
        lay.spec.kind.shape is Shape.LINE
        and not lay.cells
        and not lay.parts
        and not spec.lines
        and not spec.pieces
    )
    if span is not None:
        w.strike(span.x, span.x2, span.y + span.h / 2, span.h)
    if span is None or not free_line:
        write_value(w, lay, value)
        return
    text = spec.kind.printed(value)
    zone = lay.zone
    if zone.x2 - span.x2 >= 20.0:
        w.line_text(text, Box(x=span.x2 + 1.0, y=zone.y, w=zone.x2 - span.x2 - 1.5, h=zone.h))
    else:
        top = max(span.y - zone.y, zone.h * 0.4)
        w.line_text(text, Box(x=span.x, y=zone.y, w=zone.x2 - span.x, h=top), size_mm=top * 0.8)
