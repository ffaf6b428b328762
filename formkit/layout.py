"""Geometry derived from a template: the one place that decides where every line and zone goes.

The renderer draws what this module returns and the reader crops what this module returns; neither
computes a coordinate of its own. Pure functions over the template model, all in millimetres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from core.errors import TemplateError
from formkit.kinds import Comb, Shape
from formkit.model import Box, FieldSpec, Template

#: Registration marks: solid squares centred this far in from each page corner.
MARK_SIZE_MM = 6.0
MARK_INSET_MM = 12.0
#: Form-ID strip: ID_BITS cells in one row, left to right, along the top margin.
ID_BITS = 32
ID_CELL_W_MM = 3.0
ID_CELL_H_MM = 3.0
ID_X_MM = 40.0
ID_Y_MM = MARK_INSET_MM - ID_CELL_H_MM / 2
#: Left page margin where label cells start.
MARGIN_MM = 15.0

DATE_PART_TEXT = {"year": "年", "month": "月", "day": "日"}
#: An address asked for in parts: the block-number row, as (part, comb cells, unit printed after).
#: 番地 takes four digits (芋窪1234番地), 丁目 two, 号 three; the 番地 cells take a 番 as well.
ADDRESS_BLOCKS = (("chome", 2, "丁目"), ("ban", 4, "番地"), ("go", 3, "号"))
#: Printed left of the free parts of an address, where the field's box leaves room.
ADDRESS_CAPTIONS = {"town": "町名", "building": "建物名・部屋"}
_ADDRESS_UNIT_W = {"丁目": 8.0, "番地": 8.0, "号": 5.0}


@dataclass(frozen=True)
class Text:
    """A piece of printed text inside a field's zone (年, 〒, an option's label...)."""

    text: str
    box: Box


@dataclass(frozen=True)
class Mark:
    """The place that stands for one option value: a tick box, or for CHOICE the area a circle drawn
    around the printed word covers (``label`` is the word itself)."""

    value: str
    box: Box
    label: Text | None = None


@dataclass(frozen=True)
class FieldLayout:
    spec: FieldSpec
    zone: Box
    label_box: Box
    cells: list[Box] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    #: DATE: ``year``/``month``/``day`` → their cells. ADDRESS in parts: ``town`` and ``building`` → their
    #: box, ``chome``/``ban``/``go`` → their cells.
    parts: dict[str, list[Box]] = field(default_factory=dict)
    texts: list[Text] = field(default_factory=list)


def mark_centres(tpl: Template) -> list[tuple[float, float]]:
    """Centres of the four registration marks, clockwise from top-left."""
    w, h, d = tpl.page.width_mm, tpl.page.height_mm, MARK_INSET_MM
    return [(d, d), (w - d, d), (w - d, h - d), (d, h - d)]


def mark_boxes(tpl: Template) -> list[Box]:
    """The four solid registration marks."""
    s = MARK_SIZE_MM
    return [Box(x=cx - s / 2, y=cy - s / 2, w=s, h=s) for cx, cy in mark_centres(tpl)]


def id_cells() -> list[Box]:
    return [
        Box(x=ID_X_MM + i * ID_CELL_W_MM, y=ID_Y_MM, w=ID_CELL_W_MM, h=ID_CELL_H_MM) for i in range(ID_BITS)
    ]


def id_text_box() -> Box:
    """The printed 様式ID text to the right of the form-ID strip."""
    last = id_cells()[-1]
    return Box(x=last.x2 + 3, y=last.y, w=55, h=last.h)


def header_boxes(tpl: Template) -> dict[str, Box]:
    """Where a redesigned form prints its title, addressee and instruction line."""
    w = tpl.page.width_mm
    return {
        "title": Box(x=20, y=17, w=w - 40, h=10),
        "addressee": Box(x=w - 75, y=28, w=60, h=5),
        "instructions": Box(x=15, y=33.5, w=w - 30, h=4),
    }


def example_stamp_box(tpl: Template) -> Box:
    """The red 記入例 stamp of an example sheet: left of the title, or top right on a legacy form."""
    if tpl.legacy:
        return Box(x=tpl.page.width_mm - 52, y=4, w=34, h=14)
    return Box(x=17, y=16, w=34, h=14)


def split_across(box: Box, n: int) -> list[Box]:
    """``box`` cut into ``n`` equal cells side by side."""
    cw = box.w / n
    return [Box(x=box.x + i * cw, y=box.y, w=cw, h=box.h) for i in range(n)]


def _tick_box(x: float, box: Box) -> Box:
    side = min(box.h * 0.6, 5.0)
    return Box(x=x, y=box.y + (box.h - side) / 2, w=side, h=side)


def _option_slots(spec: FieldSpec, box: Box) -> list[Box]:
    n = len(spec.options)
    cols = spec.columns or n
    rows = math.ceil(n / cols)
    sw, sh = box.w / cols, box.h / rows
    return [Box(x=box.x + (i % cols) * sw, y=box.y + (i // cols) * sh, w=sw, h=sh) for i in range(n)]


def _comb(spec: FieldSpec, box: Box) -> tuple[list[Box], list[Text]]:
    n = spec.cells or 1
    texts: list[Text] = []
    unit_w = 7.0 if spec.unit else 0.0
    cw = min((box.w - unit_w) / n, box.h * 1.2)
    cells = [Box(x=box.x + i * cw, y=box.y, w=cw, h=box.h) for i in range(n)]
    if spec.unit:
        texts.append(Text(spec.unit, Box(x=box.x + n * cw + 1, y=box.y, w=unit_w - 1, h=box.h)))
    return cells, texts


def _postal(box: Box) -> tuple[list[Box], list[Text]]:
    sym_w, dash_w = 6.0, 4.0
    cw = min((box.w - sym_w - dash_w) / 7, box.h * 1.2)
    x = box.x + sym_w
    cells = [Box(x=x + i * cw, y=box.y, w=cw, h=box.h) for i in range(3)]
    x2 = x + 3 * cw + dash_w
    cells += [Box(x=x2 + i * cw, y=box.y, w=cw, h=box.h) for i in range(4)]
    texts = [
        Text("〒", Box(x=box.x, y=box.y, w=sym_w - 1, h=box.h)),
        Text("-", Box(x=x + 3 * cw, y=box.y, w=dash_w, h=box.h)),
    ]
    return cells, texts


def _date(spec: FieldSpec, box: Box) -> tuple[list[Mark], dict[str, list[Box]], list[Text]]:
    marks: list[Mark] = []
    texts: list[Text] = []
    x = box.x
    if len(spec.eras) == 1:
        texts.append(Text(spec.eras[0], Box(x=x, y=box.y, w=12.0, h=box.h)))
        x += 13.0
    else:
        for era in spec.eras:
            tick = _tick_box(x, box)
            label = Text(era, Box(x=tick.x2 + 0.8, y=box.y, w=9.0, h=box.h))
            marks.append(Mark(era, tick, label))
            x = label.box.x2 + 1.5
    unit_w = 5.5
    cw = min((box.x2 - x - 3 * unit_w) / 6, box.h * 1.1)
    parts: dict[str, list[Box]] = {}
    for part, unit in DATE_PART_TEXT.items():
        parts[part] = [Box(x=x + i * cw, y=box.y, w=cw, h=box.h) for i in range(2)]
        x += 2 * cw
        texts.append(Text(unit, Box(x=x + 0.5, y=box.y, w=unit_w - 1, h=box.h)))
        x += unit_w
    return marks, parts, texts


def _address(spec: FieldSpec) -> tuple[dict[str, list[Box]], list[Text]]:
    """An address in parts: town and building boxes with a caption at their left (where ``box``
    leaves room), and 丁目・番地・号 as comb cells with their units printed after them."""
    pb, zone = spec.part_boxes, spec.box
    parts: dict[str, list[Box]] = {}
    texts: list[Text] = []
    for key, caption in ADDRESS_CAPTIONS.items():
        b = pb[key]
        parts[key] = [b]
        if b.x - zone.x >= 8.0:
            texts.append(Text(caption, Box(x=zone.x + 0.5, y=b.y, w=b.x - zone.x - 1.5, h=b.h)))
    row = pb["block"]
    units = sum(_ADDRESS_UNIT_W[u] for _, _, u in ADDRESS_BLOCKS)
    n = sum(k for _, k, _ in ADDRESS_BLOCKS)
    cw = min((row.w - units) / n, row.h * 1.1)
    x = row.x
    for part, k, unit in ADDRESS_BLOCKS:
        parts[part] = [Box(x=x + i * cw, y=row.y, w=cw, h=row.h) for i in range(k)]
        x += k * cw
        texts.append(Text(unit, Box(x=x + 0.5, y=row.y, w=_ADDRESS_UNIT_W[unit] - 1.0, h=row.h)))
        x += _ADDRESS_UNIT_W[unit]
    return parts, texts


def circle_area(word: Box, within: Box) -> Box:
    """Where a circle drawn around a printed word lies: the word plus a margin, kept inside its slot."""
    x, y = max(word.x - 2.5, within.x), max(word.y - 1.8, within.y)
    return Box(x=x, y=y, w=min(word.x2 + 2.5, within.x2) - x, h=min(word.y2 + 1.8, within.y2) - y)


def _option_marks(spec: FieldSpec) -> list[Mark]:
    out = []
    for o in spec.options:
        if o.box is not None:
            out.append(Mark(o.value, o.box, None))
    return out


def layout_field(spec: FieldSpec) -> FieldLayout:
    box = spec.box
    label_box = spec.label_box or Box(x=MARGIN_MM, y=box.y, w=max(box.x - 1.0 - MARGIN_MM, 5.0), h=box.h)
    cells: list[Box] = []
    marks: list[Mark] = []
    parts: dict[str, list[Box]] = {}
    texts: list[Text] = []
    kind = spec.kind
    if kind.in_cells(spec) and kind.comb is Comb.POSTAL:
        cells, texts = _postal(box)
    elif kind.in_cells(spec):
        cells, texts = _comb(spec, box)
    elif kind.address and spec.part_boxes:
        parts, texts = _address(spec)
    elif kind.shape is Shape.DATE and spec.part_boxes:
        parts = {
            k: split_across(b, spec.cells) if spec.cells and k != "era" else [b]
            for k, b in spec.part_boxes.items()
        }
        marks = _option_marks(spec)
    elif kind.shape is Shape.DATE:
        marks, parts, texts = _date(spec, box)
    elif kind.shape is Shape.TICK:
        marks = [Mark("true", _tick_box(box.x + 1.0, box))]
    elif spec.options and all(o.box is not None for o in spec.options):
        marks = _option_marks(spec)  # legacy: the form prints the options where it likes
    elif kind.shape is Shape.TICKS:
        for opt, slot in zip(spec.options, _option_slots(spec, box), strict=True):
            tick = _tick_box(slot.x + 1.0, slot)
            label = Text(opt.label, Box(x=tick.x2 + 1.0, y=slot.y, w=slot.x2 - tick.x2 - 1.5, h=slot.h))
            marks.append(Mark(opt.value, tick, label))
    elif kind.shape is Shape.CIRCLE:
        for opt, slot in zip(spec.options, _option_slots(spec, box), strict=True):
            lw = min(slot.w - 4.0, 4.0 * len(opt.label) + 2.0)
            lh = min(slot.h - 2.0, 5.0)
            word = Box(x=slot.x + (slot.w - lw) / 2, y=slot.y + (slot.h - lh) / 2, w=lw, h=lh)
            marks.append(Mark(opt.value, circle_area(word, slot), Text(opt.label, word)))
    return FieldLayout(
        spec=spec, zone=box, label_box=label_box, cells=cells, marks=marks, parts=parts, texts=texts
    )


def line_bands(spec: FieldSpec) -> list[Box]:
    """Where a free field is written piece by piece: its ``pieces``, or its ``lines`` top to bottom;
    its box otherwise."""
    if spec.pieces:
        return list(spec.pieces)
    n = spec.lines or 1
    b = spec.box
    return [Box(x=b.x, y=b.y + i * b.h / n, w=b.w, h=b.h / n) for i in range(n)]


def layout(tpl: Template) -> list[FieldLayout]:
    return [layout_field(f) for f in tpl.fields]


# --- the seal: a counter slip's signed QR (formkit.seal) -------------------------------------------

#: The seal's QR square is at least this big (quiet zone included): a smaller QR does not survive a
#: scan of a full seal (see ``formkit.render.SEAL_MIN_MODULE_MM``).
SEAL_MIN_MM = 18.0
#: Nor bigger than this: more paper buys nothing once the modules are large enough for a fax.
SEAL_MAX_MM = 42.0
#: Free paper kept between the seal and anything printed: with the QR's own one-module border, the
#: quiet zone a reader needs, and a gap no registration-mark search merges across.
SEAL_CLEAR_MM = 2.0
#: Kept clear along the sheet's edges: printers' unprintable margin, a scanner's cropping.
SEAL_EDGE_MM = 6.0
#: The band under the QR for its tiny caption.
SEAL_CAPTION_MM = 2.6
SEAL_CAPTION = "窓口で作成（署名付きQR）"
#: Resolution of the free-space search (px per mm).
_SEAL_GRID = 2.0


def printed_boxes(tpl: Template) -> list[Box]:
    """What this module places on the page: registration marks, the whole form-ID strip (its white
    cells are read too) and its text, framed or shaded static boxes, and every field's zone, label,
    cells, marks and texts. Text whose width only the font knows (title, instructions, a legacy
    master's whole print) is measured on the printed page instead (:func:`seal_box`)."""
    boxes: list[Box] = []
    if not tpl.legacy:
        boxes += mark_boxes(tpl) + id_cells() + [id_text_box()]
    boxes += [st.box for st in tpl.static if st.frame or st.shade]
    for lay in layout(tpl):
        boxes += [lay.zone, lay.label_box, *lay.cells, *(t.box for t in lay.texts)]
        boxes += [m.box for m in lay.marks] + [m.label.box for m in lay.marks if m.label is not None]
        boxes += [b for cells in lay.parts.values() for b in cells]
    return boxes


def _largest_free_square(busy: np.ndarray, below: int = 0) -> tuple[int, int, int]:
    """(side, x, y) in grid cells of the largest square of ``False`` in ``busy`` that has ``below``
    more free rows under it, by binary search over the side with a summed-area table: a rectangle
    is free when its sum is 0."""
    sat = np.pad(busy.astype(np.int32), ((1, 0), (1, 0))).cumsum(0).cumsum(1)

    def fits(s: int) -> tuple[int, int] | None:
        t = s + below
        if s > busy.shape[1] or t > busy.shape[0]:
            return None
        inside = sat[t:, s:] - sat[:-t, s:] - sat[t:, :-s] + sat[:-t, :-s]
        ys, xs = np.nonzero(inside == 0)
        return (int(xs[0]), int(ys[0])) if len(xs) else None

    lo, hi, best = 0, min(busy.shape), (0, 0, 0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        at = fits(mid)
        if at is None:
            hi = mid - 1
        else:
            lo, best = mid, (mid, *at)
    return best


def _grow(busy: np.ndarray, r: int) -> np.ndarray:
    """``busy`` with every cell's ``r`` neighbours each way busy too (a square max filter)."""
    rows = busy.copy()
    for d in range(1, r + 1):
        rows[d:] |= busy[:-d]
        rows[:-d] |= busy[d:]
    out = rows.copy()
    for d in range(1, r + 1):
        out[:, d:] |= rows[:, :-d]
        out[:, :-d] |= rows[:, d:]
    return out


def _outside_frames(busy: np.ndarray) -> np.ndarray:
    """The paper reachable from the sheet's edge without crossing print: not inside any frame."""
    free = ~busy
    out = np.zeros_like(free)
    out[0, :], out[-1, :], out[:, 0], out[:, -1] = free[0, :], free[-1, :], free[:, 0], free[:, -1]
    while True:  # a flood fill by whole-array steps: a few hundred at most on a 2 px/mm page
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        grown &= free
        if (grown == out).all():
            return out
        out = grown


@lru_cache(maxsize=32)
def _blank_ink(tpl_key: str, tpl_json: str) -> np.ndarray:
    from formkit.render import master_image

    page = master_image(Template.model_validate_json(tpl_json), _SEAL_GRID)
    ink = page.min(axis=2) < 200 if page.ndim == 3 else page < 200
    ink.setflags(write=False)
    return ink


def seal_box(tpl: Template, *, ink: np.ndarray | None = None, min_mm: float = SEAL_MIN_MM) -> Box:
    """Where a counter slip's signed QR goes, in millimetres: the QR in the square of side ``w`` at
    the top, its caption in the band ``SEAL_CAPTION_MM`` tall under it (``h = w + SEAL_CAPTION_MM``).
    The square is the largest one free on the page, at most ``SEAL_MAX_MM`` (centred in the free
    room when that is bigger): the bigger the QR's modules, the worse a scan it survives.

    Free means ``SEAL_CLEAR_MM`` away from everything :func:`printed_boxes` places and from every
    dark pixel of the blank page as printed (``ink``: a boolean mask of the whole page at any
    resolution; by default the blank form's own raster, :func:`formkit.render.master_image`, which
    for a legacy form is the only account of what it prints), and ``SEAL_EDGE_MM`` in from the
    sheet's edges. Only paper outside the form's frames counts: a legacy form's blank cells are for
    writing, even those the template does not read. A form without a free square of ``min_mm`` is a
    :class:`TemplateError`: it cannot be printed at the counter until its layout leaves room.
    """
    blank = _blank_ink(tpl.key, tpl.model_dump_json()) if ink is None else ink
    g = _SEAL_GRID
    h, w = round(tpl.page.height_mm * g), round(tpl.page.width_mm * g)
    if blank.shape != (h, w):
        ys = (np.arange(h) * blank.shape[0] / h).astype(int)
        xs = (np.arange(w) * blank.shape[1] / w).astype(int)
        blank = blank[ys][:, xs]
    busy = blank.astype(bool)
    for b in printed_boxes(tpl):
        busy[max(int(b.y * g), 0) : math.ceil(b.y2 * g), max(int(b.x * g), 0) : math.ceil(b.x2 * g)] = True
    busy = _grow(busy | ~_outside_frames(busy), math.ceil(SEAL_CLEAR_MM * g))
    e = math.ceil(SEAL_EDGE_MM * g)
    busy[:e], busy[-e:], busy[:, :e], busy[:, -e:] = True, True, True, True
    side, x, y = _largest_free_square(busy, math.ceil(SEAL_CAPTION_MM * g))
    side_mm = side / g
    if side_mm < min_mm:
        raise TemplateError(
            f"様式 {tpl.id} に窓口用の署名付きQRを印刷する余白がありません"
            f"（{min_mm:.0f}mm 四方が必要、最大 {side_mm:.1f}mm）",
            f"form {tpl.id} has no room for the counter slip's signed QR "
            f"(needs {min_mm:.0f} mm square of blank paper, the largest is {side_mm:.1f} mm)",
        )
    size = min(side_mm, SEAL_MAX_MM)
    pad = (side_mm - size) / 2
    return Box(x=x / g + pad, y=y / g + pad, w=size, h=size + SEAL_CAPTION_MM)
