"""Places to write that no cell encloses: the blanks people see in the print itself.

Real legacy forms leave much of their writing space unruled: a space between printed words (「　年　月
日生（　歳）」, 「ICDコード（　）」, 「施設名　」), or an underline after a label (「医師氏名＿＿＿」).
A ruled-cell detector never sees them, so they are found here from the printed lines (OCR) and the
underlines alone: a gap in a row of print before a unit or a closing bracket, or after an opening
bracket or a colon, is a slot; so is the free stretch of an underline no word sits on. Three gaps
before 年, 月 and 日 in one row are one date with its part boxes.

Pure functions on the proposer's plain data (mm); :func:`slots` is the step :func:`propose` calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from authoring.propose.cells import Cell, overlap, right_of
from authoring.propose.labels import guess_name, guess_type
from authoring.propose.model import Option, Proposed, Text
from authoring.propose.options import circle_area
from authoring.propose.words import ERA_NAMES, clean, era_items, era_of, inside
from formkit.model import Box, FieldType

#: A gap in a row of print narrower than this is spacing, not a place to write.
GAP_MM = 5.0
#: A short label (at most LABEL_CHARS characters, no sentence) with this much empty room after it
#: to the end of its cell, or of the form's print, has its blank there (「住　所　　　　」).
LABEL_CHARS = 16
#: The nouns a label for a blank ends in (医師氏名, 住　所, 所在地, 電　話, 番号, 連絡先, 担当者, 診療科,
#: 名称).
LABEL_ENDS = tuple("名所地話号先者科称")
LABEL_ROOM_MM = 30.0
#: A year written before a 年 printed alone takes about this much room.
YEAR_MM = 10.0
#: Between 年 and 月 (or 月 and 日) a gap this wide holds the digits.
UNIT_GAP_MM = 3.0
#: An underline's free stretch shorter than this is not a place to write (a rule under a heading).
UNDERLINE_MM = 10.0
#: How much room above an underline a slot takes at most (one line of handwriting).
LINE_ROOM_MM = 7.0
#: Words that close a blank after them: units, a closing bracket.
CLOSERS = tuple("年月日歳才級頃円時分回枚通人件番号)）-－ー")
#: Words that open a blank after them.
OPENERS = ("(", "（", ":", "：", "名", "先", "所", "-", "－", "ー")
#: A list's number alone before a blank (「1.　　　　」, 「(2)　　」): the blank is the answer.
LIST_NUMBER = re.compile(r"[(（]?\d{1,2}[.)．）]|[(（]\d{1,2}[)）]")
#: Printed between the pieces of one value (電話「（　）　－　」).
SEPARATORS = set("()（）-－ー")


@dataclass(frozen=True)
class _Slot:
    box: Box
    before: str  # the word printed right before it ("" at a cell's edge)
    after: str  # the word printed right after it
    printed_before: Text | None = None


def _rows(texts: list[Text]) -> list[list[Text]]:
    """Texts in rows (centres within half a line of one another), each row left to right."""
    rows: list[list[Text]] = []
    for t in sorted(texts, key=lambda t: t.cy):
        if rows and abs(t.cy - rows[-1][-1].cy) <= 0.5 * max(t.box.h, rows[-1][-1].box.h):
            rows[-1].append(t)
        else:
            rows.append([t])
    return [sorted(r, key=lambda t: t.box.x) for r in rows]


def _row_box(row: list[Text], x0: float, x1: float, within: Box | None) -> Box:
    y0 = min(t.box.y for t in row) - 0.5
    y1 = max(t.box.y2 for t in row) + 0.5
    if within is not None:
        y0, y1 = max(y0, within.y), min(y1, within.y2)
        x0, x1 = max(x0, within.x), min(x1, within.x2)
    return Box(x=x0, y=y0, w=x1 - x0, h=y1 - y0)


def gap_slots(
    texts: list[Text], within: Box | None, trailing: bool = True, right_edge: float | None = None
) -> list[_Slot]:
    """The blanks in the rows of print of one cell (or of the page outside every cell: ``within``
    None, the form's print ending at ``right_edge``): between two words where the second is a unit
    or closing bracket or the first opens one; from the cell's left edge to a unit; after the last
    word of a row to the cell's right edge, when that word opens a blank or is a short label followed
    by a long empty stretch (「医療機関名　　　」) — unless not ``trailing`` (a label cell with its own
    cell to write in beside it)."""
    out: list[_Slot] = []
    end = within.x2 if within is not None else right_edge
    heights = sorted(t.box.h for t in texts)
    big = 1.3 * heights[len(heights) // 2] if heights else 0.0  # a title or heading is bigger print
    for row in _rows(texts):
        words = [clean(t.text) for t in row]
        for i, t in enumerate(row):
            w = words[i]
            if not w:
                continue
            prev = row[i - 1] if i else None
            closes = w.startswith(CLOSERS) and len(w) <= 4  # 年, 日生(, 月頃) — not 年金等の…
            # 「　年　月　日の診療録より」: after a month, a 日 closes the day's blank whatever follows.
            closes = closes or (prev is not None and words[i - 1].endswith("月") and w[:1] == "日")
            left = prev.box.x2 if prev is not None else (within.x if within is not None else None)
            if left is None and w[:1] == "年":  # 「　年　月　日」 alone on the page: room for the year
                left = t.box.x - YEAR_MM
            opens = prev is not None and (
                words[i - 1].endswith(OPENERS) or bool(LIST_NUMBER.fullmatch(words[i - 1]))
            )
            # A short label with a long empty stretch before the next label of its row (「所 在 地
            # ＿＿＿＿ 医師氏名」): the stretch is its blank, as at the end of a row.
            spread = prev is not None and t.box.x - prev.box.x2 >= LABEL_ROOM_MM and _is_label(words[i - 1])
            # Between two units of a date (年　月) a narrower gap will do: it holds one or two digits.
            units = closes and prev is not None and words[i - 1][:1] in "年月"
            if (
                left is not None
                and t.box.x - left >= (UNIT_GAP_MM if units else GAP_MM)
                and (closes or opens or spread)
            ):
                box = _row_box(row, left + 0.3, t.box.x - 0.3, within)
                out.append(_Slot(box, words[i - 1] if prev is not None else "", w, prev))
        last, w = row[-1], words[-1]
        if not trailing or end is None:
            continue
        room = end - last.box.x2
        label = within is None and _is_label(w) and last.box.h <= big
        opener = w.endswith(OPENERS) or bool(LIST_NUMBER.fullmatch(w))
        if (opener and room >= 2 * GAP_MM) or (label and room >= LABEL_ROOM_MM):
            out.append(_Slot(_row_box(row, last.box.x2 + 0.3, end - 0.5, within), w, ""))
    return out


def _is_label(word: str) -> bool:
    """A short label that names a blank (医師氏名, 所在地, 医療機関の名称), not a sentence."""
    return len(word) <= LABEL_CHARS and word.endswith(LABEL_ENDS)


def underline_slots(lines: list[Box], cells: list[Box], texts: list[Text]) -> list[_Slot]:
    """The free stretches of underlines: a ruled line with the same cell (or no cell) above and below
    it, less the words that sit on it; the slot takes the room above it, up to the print above."""
    out: list[_Slot] = []
    for ln in lines:
        if ln.w < UNDERLINE_MM:
            continue
        mid_x, y = ln.x + ln.w / 2, ln.y + ln.h / 2
        above = next((c for c in cells if c.x <= mid_x <= c.x2 and c.y <= y - 1.0 <= c.y2), None)
        below = next((c for c in cells if c.x <= mid_x <= c.x2 and c.y <= y + 1.0 <= c.y2), None)
        if above is not below:
            continue  # the border between two cells, or of a table
        on = [
            t
            for t in texts
            if -2.0 <= ln.y - t.box.y2 <= 3.0 and overlap(t.box.x, t.box.x2, ln.x, ln.x2) > 0.3 * t.box.w
        ]
        free = [(ln.x, ln.x2)]
        for t in on:
            free = [p for a, b in free for p in ((a, min(b, t.box.x)), (max(a, t.box.x2), b)) if p[1] > p[0]]
        ceiling = [
            t.box.y2
            for t in texts
            if t.box.y2 <= ln.y - 0.5 and overlap(t.box.x, t.box.x2, ln.x, ln.x2) > 0 and t not in on
        ]
        top = max([ln.y - LINE_ROOM_MM, *(c for c in ceiling if c > ln.y - LINE_ROOM_MM)])
        if above is not None:
            top = max(top, above.y)
        by_x = sorted(on, key=lambda t: t.box.x)
        for a, b in free:
            left = next((t for t in reversed(by_x) if t.box.x2 <= a + 0.5), None)
            right = next((t for t in by_x if t.box.x >= b - 0.5), None)
            # Between two words a gap is enough (「　年　月」 on a line); an open end needs a real stretch.
            need = GAP_MM if left is not None and right is not None else UNDERLINE_MM
            if b - a >= need and ln.y - top >= 3.0:
                out.append(
                    _Slot(
                        Box(x=a + 0.3, y=top, w=b - a - 0.6, h=ln.y - top),
                        clean(left.text) if left is not None else "",
                        clean(right.text) if right is not None else "",
                        left,
                    )
                )
    return out


#: Below a heading in its cell, room at least this high and wide is an answer's space (⑦ 具体的程度).
ROOM_H_MM = 12.0
ROOM_W_MM = 30.0


def room_below(cell: Cell, texts: list[Text]) -> list[_Slot]:
    """Blank room under a heading in its cell (「⑦ ⑥の具体的程度、状態等」 over an empty box, or a
    box's worth of paper between two headings of one tall cell): where the answer goes, labelled by
    the heading above it."""
    mine = sorted((t for t in texts if inside(t, cell.box)), key=lambda t: t.box.y)
    out: list[_Slot] = []
    for i in range(len(mine)):
        top = max(u.box.y2 for u in mine[: i + 1])
        bottom = mine[i + 1].box.y if i + 1 < len(mine) else cell.box.y2
        box = Box(x=cell.box.x + 0.5, y=top + 0.5, w=cell.box.w - 1.0, h=bottom - top - 1.0)
        if box.h >= ROOM_H_MM and box.w >= ROOM_W_MM:
            heading = min(
                (u for u in mine[: i + 1] if top - u.box.y2 <= 12.0), key=lambda u: (u.box.y, u.box.x)
            )
            out.append(_Slot(box, clean(heading.text), ""))
    return out


def _dates(found: list[_Slot]) -> tuple[list[list[_Slot]], list[_Slot]]:
    """Slots before 年, 月 and 日 in one row, side by side: one date each; and the other slots."""
    dates: list[list[_Slot]] = []
    rest = sorted(found, key=lambda s: (round(s.box.y), s.box.x))
    i = 0
    while i + 2 < len(rest):
        trio = rest[i : i + 3]
        if [s.after[:1] for s in trio] == ["年", "月", "日"] and all(
            abs(s.box.y - trio[0].box.y) <= 1.5 for s in trio
        ):
            dates.append(trio)
            rest = rest[:i] + rest[i + 3 :]
        else:
            i += 1
    return dates, rest


def _era_options(year: _Slot) -> list[Option]:
    """Eras printed before a date's year to circle (「昭和・平成・令和　年」): its options."""
    t = year.printed_before
    if t is None:
        return []
    row = t.box.grow(1.0)
    return [Option(e, e, circle_area(b, row)) for e, b in era_items(t)]


def _label(slot: _Slot) -> str:
    word = re.sub(r"[(（:：]$", "", slot.before)
    return word or slot.after


def slots(
    cells: list[Cell], texts: list[Text], lines: list[Box], taken: set[str], proposed: list[Box]
) -> list[Proposed]:
    """The fields written into the print's own blanks, except where a proposed field already is."""
    boxes = [c.box for c in cells]
    # Underlines first: where an underline and a gap in the print disagree, the underline is drawn.
    found = underline_slots(lines, boxes, texts)
    for c in cells:
        beside = c.kind == "label" and any(d.kind != "label" and right_of(c.box, d.box) for d in cells)
        found += gap_slots([t for t in texts if inside(t, c.box)], c.box, trailing=not beside)
    right = max([b.x2 for b in [*boxes, *lines]], default=None)
    found += gap_slots([t for t in texts if not any(inside(t, b) for b in boxes)], None, right_edge=right)
    found += [r for c in cells if c.kind == "label" for r in room_below(c, texts)]
    found = [
        s
        for s in found
        if s.box.w >= UNIT_GAP_MM - 0.6
        and s.box.h >= 2.5
        and sum(_area_in(t.box, s.box) for t in texts if s.box.y <= t.cy <= s.box.y2)
        <= 0.15 * s.box.w * s.box.h  # blank, not print (of its own row: rows above and below may touch it)
    ]
    kept: list[_Slot] = []
    for s in found:
        if any(s.box.iou(b) > 0.2 or _mostly_in(s.box, b) for b in [*proposed, *(k.box for k in kept)]):
            continue
        kept.append(s)
    dates, rest = _dates(kept)
    out = []
    for trio in dates:
        parts = dict(zip(("year", "month", "day"), (s.box for s in trio), strict=True))
        # Eras a line of options already offers (「2　昭和・平成・令和　年　月　日の…」) are not offered twice.
        options = [o for o in _era_options(trio[0]) if not any(o.box.iou(b) > 0.3 for b in proposed)]
        eras = [o.value for o in options] or [next((e for e in ERA_NAMES if e in trio[0].before), "令和")]
        before = trio[0].before.strip("(（")
        label = "年月日" if options or not before or era_of(before) else before
        box = Box.around(list(parts.values()) + [o.box for o in options])
        out.append(
            Proposed(
                guess_name(label, taken),
                label,
                FieldType.DATE,
                box,
                eras=eras,
                part_boxes=parts,
                options=options,
            )
        )
    runs, rest = _pieces(rest)
    for run in runs:
        label = re.sub(r"[(（]$", "", run[0].before) or "電話"
        kind = guess_type(label)
        kind = kind if kind is not FieldType.CHOICE and kind is not FieldType.DATE else FieldType.TEXT
        if len(run) == 3 and run[0].before.endswith(("(", "（")):  # 「（　）　－　」: a phone number
            kind = FieldType.PHONE
        box = Box.around([s.box for s in run])
        out.append(Proposed(guess_name(label, taken), label, kind, box, pieces=[s.box for s in run]))
    stacks, rest = _stacks(rest)
    for stack in stacks:
        box = Box.around([s.box for s in stack])
        label = _heading(box, texts)
        kind = guess_type(label)
        kind = kind if kind in (FieldType.TEXT, FieldType.ADDRESS) else FieldType.TEXT
        out.append(Proposed(guess_name(label, taken), label or "（ラベル不明）", kind, box, lines=len(stack)))
    for s in rest:
        label = _label(s)
        ftype = FieldType.NUMBER if s.after[:1] and s.after[0] in "歳才" else guess_type(label)
        if ftype in (FieldType.CHOICE, FieldType.DATE):
            ftype = FieldType.TEXT
        out.append(Proposed(guess_name(label, taken), label or "（ラベル不明）", ftype, s.box))
    return out


#: Writing lines one under another at most this far apart (mm) are one answer on several lines.
STACK_GAP_MM = 3.0


def _chains(
    items: list[_Slot], key: Callable[[_Slot], tuple[float, float]], joins: Callable[[_Slot, _Slot], bool]
) -> list[list[_Slot]]:
    """``items`` in ``key`` order, each run of two or more where every one ``joins`` the one before."""
    chains: list[list[_Slot]] = []
    for s in sorted(items, key=key):
        if chains and joins(chains[-1][-1], s):
            chains[-1].append(s)
        else:
            chains.append([s])
    return [c for c in chains if len(c) >= 2]


def _rest(found: list[_Slot], chains: list[list[_Slot]]) -> list[_Slot]:
    used = {id(s) for c in chains for s in c}
    return [s for s in found if id(s) not in used]


def _pieces(found: list[_Slot]) -> tuple[list[list[_Slot]], list[_Slot]]:
    """Blanks side by side in one row with only a separator printed between them (「（　）　－　」):
    one value written in pieces; and the other slots."""

    def joins(last: _Slot, s: _Slot) -> bool:
        return (
            abs(s.box.y - last.box.y) <= 1.5
            and bool(last.after)
            and last.after == s.before
            and set(s.before) <= SEPARATORS
        )

    runs = _chains(found, lambda s: (round(s.box.y), s.box.x), joins)
    return runs, _rest(found, runs)


def _stacks(found: list[_Slot]) -> tuple[list[list[_Slot]], list[_Slot]]:
    """Unlabelled writing lines stacked one under another, as wide and as far left as one another
    (the lines under 「⑤ 発病から初診までの経過」): one answer each stack; and the other slots."""

    def joins(top: _Slot, s: _Slot) -> bool:
        return (
            abs(s.box.x - top.box.x) <= 1.5
            and abs(s.box.w - top.box.w) <= 3.0
            and 0 <= s.box.y - top.box.y2 <= STACK_GAP_MM
        )

    free = [s for s in found if not s.before and not s.after]
    stacks = _chains(free, lambda s: (s.box.y, s.box.x), joins)
    return stacks, _rest(found, stacks)


def _heading(box: Box, texts: list[Text]) -> str:
    """The words printed just above a block to write in (its heading), or ""."""
    above = [
        t for t in texts if 0 <= box.y - t.box.y2 <= 10.0 and t.box.x <= box.x + 15.0 and t.box.x2 > box.x
    ]
    return clean(min(above, key=lambda t: box.y - t.box.y2).text) if above else ""


def _area_in(a: Box, b: Box) -> float:
    return overlap(a.x, a.x2, b.x, b.x2) * overlap(a.y, a.y2, b.y, b.y2)


def _mostly_in(a: Box, b: Box) -> bool:
    """``a`` lies mostly inside ``b`` and ``b`` is not much bigger (then ``b`` already is this blank)."""
    return _area_in(a, b) >= 0.6 * a.w * a.h and b.w * b.h <= 3 * a.w * a.h
