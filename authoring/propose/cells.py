"""The ruled cells as the proposer sees them: what each holds (a label, nothing to write over, printed
options, an era), how boxes sit next to one another, and which neighbouring cells make one field
(a comb, a date's cells with 年 月 日 between them). Box geometry lives here because only cells need it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from authoring.propose.model import Text
from authoring.propose.words import clean, era_of, inside, is_marker, is_note, is_unit, option_items
from formkit.model import Box

#: Cells in one row: tops and heights within this; touching: gap within LINE_GAP_MM.
ROW_TOL_MM = 1.0
LINE_GAP_MM = 1.5
#: A comb cell is narrow (at most this wide, and not much wider than high).
COMB_MAX_W_MM = 10.0
#: A narrow cell with more of its area inked than this holds a label, whatever OCR made of it.
LABEL_INK = 0.05
#: A narrow tall cell with more of it inked than this holds a vertical heading (a blank one is 0).
VERTICAL_INK = 0.01
#: Between two cells of one field (a date's 「□□年□□月」, a postal code's 「□□□-□□□□」) at most this gap.
UNIT_GAP_MM = 9.0
#: A cell holding only one of these separates two combs (事業所整理記号 「□□－□□□」).
DASHES = set("-－ー―—−")


# --- boxes --------------------------------------------------------------------------------------------------


def same_row(a: Box, b: Box) -> bool:
    return abs(a.y - b.y) <= ROW_TOL_MM and abs(a.y2 - b.y2) <= ROW_TOL_MM


def right_of(a: Box, b: Box) -> bool:
    """b starts where a ends (across one ruled line)."""
    return same_row(a, b) and -0.5 <= b.x - a.x2 <= LINE_GAP_MM


def overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def union(boxes: list[Box]) -> Box:
    return Box.around(boxes)


def iou(a: Box, b: Box) -> float:
    return a.iou(b)


def is_square(b: Box) -> bool:
    return 2.5 <= b.w <= 6.5 and 0.8 <= b.w / b.h <= 1.25


# --- what a cell holds --------------------------------------------------------------------------------------


def is_hint(t: Text, cell: Box) -> bool:
    """Print inside a cell to write in: units (年, 円), notes in brackets, small print along its top."""
    return (
        is_unit(t.text)
        or is_marker(t.text)
        or is_note(t.text)
        or (
            cell.w >= 25.0  # a big cell to write in, with small print along its top
            and t.box.h <= 0.3 * cell.h
            and t.box.w <= 0.5 * cell.w
            and t.box.y - cell.y <= 0.3 * cell.h
        )
    )


@dataclass
class Cell:
    box: Box
    texts: list[Text]
    kind: str  # "label", "blank" (nothing or only hints), "options", "era"
    items: list[tuple[str, Box]] = field(default_factory=list)
    #: Printed tick boxes (□) inside it.
    squares: list[Box] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "".join(clean(t.text) for t in self.texts if not is_unit(t.text) and not is_marker(t.text))

    @property
    def notes(self) -> list[Text]:
        """Its own words (a note, small print): not units, not numbers."""
        return [t for t in self.texts if not is_unit(t.text) and not is_marker(t.text)]


def classify(box: Box, texts: list[Text], ink: float = 0.0) -> Cell:
    """What a cell is, from the text printed in it and how much of it is inked (``ink``, 0-1)."""
    mine = sorted((t for t in texts if inside(t, box)), key=lambda t: (round(t.box.y), t.box.x))
    items = [it for t in mine for it in option_items(t)]
    eras = [t for t in mine if era_of(t.text)]
    if eras and all(era_of(t.text) or is_hint(t, box) for t in mine):
        return Cell(box, mine, "era")
    # Options; but words split at ・ with a line of their own beside them are a label with a ・ in
    # it (「病状・治療／状態」), where numbered options (1.男 2.女) stay options under any heading.
    dotted = not any(re.match(r"\d", s) for s, _ in items)
    if len(items) >= 2 and not (dotted and any(not option_items(t) and not is_hint(t, box) for t in mine)):
        return Cell(box, mine, "options", items)
    if ink > VERTICAL_INK and box.w < 15.0 and box.h > 2.5 * box.w:
        return Cell(box, mine, "label")  # a vertical heading (所有者 down a narrow cell): OCR skips it
    if all(is_hint(t, box) for t in mine) and not (ink > LABEL_INK and box.w < 25.0 and mine):
        return Cell(box, mine, "blank")
    return Cell(box, mine, "label")


def cell_of(run: list[Cell], t: Text) -> Cell:
    return next((c for c in run if inside(t, c.box)), run[0])


# --- cells that make one field ------------------------------------------------------------------------------


def gap_texts(a: Box, b: Box, texts: list[Text]) -> list[Text]:
    return [t for t in texts if a.x2 - 0.5 <= t.cx <= b.x + 0.5 and a.y <= t.cy <= a.y2]


def runs(cells: list[Cell], loose: list[Text]) -> list[tuple[list[Cell], list[Text]]]:
    """Non-label cells in one row, left to right, that make one field (a comb, a date's cells), with
    the loose text between them (年, 月, -). A run goes on into cells with nothing of their own to say
    (empty, or a unit: 年, 円), across a ruled line or a gap holding only a unit; a cell with its own
    words (a note, options) starts a new field."""
    todo = sorted((c for c in cells if c.kind != "label"), key=lambda c: (round(c.box.y), c.box.x))
    seen: set[int] = set()
    out = []
    for c in todo:
        if id(c) in seen:
            continue
        run, between = [c], []
        seen.add(id(c))
        while run[-1].kind != "options":
            a = run[-1].box
            nxt = sorted(
                (d for d in todo if id(d) not in seen and same_row(a, d.box) and d.box.x >= a.x2 - 0.5),
                key=lambda d: d.box.x,
            )
            if not nxt or nxt[0].kind == "options" or nxt[0].notes:
                break
            gap = nxt[0].box.x - a.x2
            words = gap_texts(a, nxt[0].box, loose)
            # Across a gap: the unit printed in it (年, -), or, where OCR saw nothing there, comb cells.
            combs = all(not c.texts and c.box.w <= COMB_MAX_W_MM for c in (run[-1], nxt[0]))
            bridge = all(is_unit(t.text) or clean(t.text) in ("T", "〒") for t in words) and bool(
                words or combs
            )
            if gap > LINE_GAP_MM and not (gap <= UNIT_GAP_MM and bridge):
                break
            if any(
                c.kind == "label" and same_row(a, c.box) and a.x2 <= c.box.x < nxt[0].box.x for c in cells
            ):
                break
            run.append(nxt[0])
            between += words
            seen.add(id(nxt[0]))
        out.append((run, between))
    return out


def is_comb(run: list[Cell]) -> bool:
    ws = [c.box.w for c in run]
    med = float(np.median(ws))
    return (
        len(run) >= 2
        and all(c.kind == "blank" and not c.texts for c in run)
        and med <= COMB_MAX_W_MM
        and all(abs(w - med) <= 0.25 * med for w in ws)
        and all(c.box.w <= 1.4 * c.box.h for c in run)
    )


def split_at_dashes(run: list[Cell]) -> list[list[Cell]]:
    """事業所整理記号 「□□－□□□」: a cell holding only a dash, or a sliver between comb cells,
    separates two combs."""
    med = float(np.median([c.box.w for c in run]))
    out: list[list[Cell]] = [[]]
    for c in run:
        dash = c.texts and all(set(clean(t.text)) <= DASHES for t in c.texts)
        if dash or (len(run) >= 4 and med <= COMB_MAX_W_MM and c.box.w < 0.7 * med):
            out.append([])
        else:
            out[-1].append(c)
    return [r for r in out if r]
