"""Dates: a date field's eras, its era options (printed to circle or with tick boxes) and its year,
month and day boxes, from the cells of a run and the units (年 月 日) printed in or between them; and
dates printed on the page outside any cell (「令和　年　月　日提出」)."""

from __future__ import annotations

from authoring.propose.cells import LINE_GAP_MM, Cell, cell_of, union
from authoring.propose.labels import guess_name
from authoring.propose.model import Option, Proposed, Text
from authoring.propose.options import circle_area
from authoring.propose.words import ERA_NAMES, clean, era_of, inside
from formkit.model import Box, FieldType

PARTS = ("year", "month", "day")


def date_field(
    run: list[Cell], between: list[Text], label: str, ticks: list[tuple[Box, str]]
) -> tuple[list[str], dict[str, Box], list[Option], int | None]:
    """A date's eras, part boxes, era options to circle (or tick) and cells per part, from its cells
    and the units (年 月 日) printed in or between them."""
    texts = sorted([t for c in run for t in c.texts] + between, key=lambda t: t.box.x)
    era_words = [(era_of(t.text), t) for t in texts if era_of(t.text)]
    eras = [e for e in ERA_NAMES if any(w == e for w, _ in era_words) or any(w == e for _, w in ticks)]
    if ticks:  # eras with tick boxes (□明治 □大正 ...)
        options = [Option(w, w, b) for b, w in ticks]
    else:  # eras printed to circle (5.昭和 7.平成 9.令和)
        options = [
            Option(str(e), clean(t.text), circle_area(t.box, cell_of(run, t).box)) for e, t in era_words
        ]
    if not eras:
        eras = ["昭和", "平成", "令和"] if "生" in label else ["令和"]
    start = max([run[0].box.x] + [t.box.x2 for _, t in era_words])
    parts, per_part = _part_boxes(run, texts, start)
    cells = 2 if per_part == {2} else None
    return eras, parts, options if len(options) >= 2 else [], cells


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
                parts[part] = home.box
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


def free_dates(texts: list[Text], cells: list[Box], taken: set[str]) -> list[Proposed]:
    """「令和　年　月　日提出」 printed on the page outside any cell: a date written into the gaps."""
    out = []
    loose = [t for t in texts if not any(inside(t, c) for c in cells)]
    for y_unit in (t for t in loose if clean(t.text) == "年"):
        row = sorted((t for t in loose if abs(t.cy - y_unit.cy) <= 1.0), key=lambda t: t.box.x)
        after = [t for t in row if t.box.x >= y_unit.box.x2]
        m_unit = next((t for t in after if clean(t.text) == "月"), None)
        d_unit = next((t for t in after if clean(t.text).startswith("日")), None)
        if m_unit is None or d_unit is None or not (y_unit.box.x < m_unit.box.x < d_unit.box.x):
            continue
        if any(c.y <= y_unit.cy <= c.y2 and y_unit.box.x <= c.x <= d_unit.box.x for c in cells):
            continue  # the cells of a date between the units: not a free date
        before = [t for t in row if t.box.x2 <= y_unit.box.x]
        era = next((era_of(t.text) for t in reversed(before) if era_of(t.text)), None)
        x0 = before[-1].box.x2 + 0.3 if before else y_unit.box.x - 10.0
        h = max(y_unit.box.h, 4.0)
        y = y_unit.cy - h / 2
        parts = {
            "year": Box(x=x0, y=y, w=max(y_unit.box.x - x0, 1.0), h=h),
            "month": Box(x=y_unit.box.x2, y=y, w=max(m_unit.box.x - y_unit.box.x2, 1.0), h=h),
            "day": Box(x=m_unit.box.x2, y=y, w=max(d_unit.box.x - m_unit.box.x2, 1.0), h=h),
        }
        word = clean(d_unit.text)[1:]
        label = f"{word}日" if word else "年月日"
        box = union(list(parts.values()))
        out.append(
            Proposed(
                guess_name(label, taken), label, FieldType.DATE, box, eras=[era or "令和"], part_boxes=parts
            )
        )
    return out
