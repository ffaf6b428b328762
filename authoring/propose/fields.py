"""The proposed fields of a blank form page, step by step: tick boxes, options printed beside a label,
dates written into the gaps of the print, then each run of cells to write in (a date, options to
circle, a comb, bands of a tall cell, or one text field), then tick boxes and options outside any cell.
The steps share one :class:`_Page`; they run in a fixed order because field names are numbered in the
order fields are found (``field_01``, ``name_01``)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from authoring.propose.cells import (
    COMB_MAX_W_MM,
    Cell,
    classify,
    iou,
    is_comb,
    is_square,
    overlap,
    right_of,
    runs,
    same_row,
    split_at_dashes,
    union,
)
from authoring.propose.dates import date_field
from authoring.propose.labels import guess_name, guess_type, label_clusters, label_for, left_label
from authoring.propose.lines import (
    dotted_columns,
    dotted_lines,
    horizontal_lines,
    ink_shares,
    ink_stretches,
    print_mask,
    respaced,
    ruled_cells,
    tick_squares,
)
from authoring.propose.model import Option, Proposed, Text
from authoring.propose.options import (
    centred,
    circle_area,
    free_options,
    option_rows,
    option_values,
    separate,
    tick_words,
)
from authoring.propose.slots import slots
from authoring.propose.words import ERA_NAMES, clean, era_of, inside, is_note, is_unit
from formkit.model import Box, FieldType
from ocr.imaging import printed_text

#: A ruled cell is the inside of its lines; a tick box's square is that and its frame.
SQUARE_FRAME_MM = 0.3
#: A tick is looked for a little beyond its square: a hurried ✓ or ✗ overshoots the frame.
MARK_MARGIN_MM = 0.3


def propose(gray: np.ndarray, px_per_mm: float, texts: list[Text]) -> list[Proposed]:
    """Proposed fields for a blank form page (grey image, its resolution, its printed text lines)."""
    texts = respaced(texts, gray, px_per_mm)
    boxes = ruled_cells(gray, px_per_mm)
    cells = [classify(b, texts, s) for b, s in zip(boxes, ink_shares(gray, px_per_mm, boxes), strict=True)]
    squares, cells = _tick_boxes(gray, px_per_mm, cells)
    _options_beside_labels(cells)
    found = tick_words(squares, texts)
    page = _Page(cells, texts, squares, [(b, w) for b, w, _ in found], {id(b): t for b, _, t in found})
    loose = [t for t in texts if not any(inside(t, c.box) for c in cells)]
    for whole, between in runs(cells, loose):
        page.used_texts.update(id(t) for t in between)
        postal = guess_type(label_for(whole, cells, texts)[0]) is FieldType.POSTAL
        for run in [whole] if postal else split_at_dashes(whole):
            _add_run(page, run, between, loose)
    _add_free_ticks(page)
    _add_free_options(page)
    for label, opts in option_rows(cells, texts, _places(page.out)):
        page.add(label, FieldType.CHOICE, union([o.box for o in opts]), options=opts)
    dotted = [d for d in dotted_lines(gray, px_per_mm) if not any(_crosses(d, t.box) for t in texts)]
    lines = horizontal_lines(gray, px_per_mm) + dotted
    dates = [f.box for f in page.out if f.type is FieldType.DATE and f.part_boxes]
    page.out += [
        f for f in slots(cells, texts, lines, page.taken, _places(page.out)) if not _within_any(f.box, dates)
    ]
    text = printed_text(gray, px_per_mm, 0)
    staff = [t.box for t in texts if STAFF_ONLY.search(clean(t.text))]
    kept = [f for f in page.out if not _staff_only(f, cells, staff) and not _over_print(f, text, px_per_mm)]
    for f in kept:
        if f.part_boxes and not f.cells and (n := _dotted_digits(f, gray, px_per_mm, texts)):
            f.cells = n
        if f.type is FieldType.PHONE and not f.pieces and (pieces := _phone_pieces(f.box, text, px_per_mm)):
            f.pieces, f.box = pieces, union(pieces)
    ink = print_mask(gray, px_per_mm)
    for f in kept:
        if f.options and f.type is FieldType.CHOICE:
            _centre_options(f.options, ink, px_per_mm)
    across = [part for f in kept for part in _split_across(f, dotted, cells, texts, page.taken)]
    return [part for f in across for part in _split_at_dots(f, gray, px_per_mm, texts, page.taken)]


def _split_across(
    f: Proposed, dotted: list[Box], cells: list[Cell], texts: list[Text], taken: set[str]
) -> list[Proposed]:
    """A field to write in that a dotted line runs right across (two rows of a table the form parts with
    dots, 「主たる傷病名／傷病名コード」) is one field a row, the lower ones named by their row's label."""
    if (
        f.options
        or f.part_boxes
        or f.cells
        or f.lines
        or f.pieces
        or f.type in (FieldType.CHECKBOX, FieldType.DATE)
    ):
        return [f]
    b = f.box
    cuts = sorted(
        d.y + d.h / 2
        for d in dotted
        if b.y + SPLIT_ROW_MM < d.y + d.h / 2 < b.y2 - SPLIT_ROW_MM
        and overlap(d.x, d.x2, b.x, b.x2) >= 0.8 * b.w
    )
    if not cuts:
        return [f]
    edges = [b.y, *cuts, b.y2]
    out = []
    for i, (y0, y1) in enumerate(itertools.pairwise(edges)):
        box = Box(x=b.x, y=y0, w=b.w, h=y1 - y0)
        label = f.label if i == 0 else (left_label(box, cells, texts) or f"{f.label}（{i + 1}）")
        name = f.name if i == 0 else guess_name(label, taken)
        out.append(Proposed(name, label, f.type if i == 0 else guess_type(label), box))
    return out


#: A dotted line parts a field into rows when each row is at least this high.
SPLIT_ROW_MM = 3.0


#: The office's own boxes: the applicant writes nothing there, so nothing is read there.
STAFF_ONLY = re.compile(
    r"受付印|受付日付印|職員記入|記入しないで|事務処理|処理欄|市区?町村記入|整理欄|決裁|収受印"
)


#: A place to write proposed over this much printed text is a label, not a blank (the reader would
#: refuse to trust it: ocr.fields.PRINT_SHARE_LIMIT, 0.10, and up to about 0.15 where a caption such
#: as （ふりがな） is printed in a cell to write in; a label cell is 0.25 and more).
OVER_PRINT = 0.25


def _over_print(f: Proposed, text: np.ndarray, px_per_mm: float) -> bool:
    """A field to write in whose every place is mostly printed text: a label taken for a blank."""
    if f.options and f.type in (FieldType.CHOICE, FieldType.CHECKBOXES):
        return False
    places = list(f.part_boxes.values()) or [f.box]

    def share(b: Box) -> float:
        i = b.inset(0.7)
        part = text[
            round(i.y * px_per_mm) : round(i.y2 * px_per_mm), round(i.x * px_per_mm) : round(i.x2 * px_per_mm)
        ]
        return float(part.mean()) if part.size else 0.0

    return all(share(b) >= OVER_PRINT for b in places)


def _centre_options(options: list[Option], ink: np.ndarray, px_per_mm: float) -> None:
    """Each option's circle area on the print it circles (see :func:`centred`), then apart again.
    Print spaced wider than OCR's characters (「要支援（　１　２　）」) shifts an option by more than half
    its width: an option with no print near its middle then looks a whole width either side, for
    print no other option stands on (the options keep one stretch each)."""
    near: dict[int, list[tuple[float, float]]] = {}
    for o in options:
        b = o.box  # its middle half in height (rows above and below may reach into it), and beside it
        look = Box(x=b.x - b.w, y=b.y + b.h / 4, w=3 * b.w, h=b.h / 2)
        near[id(o)] = ink_stretches(ink, px_per_mm, look)
    moved = {id(o): centred(o.box, near[id(o)]) for o in options}
    claimed = [(m.x, m.x2, m.y) for o in options if (m := moved[id(o)]) != o.box]
    for o in options:
        if moved[id(o)] == o.box:
            free = [
                (a, c)
                for a, c in near[id(o)]
                if not any(x0 <= (a + c) / 2 <= x1 and abs(y - o.box.y) < o.box.h for x0, x1, y in claimed)
            ]
            moved[id(o)] = centred(o.box, free, reach=1.0)
    for o in options:
        o.box = moved[id(o)]
    separate(options)


def _within_any(box: Box, owners: list[Box]) -> bool:
    """A blank found in the print of a date's own cells (the gap before its 年, printed over the
    digits' cells) is that date's unit, not a field of its own."""
    return any(
        overlap(box.x, box.x2, o.x, o.x2) * overlap(box.y, box.y2, o.y, o.y2) >= 0.6 * box.w * box.h
        for o in owners
    )


def _dotted_digits(f: Proposed, gray: np.ndarray, px_per_mm: float, texts: list[Text]) -> int | None:
    """A date whose every part cell dotted lines cut into equal boxes (「│ : 年│ : 月│」, one digit a
    box, as a comb is ruled): the number of boxes a part, the same in each; else None."""
    skip = [t.box for t in texts]
    counts = set()
    for b in f.part_boxes.values():
        cols = dotted_columns(gray, px_per_mm, b, skip)
        edges = [b.x, *cols, b.x2]
        if not cols or min(y - x for x, y in itertools.pairwise(edges)) < 0.6 * b.w / len(edges[1:]):
            return None
        counts.add(len(cols) + 1)
    return counts.pop() if len(counts) == 1 else None


def _phone_pieces(box: Box, text: np.ndarray, px_per_mm: float) -> list[Box]:
    """A phone number's boxes between the brackets and dashes printed in its blank (「（　）　－　」),
    found as small marks of print inside it; none when there are none. Before an opening bracket (a
    mark taller than wide, first in the blank) is the room after the label, not a piece."""
    k = px_per_mm
    x0, y0, x1, y1 = (round(v * k) for v in (box.x, box.y, box.x2, box.y2))
    sub = text[y0:y1, x0:x1].astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(sub, connectivity=8)
    marks = sorted(
        ((x0 + s[0]) / k, (x0 + s[0] + s[2]) / k, s[3] > 2 * s[2])
        for s in (stats[i] for i in range(1, n))
        if s[2] <= SEPARATOR_MM * k and 0.8 * k <= max(s[2], s[3]) <= box.h * k
    )
    if not marks:
        return []
    edges = [marks[0][0] if marks[0][2] else box.x]
    for left, _, _ in marks[1:] if marks[0][2] else marks:
        if left - edges[-1] >= PIECE_MM:
            edges.append(left)
    edges.append(box.x2)
    pieces = [
        Box(x=a + 0.8, y=box.y, w=b - a - 1.6, h=box.h)
        for a, b in itertools.pairwise(edges)
        if b - a >= PIECE_MM
    ]
    return pieces if 2 <= len(pieces) <= 4 else []


#: A separator printed in a phone's blank is at most this wide; a piece between two at least PIECE_MM.
SEPARATOR_MM = 3.0
PIECE_MM = 5.0


def _staff_only(f: Proposed, cells: list[Cell], headings: list[Box]) -> bool:
    """A field labelled as the office's (受付印, 職員記入欄), in a cell that says so, or in the area
    under such a heading (「職員記入欄」 over the staff's boxes)."""
    if STAFF_ONLY.search(f.label):
        return True
    cx, cy = f.box.x + f.box.w / 2, f.box.y + f.box.h / 2
    if any(
        STAFF_ONLY.search(c.label) and c.box.x <= cx <= c.box.x2 and c.box.y <= cy <= c.box.y2 for c in cells
    ):
        return True
    return any(h.y <= f.box.y and f.box.y - h.y2 <= STAFF_AREA_MM and f.box.x2 >= h.x for h in headings)


#: A staff-only heading covers what lies at most this far below it.
STAFF_AREA_MM = 40.0


#: A field cut by dotted lines into parts at least this wide is several fields (氏 ┆ 名).
SPLIT_PART_MM = 12.0


def _split_at_dots(
    f: Proposed, gray: np.ndarray, px_per_mm: float, texts: list[Text], taken: set[str]
) -> list[Proposed]:
    """A field to write in that dotted lines cut into two or three wide parts (「（氏）┆（名）」) is one
    field per part, named after the note printed in it, else numbered."""
    if f.options or f.part_boxes or f.cells or f.type in (FieldType.CHECKBOX, FieldType.DATE):
        return [f]
    cols = dotted_columns(gray, px_per_mm, f.box, [t.box for t in texts])
    edges = [f.box.x, *cols, f.box.x2]
    if not 1 <= len(cols) <= 2 or min(b - a for a, b in itertools.pairwise(edges)) < SPLIT_PART_MM:
        return [f]
    out = []
    for i, (a, b) in enumerate(itertools.pairwise(edges), start=1):
        box = Box(x=a, y=f.box.y, w=b - a, h=f.box.h)
        # Its note may be a caption just above it (the field starts under its cell's caption).
        look = Box(x=a, y=f.box.y - CAPTION_ROOM_MM, w=b - a, h=f.box.h + CAPTION_ROOM_MM)
        note = next((clean(t.text).strip("()（）") for t in texts if inside(t, look)), "")
        label = f"{f.label}（{note or i}）"
        out.append(Proposed(guess_name(label, taken) if i > 1 else f.name, label, f.type, box))
    return out


def _crosses(line: Box, word: Box) -> bool:
    """A line found inside a printed word is the word's strokes lined up, not a line."""
    y = line.y + line.h / 2
    return word.y - 0.3 <= y <= word.y2 + 0.3 and line.x < word.x2 and word.x < line.x2


def _places(fields: list[Proposed]) -> list[Box]:
    """Where the fields so far are written or marked: a choice's option boxes, a date's parts, else
    the field's box (a choice's box also spans the print between its options)."""
    out: list[Box] = []
    for f in fields:
        if f.options and f.type in (FieldType.CHOICE, FieldType.CHECKBOXES):
            out += [o.box for o in f.options]
        out += list(f.part_boxes.values()) or ([] if f.options else [f.box])
    return out


#: The smallest tick box (w, h) a checkbox field may be: tick_squares' smallest printed □.
TICK_MIN_MM = (1.5, 1.5)


@dataclass
class _Page:
    """What the steps of :func:`propose` share: the page's cells, words and tick boxes (each with the
    words after it), what earlier steps used up, and the fields so far."""

    cells: list[Cell]
    texts: list[Text]
    squares: list[Box]
    ticks: list[tuple[Box, str]]
    tick_text: dict[int, Text | None]
    taken: set[str] = field(default_factory=set)
    out: list[Proposed] = field(default_factory=list)
    used_ticks: set[int] = field(default_factory=set)
    used_texts: set[int] = field(default_factory=set)

    def add(self, label: str, ftype: FieldType, box: Box, **kw: Any) -> None:
        small = TICK_MIN_MM if ftype is FieldType.CHECKBOX else (4.0, 2.5)
        if box.w < small[0] or box.h < small[1]:
            return  # a sliver; a tick box is small by nature, and a printed □ is at least 1.5 mm
        separate(kw.get("options", []))
        self.out.append(Proposed(guess_name(label, self.taken), label or "（ラベル不明）", ftype, box, **kw))

    def add_ticks(self, label: str, box: Box, ticks: list[tuple[Box, str]]) -> None:
        """One tick box: a checkbox named after it (性別（男）); several: one field of checkboxes."""
        words = [w for _, w in ticks]
        if len(ticks) == 1:  # its place is the tick box: the words after it are print, where no mark is seen
            self.add(f"{label}（{words[0]}）" if label else words[0], FieldType.CHECKBOX, ticks[0][0])
        else:
            opts = [Option(v, w or v, b) for v, (b, w) in zip(option_values(words), ticks, strict=True)]
            self.add(label, FieldType.CHECKBOXES, box, options=opts)


def _tick_boxes(gray: np.ndarray, px_per_mm: float, cells: list[Cell]) -> tuple[list[Box], list[Cell]]:
    """Tick boxes: small empty squares, ruled (a cell alone, not one of a comb) or printed; and the
    cells without the tick boxes, where a label cell holding one (「□ 発行が必要」) is for ticking."""
    squares = [
        c.box.grow(SQUARE_FRAME_MM)  # the printed square, not its inside
        for c in cells
        if c.kind == "blank"
        and not c.texts
        and is_square(c.box)
        and not any(right_of(c.box, d.box) or right_of(d.box, c.box) for d in cells)  # not a comb cell
    ]
    squares += [s for s in tick_squares(gray, px_per_mm) if all(iou(s, q) < 0.5 for q in squares)]
    squares = [s.grow(MARK_MARGIN_MM) for s in squares]
    cells = [c for c in cells if not any(iou(c.box, q) >= 0.5 for q in squares)]
    for c in cells:
        if any(inside(Text("", q), c.box) for q in squares) and c.kind == "label" and len(c.notes) <= 3:
            c.kind = "blank"  # a cell holding 「□ 発行が必要」 is for ticking, not a label
    return squares, cells


def _options_beside_labels(cells: list[Cell]) -> None:
    """Words printed side by side in a cell right after a label (男　・　女): options to circle."""
    for c in cells:
        side = [t for t in c.notes if not is_note(t.text)]
        left = [d for d in cells if d.kind == "label" and right_of(d.box, c.box)]
        if (
            c.kind == "label"
            and left
            and len(side) >= 2
            and all(len(clean(t.text)) <= 4 and not _numeral(t.text) for t in side)
            and max(t.cy for t in side) - min(t.cy for t in side) <= 1.0
        ):
            c.kind, c.items = "options", [(clean(t.text), t.box) for t in side]


def _numeral(text: str) -> bool:
    """A word that is only a number (a count, a list number 「1.」): no option of its own to circle;
    a code with letters (J1, A2, Ⅱa) is."""
    return bool(re.search(r"\d", text)) and not re.search(r"[^\W\d_]", clean(text))


def _add_run(page: _Page, run: list[Cell], between: list[Text], loose: list[Text]) -> None:
    """The field (or fields) of one run of cells to write in; ``between`` is the loose text printed
    between its cells (年, 月, -)."""
    label, label_cell = label_for(run, page.cells, page.texts)
    box = union([c.box for c in run])
    units = [clean(t.text) for t in [*between, *(t for c in run for t in c.texts)] if is_unit(t.text)]
    has_date_units = all(any(u in x for x in units) for u in "年月日")
    ftype = guess_type(label)
    mine_ticks = [(b, w) for b, w in page.ticks if id(b) not in page.used_ticks and inside(Text("", b), box)]
    if mine_ticks and not has_date_units:
        page.used_ticks.update(id(b) for b, _ in mine_ticks)
        page.add_ticks(label, box, mine_ticks)
        _add_options(page, label, box, run, [b for b, _ in mine_ticks])
        return
    era_left = [
        t for t in loose if era_of(t.text) and 0 <= box.x - t.box.x2 <= 15 and box.y <= t.cy <= box.y2
    ]
    between += era_left  # the caller's list: a later run split from the same cells sees them too
    if ftype is FieldType.DATE or has_date_units or era_left or any(c.kind == "era" for c in run):
        _add_date(page, run, between, label if label.strip("年月日") else "年月日", box)
    elif any(c.kind == "options" for c in run):
        _add_options(page, label, box, run, [])
    elif is_comb(run) or (
        ftype is FieldType.POSTAL
        and sum(is_comb([c]) or (not c.texts and c.box.w <= COMB_MAX_W_MM) for c in run) == 7
    ):
        n = sum(1 for c in run if not c.texts)
        comb = ftype if ftype in (FieldType.KANA, FieldType.POSTAL) else FieldType.DIGITS
        if comb is FieldType.POSTAL and n != 7:
            comb = FieldType.DIGITS
        page.add(label, comb, box, cells=n)
    elif label_cell is not None and (bands := split_bands(box, label_cell)) and len(run) == 1:
        for text, band in bands:
            page.add(text, guess_type(text), band)
    elif len(run) == 1 and run[0].kind == "blank" and (bands := note_bands(run[0])):
        for note, band in bands:
            named = f"{label}（{note}）" if note and label else (note or label)
            kind = FieldType.KANA if note == "フリガナ" else guess_type(label)
            page.add(named, kind if kind is not FieldType.CHOICE else FieldType.TEXT, band)
    else:
        if len(run) == 1 and run[0].kind == "blank":
            box = below_caption(run[0])
        page.add(label, ftype if ftype is not FieldType.CHOICE else FieldType.TEXT, box)


#: Below a caption printed along a cell's top there is room to write when at least this high.
CAPTION_ROOM_MM = 4.0


def below_caption(cell: Cell) -> Box:
    """A cell to write in with a caption printed along its top (「③合計（⑦＋④）」 over the blank): one
    writes under the caption, not over it, so the place is the cell below it; a cell without one, or
    with too little room under it, is all the place."""
    b = cell.box
    notes = cell.notes
    if not notes or any(t.box.y2 > b.y + 0.4 * b.h for t in notes):
        return b
    cut = max(t.box.y2 for t in notes) + 0.3
    return Box(x=b.x, y=cut, w=b.w, h=b.y2 - cut) if b.y2 - cut >= CAPTION_ROOM_MM else b


def _add_options(page: _Page, label: str, box: Box, run: list[Cell], ticks: list[Box]) -> None:
    """The options printed to circle in a run's options cells, as one choice. A cell may hold both
    options to circle and a tick box of another question (「・通院精神療法　・なし」 over 「□ あり」):
    the tick box is a field of its own, and the options are still there to circle, all but any
    printed on a tick box's line (its words, not an option)."""
    items = [
        (s, b, c)
        for c in run
        if c.kind == "options"
        for s, b in c.items
        if not any(abs((b.y + b.y2) / 2 - (q.y + q.y2) / 2) <= q.h / 2 for q in ticks)
    ]
    numbered = [it for it in items if re.match(r"\d", it[0])]
    if len(numbered) == 1 and len(items) >= 3:
        items.remove(numbered[0])  # one number among unnumbered options: its heading's (⑨ read as 9)
    if len(items) < 2:
        return
    values = option_values([s for s, _, _ in items])
    opts = [Option(v, s, circle_area(b, c.box)) for v, (s, b, c) in zip(values, items, strict=True)]
    page.add(label, FieldType.CHOICE, union([o.box for o in opts]) if ticks else box, options=opts)


def _add_date(page: _Page, run: list[Cell], between: list[Text], label: str, box: Box) -> None:
    """A date field over a run, with the era tick boxes (□昭和 □平成) left of it in its row."""
    era_ticks = [(b, w) for b, w in page.ticks if w in ERA_NAMES]
    row_ticks = [(b, w) for b, w in era_ticks if same_row(b, box) or (box.y <= b.y + b.h / 2 <= box.y2)]
    row_ticks = [(b, w) for b, w in row_ticks if b.x < box.x and id(b) not in page.used_ticks]
    page.used_ticks.update(id(b) for b, _ in row_ticks)
    eras, parts, options, per_part = date_field(run, between, label, row_ticks)
    full = union([box, *(b for b, _ in row_ticks)])
    page.add(label, FieldType.DATE, full, eras=eras, part_boxes=parts, options=options, cells=per_part)


def _add_free_ticks(page: _Page) -> None:
    """Tick boxes in no cell to write in (□ 世帯全員 □ 一部): one field per label before them."""
    free = sorted(
        ((b, w) for b, w in page.ticks if id(b) not in page.used_ticks and w not in ERA_NAMES),
        key=lambda t: (round(t[0].y), t[0].x),
    )
    # Another tick box's words (「□点滴の管理　□中心静脈栄養」) are no label for the next one.
    theirs = {clean(t.text) for t in page.tick_text.values() if t is not None}

    def label_of(b: Box) -> str:
        label = left_label(b, page.cells, page.texts)
        return "" if label in theirs else label

    while free:
        b0, _ = free[0]
        label = label_of(b0)
        group = [(b, w) for b, w in free if abs(b.y - b0.y) <= 20 and label_of(b) == label]
        free = [t for t in free if t not in group]
        texts_of = [t for b, _ in group if (t := page.tick_text.get(id(b))) is not None]
        page.used_texts.update(id(t) for t in texts_of)
        box = union([b for b, _ in group] + [t.box for t in texts_of])
        label = label or _heading_above(box, page.texts, theirs)
        rows = [
            c.box for c in page.cells if c.kind == "label" and c.label == label and c.box.x2 <= box.x + 0.5
        ]
        if rows and rows[0].h > box.h:  # the field takes the height of its label's row
            box = Box(
                x=box.x, y=min(box.y, rows[0].y), w=box.w, h=max(box.y2, rows[0].y2) - min(box.y, rows[0].y)
            )
        page.add_ticks(label, box, group)


def _heading_above(box: Box, texts: list[Text], theirs: set[str]) -> str:
    """A block of tick boxes with no label beside it is asked by the line printed right above it
    (「（５）身体の状態」 over its rows of □): the nearest line over its left part, not a tick box's
    own words; "" when none is that close."""
    above = [
        t
        for t in texts
        if 0 <= box.y - t.box.y2 <= HEADING_GAP_MM
        and t.box.x <= box.x + box.w / 4
        and t.box.x2 > box.x - HEADING_GAP_MM
        and clean(t.text) not in theirs
        and not _starts_with_tick(t.text)
        and len(clean(t.text)) >= 2
    ]
    return clean(max(above, key=lambda t: t.box.y2).text) if above else ""


def _starts_with_tick(text: str) -> bool:
    return "□" in text


#: A heading sits at most this far above the block it asks.
HEADING_GAP_MM = 3.0


#: Options printed after a label cell follow a label one or two lines high.
FREE_OPTIONS_ROW_MM = 12.0


def _add_free_options(page: _Page) -> None:
    """Options printed after a label with nowhere else to write (本人　同一世帯の人　代理人)."""
    has_field = [f.box for f in page.out]
    unticked = [t for t in page.texts if not any(inside(t, q) for q in page.squares)]
    for c in page.cells:
        if c.box.h > FREE_OPTIONS_ROW_MM:
            continue  # a block of print (a heading with its notes), not a label with a row after it
        if c.kind != "label" or any(
            same_row(c.box, f) or (c.box.y <= f.y + f.h / 2 <= c.box.y2 and f.x >= c.box.x2 - 0.5)
            for f in has_field
        ):
            continue
        opts = free_options(c, page.cells, unticked, page.used_texts)
        if opts:
            page.add(c.label, FieldType.CHOICE, union([o.box for o in opts]), options=opts)


# --- one cell, several fields -------------------------------------------------------------------------------


def split_bands(box: Box, label_cell: Cell) -> list[tuple[str, Box]]:
    """A tall blank cell beside a label cell holding several labels: one band per label."""
    clusters = label_clusters(label_cell)
    if len(clusters) < 2:
        return []
    mids = [(a[2] + b[1]) / 2 for a, b in itertools.pairwise(clusters)]
    edges = [box.y, *mids, box.y2]
    return [
        (text, Box(x=box.x, y=y0, w=box.w, h=y1 - y0))
        for (text, _, _), y0, y1 in zip(clusters, edges, edges[1:], strict=False)
    ]


def note_bands(cell: Cell) -> list[tuple[str, Box]]:
    """A cell to write in with notes down its left edge (㋐（通貨） / ㋑（現物）): one band per note; a
    （フリガナ） note along its top: a furigana band above the main one."""
    b = cell.box
    notes = sorted((t for t in cell.notes if is_note(t.text)), key=lambda t: t.box.y)
    kana = [t for t in notes if re.search(r"フリガナ|ふりがな", t.text) and t.box.y2 <= b.y + 0.4 * b.h]
    if kana:
        cut = b.y + max(0.3 * b.h, kana[0].box.y2 - b.y + 1.0)
        return [
            ("フリガナ", Box(x=b.x, y=b.y, w=b.w, h=cut - b.y)),
            ("", Box(x=b.x, y=cut, w=b.w, h=b.y2 - cut)),
        ]
    left = [t for t in notes if abs(t.box.x - notes[0].box.x) <= 2.0] if notes else []
    if len(left) < 2:
        return []
    edges = [b.y, *((p.box.y2 + q.box.y) / 2 for p, q in itertools.pairwise(left)), b.y2]
    return [
        (re.sub(r"^[\d.．]*", "", clean(t.text)).strip("()（）"), Box(x=b.x, y=y0, w=b.w, h=y1 - y0))
        for t, y0, y1 in zip(left, edges, edges[1:], strict=False)
    ]
