"""Options: printed words to circle (1.男 2.女, 本人　代理人) and tick boxes with the words after them
(□ 世帯全員): where each one's mark is looked for, and the values they get in the template."""

from __future__ import annotations

import re

from authoring.propose.cells import Cell, overlap, same_row
from authoring.propose.labels import guess_type
from authoring.propose.model import Option, Text
from authoring.propose.words import bracket_items, clean, era_of, inside, option_items
from formkit.model import Box, FieldType


def option_values(labels: list[str]) -> list[str]:
    """Option values from printed options: option_1 for 「1.男」, else opt1, opt2..."""
    nums = [re.match(r"\d", lab) for lab in labels]
    values = [f"option_{m.group(0)}" if m else f"opt{i + 1}" for i, m in enumerate(nums)]
    return values if len(set(values)) == len(values) else [f"opt{i + 1}" for i in range(len(labels))]


def circle_area(word: Box, cell: Box) -> Box:
    """Where a circle around a printed word lies: the word and a margin, within its cell."""
    half = max(word.w / 2 + 1.0, word.h / 2 + 0.6)  # a circle round one digit is as wide as high
    cx = word.x + word.w / 2
    x0, y0 = max(cx - half, cell.x), max(word.y - 0.6, cell.y)
    x1, y1 = min(cx + half, cell.x2), min(word.y2 + 0.6, cell.y2)
    return Box(x=x0, y=y0, w=x1 - x0, h=y1 - y0)


def tick_words(squares: list[Box], texts: list[Text]) -> list[tuple[Box, str, Text | None]]:
    """Each tick box with the words printed right after it (□ 世帯全員)."""
    out = []
    for sq in squares:
        cy = sq.y + sq.h / 2
        # OCR may read the □ itself as the line's first character (「□点滴の管理」, 「ロ経管栄養」).
        after = [
            t
            for t in texts
            if (
                sq.x2 - 0.5 <= t.box.x <= sq.x2 + 4.0
                or (_starts_with_box(t.text) and abs(t.box.x - sq.x) <= 1.0)
            )
            and abs(t.cy - cy) <= max(sq.h, 2.0)
        ]
        t = min(after, key=lambda t: t.box.x) if after else None
        word = clean(t.text) if t else ""
        out.append((sq, word[1:] if t is not None and _starts_with_box(t.text) else word.lstrip("□"), t))
    return out


def _starts_with_box(text: str) -> bool:
    """A line OCR read with the tick box as its first character (□, or ロ/口 for its look)."""
    c = clean(text)
    return len(c) >= 2 and c[0] in "□ロ口"


def free_options(label_cell: Cell, cells: list[Cell], texts: list[Text], used: set[int]) -> list[Option]:
    """Words printed in a row after a label with no cell to write in (本人　同一世帯の人　代理人): the
    options to circle."""
    b = label_cell.box
    row = [
        t
        for t in texts
        if id(t) not in used
        and t.box.x >= b.x2 - 0.5
        and b.y <= t.cy <= b.y2
        and not any(c.kind == "label" and inside(t, c.box) for c in cells)
        and 1 <= len(clean(t.text)) <= 8
    ]
    row.sort(key=lambda t: t.box.x)
    stop = next(
        (
            c.box.x
            for c in sorted(cells, key=lambda c: c.box.x)
            if c.kind == "label" and c.box.x >= b.x2 and same_row(b, c.box)
        ),
        1e9,
    )
    row = [t for t in row if t.box.x < stop]
    if len(row) < 2:
        return []
    labels = [clean(t.text) for t in row]
    return [
        Option(v, lab, Box(x=t.box.x - 2.0, y=t.box.y - 1.0, w=t.box.w + 4.0, h=t.box.h + 2.0))
        for v, lab, t in zip(option_values(labels), labels, row, strict=True)
    ]


def separate(options: list[Option]) -> None:
    """Neighbouring options' circle areas must not overlap (a circle would count for both): cut each
    overlap in the middle, across its thinner side."""
    for i, a in enumerate(options):
        for b in options[i + 1 :]:
            ox = overlap(a.box.x, a.box.x2, b.box.x, b.box.x2)
            oy = overlap(a.box.y, a.box.y2, b.box.y, b.box.y2)
            if ox <= 0 or oy <= 0:
                continue
            if oy <= ox:  # one above the other
                top, low = (a, b) if a.box.y <= b.box.y else (b, a)
                mid = (low.box.y + top.box.y2) / 2
                top.box = Box(x=top.box.x, y=top.box.y, w=top.box.w, h=max(mid - 0.15 - top.box.y, 0.5))
                low.box = Box(x=low.box.x, y=mid + 0.15, w=low.box.w, h=max(low.box.y2 - mid - 0.15, 0.5))
            else:  # side by side
                lft, rgt = (a, b) if a.box.x <= b.box.x else (b, a)
                mid = (rgt.box.x + lft.box.x2) / 2
                lft.box = Box(x=lft.box.x, y=lft.box.y, w=max(mid - 0.15 - lft.box.x, 0.5), h=lft.box.h)
                rgt.box = Box(x=mid + 0.15, y=rgt.box.y, w=max(rgt.box.x2 - mid - 0.15, 0.5), h=rgt.box.h)


def option_rows(cells: list[Cell], texts: list[Text], used: list[Box]) -> list[tuple[str, list[Option]]]:
    """Lines of options printed inside a block of print (「自発的にできる・援助が必要・できない」 under
    「ア　適切な食事摂取」): each such line is a question of its own, labelled by the line above it.
    Three options or more, or numbered ones; never in a label cell that has its own cell to write in
    beside it (「病状・治療」 is a label)."""
    out = []
    for t in texts:
        home = next((c for c in cells if inside(t, c.box)), None)
        question, items = bracket_items(t)  # first: 「転帰（治癒・転医・中止）」 is no 「転帰（治癒」 option
        if items:
            question = question or _left_words(t, texts)
            if _bracket_options(question, items, home, cells, used):
                values = option_values([s for s, _ in items])
                out.append(
                    (question, [Option(v, s, b.grow(0.5)) for v, (s, b) in zip(values, items, strict=True)])
                )
            continue
        items = option_items(t)
        numbered = bool(items) and all(re.match(r"\d", s) for s, _ in items)
        if len(items) < (2 if numbered else 3):
            continue
        if any(b.overlaps(u) for _, b in items for u in used):
            continue
        if home is not None and (
            home.kind != "label" or any(d.kind != "label" and same_row(home.box, d.box) for d in cells)
        ):
            continue  # options in their own cell are found with the cells
        above = [
            u
            for u in texts
            if u is not t
            and 0 <= t.box.y - u.box.y2 <= 4.0
            and overlap(u.box.x, u.box.x2, t.box.x, t.box.x2) > 0
        ]
        label = clean(min(above, key=lambda u: t.box.y - u.box.y2).text) if above else ""
        values = option_values([s for s, _ in items])
        opts = [Option(v, s, b.grow(0.5)) for v, (s, b) in zip(values, items, strict=True)]
        out.append((label, opts))
    return out


def _left_words(t: Text, texts: list[Text]) -> str:
    """The words printed just before a line in its row (「7. 経管栄養」 before 「（経鼻・胃瘻：サイズ」),
    or ""."""
    left = [
        u
        for u in texts
        if u is not t and abs(u.cy - t.cy) <= 0.5 * t.box.h and 0 <= t.box.x - u.box.x2 <= LEFT_WORDS_MM
    ]
    return clean(max(left, key=lambda u: u.box.x2).text) if left else ""


#: The question before options in brackets printed as a line of its own is at most this far left.
LEFT_WORDS_MM = 8.0


def _bracket_options(
    question: str, items: list[tuple[str, Box]], home: Cell | None, cells: list[Cell], used: list[Box]
) -> bool:
    """Options in brackets after a question are to circle, unless there is no question before them,
    they overlap a place already
    proposed, or the words before them label a value to write (住所（都道府県・市区町村）: a note
    on how to write it, not a choice), or their cell is a label with its own cell to write in."""
    if not question or len(items) < 2 or any(b.overlaps(u) for _, b in items for u in used):
        return False
    if any(era_of(s) for s, _ in items):
        return False  # eras in brackets (（昭和・平成）　年　月　日) are a date's, found with the date
    if guess_type(question) not in (FieldType.TEXT, FieldType.CHOICE):
        return False
    return home is None or not any(
        d.kind not in ("label", "options") and same_row(home.box, d.box) for d in cells
    )


def centred(area: Box, stretches: list[tuple[float, float]], reach: float = 0.5) -> Box:
    """A circle area moved onto the print it circles: OCR places a word within its line only by its
    share of the characters, and spacing it cannot see shifts it. The stretch of print that fits in
    the area and lies nearest its middle (within ``reach`` of its width) is what is circled; none: as
    it was."""
    mid = area.x + area.w / 2
    fits = [(a, b) for a, b in stretches if b - a <= area.w and abs((a + b) / 2 - mid) <= reach * area.w]
    if not fits:
        return area
    a, b = min(fits, key=lambda s: abs((s[0] + s[1]) / 2 - mid))
    return Box(x=(a + b) / 2 - area.w / 2, y=area.y, w=area.w, h=area.h)
