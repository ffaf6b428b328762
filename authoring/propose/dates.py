"""Dates: a date field's eras, its era options (printed to circle or with tick boxes) and its year,
month and day boxes, from the cells of a run and the units (年 月 日) printed in or between them. Dates
written into the gaps of the print (「令和　年　月　日提出」) are blanks like any other (``slots``)."""

from __future__ import annotations

from authoring.propose.cells import LINE_GAP_MM, Cell, cell_of, union
from authoring.propose.model import Option, Text
from authoring.propose.options import circle_area
from authoring.propose.words import ERA_NAMES, clean, era_items, era_of
from formkit.model import Box

PARTS = ("year", "month", "day")


def date_field(
    run: list[Cell], between: list[Text], label: str, ticks: list[tuple[Box, str]]
) -> tuple[list[str], dict[str, Box], list[Option], int | None]:
    """A date's eras, part boxes, era options to circle (or tick) and cells per part, from its cells
    and the units (年 月 日) printed in or between them."""
    texts = sorted([t for c in run for t in c.texts] + between, key=lambda t: t.box.x)
    era_words = [(era_of(t.text), t) for t in texts if era_of(t.text)]
    # 「令和・平成」 read as one line: each era where it is printed
    era_words += [(e, Text(e, b)) for t in texts if not era_of(t.text) for e, b in era_items(t)]
    eras = [e for e in ERA_NAMES if any(w == e for w, _ in era_words) or any(w == e for _, w in ticks)]
    if ticks:  # eras with tick boxes (□明治 □大正 ...)
        options = [Option(w, w, b) for b, w in ticks]
    else:  # eras printed to circle (5.昭和 7.平成 9.令和)
        options = [
            Option(str(e), clean(t.text), circle_area(t.box, cell_of(run, t).box)) for e, t in era_words
        ]
    if not eras:
        eras = ["昭和", "平成", "令和"] if "生" in label else ["令和"]
    # The year is written after the eras and the circles drawn round them.
    start = max([run[0].box.x] + [t.box.x2 for _, t in era_words] + [o.box.x2 + 0.3 for o in options])
    parts, per_part = _part_boxes(run, texts, start)
    cells = 2 if per_part == {2} else None
    return eras, parts, options if len(options) >= 2 else [], cells


#: A unit printed along the top of its own cell leaves at least this much room below it for the digits.
DIGIT_ROOM_MM = 5.0


def below_unit(cell: Box, unit: Box) -> Box:
    """A date part's cell with its unit printed along the top (「│　年│」 over the digits): the digits
    go under the unit, and a place to write must not cover print. Else the whole cell."""
    top = unit.y2 + 0.5
    if unit.y + unit.h / 2 > cell.y + cell.h / 3 or cell.y2 - top < DIGIT_ROOM_MM:
        return cell
    return Box(x=cell.x, y=top, w=cell.w, h=cell.y2 - top)


def _units(texts: list[Text]) -> dict[str, Text]:
    """The first printed 年, 月 and 日 (alone, or starting a word: 日提出)."""
    units: dict[str, Text] = {}
    for t in texts:
        word = clean(t.text)
        for u in "年月日":
            if u in word and u not in units and (word == u or word.startswith(u)):
                units[u] = t
    return units


def _part_boxes(run: list[Cell], texts: list[Text], start: float) -> tuple[dict[str, Box], set[int]]:
    """The year, month and day boxes of a date's run and the numbers of comb cells they hold: the
    cells (or space) before each printed unit, from ``start`` (after any era); else three groups of
    comb cells; else the run cut in thirds."""
    units = _units(texts)
    digits = [c for c in run if c.kind == "blank" and not c.texts]
    parts: dict[str, Box] = {}
    per_part: set[int] = set()
    if len(units) == 3:
        for u, part in zip("年月日", PARTS, strict=True):
            t = units[u]
            mine = [c for c in digits if start - 0.5 <= c.box.x and c.box.x2 <= t.cx]
            home = cell_of(run, t)
            if mine:  # comb cells before the unit
                parts[part] = union([c.box for c in mine])
                per_part.add(len(mine))
            elif home.box.x < t.box.x - 3.0 and all(cell_of(run, units[v]) is home for v in "年月日"):
                parts[part] = Box(x=start, y=home.box.y, w=max(t.box.x - start, 1.0), h=home.box.h)
            else:  # the unit printed in the corner of its own cell
                parts[part] = below_unit(home.box, t.box)
            start = t.box.x2
    groups: list[list[Cell]] = []
    for c in sorted(digits, key=lambda c: c.box.x):
        if groups and c.box.x - groups[-1][-1].box.x2 <= LINE_GAP_MM:
            groups[-1].append(c)
        else:
            groups.append([c])
    if len(parts) < 3 and len(groups) == 3:  # 「□□ 年 □□ 月 □□ 日」 with the units unread
        parts = {p: union([c.box for c in g]) for p, g in zip(PARTS, groups, strict=True)}
        per_part = {len(g) for g in groups}
    if len(parts) < 3:
        box = union([c.box for c in digits or run])
        third = box.w / 3
        parts = {p: Box(x=box.x + i * third, y=box.y, w=third, h=box.h) for i, p in enumerate(PARTS)}
    return parts, per_part
