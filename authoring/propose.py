"""Proposing a legacy template from a blank form (``dejiru template new``): a first draft to edit.

From the page image: the ruled cells (morphological horizontal and vertical line extraction), and from
the printed text (OCR lines, passed in as :class:`Text`) which cells are labels and which are blank
cells to write in. Each blank cell, or run of touching blank cells, becomes a field named after the
label to its left (or above), with a type guessed from the label's words (氏名 → name, 生年月日 → date)
and its box in millimetres. Comb cells become ``cells``, 「年 月 日」 become date ``part_boxes``, printed
options (1.男 2.女, 有・無) become a choice with the words to circle.

Pure functions on numpy images and plain data, so the detection tests run without an OCR engine;
:func:`read_texts` is the only part that needs one.
"""

from __future__ import annotations

import itertools
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.errors import TemplateError
from formkit.model import Box, FieldType

#: Darker than this is print (a tinted cell, ~217, is paper; drop-out pink, ~190, is print).
INK_LEVEL = 210
#: A ruled line is at least this long; dotted lines and text strokes are shorter.
LINE_MM = 4.5
#: Cells smaller than this are not places to write in.
MIN_CELL_MM = 2.5
#: Cells in one row: tops and heights within this; touching: gap within LINE_GAP_MM.
ROW_TOL_MM = 1.0
LINE_GAP_MM = 1.5
#: A comb cell is narrow (at most this wide, and not much wider than high).
COMB_MAX_W_MM = 10.0

ERA_NAMES = ["明治", "大正", "昭和", "平成", "令和"]
UNIT_CHARS = set("年月日円歳才通枚部人回件時分〒-ー―—－・()（）")
#: Label words → field type, first match wins (order matters: 氏名（フリガナ） is kana, 電話番号 a phone).
TYPE_WORDS: list[tuple[str, FieldType]] = [
    (r"フリガナ|ふりがな|カナ|かな", FieldType.KANA),
    (r"生年月日|年月日|日付|提出日|届出日", FieldType.DATE),
    (r"郵便番号|〒", FieldType.POSTAL),
    (r"電話|TEL|携帯|FAX", FieldType.PHONE),
    (r"住所|所在地|居所", FieldType.ADDRESS),
    (r"署名|サイン", FieldType.SIGNATURE),
    (r"氏名|名前", FieldType.NAME),
    (r"性別|男・女|男女", FieldType.CHOICE),
    (r"金額|円|報酬|料金|手数料|給与|賃金", FieldType.AMOUNT),
    (r"番号|記号|コード|No", FieldType.DIGITS),
    (r"年齢|身長|体重|数|量|cm|kg", FieldType.NUMBER),
]
#: Label words → field name (romanised), first match wins.
NAME_WORDS: list[tuple[str, str]] = [
    (r"フリガナ|ふりがな", "kana"),
    (r"生年月日", "birth_date"),
    (r"郵便番号", "postal_code"),
    (r"電話", "phone"),
    (r"所在地", "office_address"),
    (r"住所", "address"),
    (r"事業主", "employer_name"),
    (r"氏名|名前", "name"),
    (r"名称", "organisation_name"),
    (r"性別", "sex"),
    (r"種別", "kind"),
    (r"区分", "category"),
    (r"年齢", "age"),
    (r"提出|届出", "submitted_on"),
    (r"取得", "acquired_on"),
    (r"年月日|日付", "date"),
    (r"報酬|給与|賃金", "pay"),
    (r"金額|円", "amount"),
    (r"扶養", "dependents"),
    (r"備考", "remarks"),
    (r"身長", "height"),
    (r"体重", "weight"),
    (r"署名", "signature"),
    (r"整理番号", "reference_number"),
    (r"個人番号", "individual_number"),
    (r"番号", "number"),
    (r"記号", "code"),
]


@dataclass(frozen=True)
class Text:
    """A printed text line on the blank form: what it says and where (mm)."""

    text: str
    box: Box

    @property
    def cx(self) -> float:
        return self.box.x + self.box.w / 2

    @property
    def cy(self) -> float:
        return self.box.y + self.box.h / 2


@dataclass
class Option:
    value: str
    label: str
    box: Box


@dataclass
class Proposed:
    """One proposed field, ready to be written as YAML."""

    name: str
    label: str
    type: FieldType
    box: Box
    cells: int | None = None
    options: list[Option] = field(default_factory=list)
    eras: list[str] = field(default_factory=list)
    part_boxes: dict[str, Box] = field(default_factory=dict)
    note: str = ""


# --- ruled cells ------------------------------------------------------------------------------------------


def ruling(gray: np.ndarray, px_per_mm: float) -> np.ndarray:
    """The ruled lines of a form (bool mask): ink runs at least LINE_MM long, across or down."""
    ink = (gray < INK_LEVEL).astype(np.uint8)
    n = max(3, round(LINE_MM * px_per_mm))
    horiz = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (n, 1)))
    vert = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, n)))
    # Close the hairline gaps where lines meet, so cells do not leak into their neighbours.
    return np.asarray(cv2.dilate(horiz | vert, np.ones((3, 3), np.uint8))).astype(bool)


def ruled_cells(gray: np.ndarray, px_per_mm: float) -> list[Box]:
    """Every rectangular cell enclosed by ruled lines, as its inside (mm), top to bottom, left to right."""
    lines = ruling(gray, px_per_mm)
    n, labels, stats, _ = cv2.connectedComponentsWithStats((~lines).astype(np.uint8), connectivity=4)
    page = gray.shape[0] * gray.shape[1]
    k = px_per_mm
    out = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if w < MIN_CELL_MM * k or h < MIN_CELL_MM * k or w * h > 0.4 * page:
            continue
        if x == 0 or y == 0 or x + w >= gray.shape[1] or y + h >= gray.shape[0]:
            continue  # the paper around the form
        sub = labels[y : y + h, x : x + w] == i
        # A cell fills its bounding box along all four edges (holes inside, like tick boxes, are fine).
        edges = [sub[0, :].mean(), sub[-1, :].mean(), sub[:, 0].mean(), sub[:, -1].mean()]
        if min(edges) < 0.8 or area < 0.5 * w * h:
            continue
        out.append(Box(x=x / k, y=y / k, w=w / k, h=h / k))
    return sorted(out, key=lambda b: (round(b.y), b.x))


# --- text and cells ---------------------------------------------------------------------------------------


def clean(text: str) -> str:
    """A label as printed, without spaces, circled numbers (①, ㋐) or list numbers."""
    t = unicodedata.normalize("NFKC", text)
    t = re.sub(r"\s+", "", t)
    t = "".join(ch for ch in t if not ("\u2460" <= ch <= "\u24ff" or "\u3251" <= ch <= "\u32ff"))
    return t.strip("・:：")


def inside(t: Text, b: Box) -> bool:
    return b.x <= t.cx <= b.x2 and b.y <= t.cy <= b.y2


def is_unit(text: str) -> bool:
    t = clean(text)
    return bool(t) and all(ch in UNIT_CHARS or ch.isspace() for ch in t)


def era_of(text: str) -> str | None:
    t = clean(text)
    for era in ERA_NAMES:
        if re.fullmatch(rf"\d?\.?{era}", t):
            return era
    return None


_ITEM = re.compile(r"(?<!\S)(\d)\s*[.．]?\s*([^\d\s.．][^\s]*)")
_DOTS = "・·･"


def option_items(t: Text) -> list[tuple[str, Box]]:
    """Options printed in one text line: numbered (1.男 5.男（基金）) or between ・ (男・女, 有・無)."""
    raw = unicodedata.normalize("NFKC", t.text).strip()
    raw = re.sub(f"[{_DOTS}]", "・", raw)
    n = max(len(raw), 1)
    items: list[tuple[str, int, int]] = []
    numbered = list(_ITEM.finditer(raw))
    if numbered:
        items = [(m.group(0).replace(" ", ""), m.start(), m.end()) for m in numbered]
    elif "・" in raw:
        pos = 0
        for part in raw.split("・"):
            if part.strip():
                start = pos + len(part) - len(part.lstrip())
                items.append((part.strip(), start, start + len(part.strip())))
            pos += len(part) + 1
        if len(items) < 2 or any(len(clean(s)) > 4 for s, _, _ in items):
            return []
    out = []
    for label, a, b in items:
        # Where the item is printed, by its share of the line's characters.
        x0 = t.box.x + t.box.w * a / n
        out.append((label, Box(x=x0, y=t.box.y, w=t.box.w * (b - a) / n, h=t.box.h)))
    return out


def is_marker(text: str) -> bool:
    """A cell's number (①, ⑩, read as 1 or 10): no label."""
    return bool(re.fullmatch(r"\d{1,2}", clean(text)))


def is_note(text: str) -> bool:
    """A note in brackets at the top of a cell to write in: （フリガナ）, ㋐（通貨）."""
    c = re.sub(r"^[\d.．]*", "", clean(text))
    return c.startswith(("(", "（")) and len(c) <= 12


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


#: A narrow cell with more of its area inked than this holds a label, whatever OCR made of it.
LABEL_INK = 0.05


def classify(box: Box, texts: list[Text], ink: float = 0.0) -> Cell:
    """What a cell is, from the text printed in it and how much of it is inked (``ink``, 0-1)."""
    mine = sorted((t for t in texts if inside(t, box)), key=lambda t: (round(t.box.y), t.box.x))
    items = [it for t in mine for it in option_items(t)]
    eras = [t for t in mine if era_of(t.text)]
    if eras and all(era_of(t.text) or is_hint(t, box) for t in mine):
        return Cell(box, mine, "era")
    if len(items) >= 2:
        return Cell(box, mine, "options", items)
    if all(is_hint(t, box) for t in mine) and not (ink > LABEL_INK and box.w < 25.0 and mine):
        return Cell(box, mine, "blank")
    return Cell(box, mine, "label")


def ink_shares(gray: np.ndarray, px_per_mm: float, boxes: list[Box]) -> list[float]:
    """How much of each cell's inside (ruled lines left out) is inked."""
    ink = (gray < INK_LEVEL) & ~ruling(gray, px_per_mm)
    out = []
    for b in boxes:
        i = b.inset(0.3)
        x0, y0 = round(i.x * px_per_mm), round(i.y * px_per_mm)
        x1, y1 = round(i.x2 * px_per_mm), round(i.y2 * px_per_mm)
        sub = ink[y0:y1, x0:x1]
        out.append(float(sub.mean()) if sub.size else 0.0)
    return out


def same_row(a: Box, b: Box) -> bool:
    return abs(a.y - b.y) <= ROW_TOL_MM and abs(a.y2 - b.y2) <= ROW_TOL_MM


def right_of(a: Box, b: Box) -> bool:
    """b starts where a ends (across one ruled line)."""
    return same_row(a, b) and -0.5 <= b.x - a.x2 <= LINE_GAP_MM


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def union(boxes: list[Box]) -> Box:
    x0, y0 = min(b.x for b in boxes), min(b.y for b in boxes)
    x1, y1 = max(b.x2 for b in boxes), max(b.y2 for b in boxes)
    return Box(x=x0, y=y0, w=x1 - x0, h=y1 - y0)


def iou(a: Box, b: Box) -> float:
    inter = _overlap(a.x, a.x2, b.x, b.x2) * _overlap(a.y, a.y2, b.y, b.y2)
    return inter / (a.w * a.h + b.w * b.h - inter) if inter else 0.0


def _label_clusters(cell: Cell) -> list[tuple[str, float, float]]:
    """The labels in a label cell as (text, top, bottom): lines close above one another are one label
    (事業所 / 所在地); a cell with several labels down its height labels several fields."""
    out: list[list[Any]] = []
    for t in sorted((t for t in cell.notes if clean(t.text)), key=lambda t: t.box.y):
        if out and t.box.y - out[-1][2] <= 0.5 * t.box.h:
            out[-1][0] += clean(t.text)
            out[-1][2] = max(out[-1][2], t.box.y2)
        else:
            out.append([clean(t.text), t.box.y, t.box.y2])
    return [(str(a), float(b), float(c)) for a, b, c in out if a]


def _label_for(run: list[Cell], cells: list[Cell], texts: list[Text]) -> tuple[str, Cell | None]:
    first = run[0].box
    left = [c for c in cells if c.kind == "label" and right_of(c.box, first)]
    if left:
        return left[0].label, left[0]
    # A label cell to the left spanning several rows of fields (事業所所在地 / 名称 / 氏名 in one column).
    tall = [
        c
        for c in cells
        if c.kind == "label"
        and -0.5 <= first.x - c.box.x2 <= LINE_GAP_MM
        and _overlap(c.box.y, c.box.y2, first.y, first.y2) >= 0.6 * first.h
    ]
    if tall:
        return tall[0].label, tall[0]
    above = [
        c
        for c in cells
        if c.kind == "label"
        and -0.5 <= first.y - c.box.y2 <= LINE_GAP_MM
        and _overlap(c.box.x, c.box.x2, first.x, first.x2) >= 0.6 * min(c.box.w, first.w)
    ]
    if above:
        return above[0].label, above[0]
    cy = first.y + first.h / 2
    # A label cell further left in the row, with nothing to write in between.
    row = [
        c
        for c in cells
        if c.kind == "label"
        and c.box.x2 <= first.x + 0.5
        and c.box.y <= cy <= c.box.y2
        and not any(
            d is not c
            and c.box.x2 <= d.box.x + 0.5
            and d.box.x2 <= first.x + 0.5
            and d.box.y <= cy <= d.box.y2
            for d in cells
        )
    ]
    if row:
        best = max(row, key=lambda c: c.box.x2)
        return best.label, best
    hints = [clean(t.text) for c in run for t in c.notes if clean(t.text)]
    if hints:
        return re.sub(r"^[\d.．]*", "", hints[0]).strip("()（）"), None
    near = [
        t
        for t in texts
        if t.box.x2 <= first.x + 1
        and first.x - t.box.x2 < 40
        and _overlap(t.box.y, t.box.y2, first.y, first.y2) > 0.5 * t.box.h
        and not (is_unit(t.text) or is_marker(t.text) or era_of(t.text) or clean(t.text) in ("T", "〒"))
    ]
    if near:
        return clean(max(near, key=lambda t: t.box.x2).text), None
    return "", None


def guess_type(label: str) -> FieldType:
    for pattern, ftype in TYPE_WORDS:
        if re.search(pattern, label):
            return ftype
    return FieldType.TEXT


def guess_name(label: str, taken: set[str]) -> str:
    base = next((name for pattern, name in NAME_WORDS if re.search(pattern, label)), "field")
    if base == "field" or base in taken:
        i = 1
        while f"{base}_{i:02d}" in taken:
            i += 1
        base = f"{base}_{i:02d}"
    taken.add(base)
    return base


#: Between two cells of one field (a date's 「□□年□□月」, a postal code's 「□□□-□□□□」) at most this gap.
UNIT_GAP_MM = 9.0


def _gap_texts(a: Box, b: Box, texts: list[Text]) -> list[Text]:
    return [t for t in texts if a.x2 - 0.5 <= t.cx <= b.x + 0.5 and a.y <= t.cy <= a.y2]


def _runs(cells: list[Cell], loose: list[Text]) -> list[tuple[list[Cell], list[Text]]]:
    """Non-label cells in one row, left to right, that make one field (a comb, a date's cells), with
    the loose text between them (年, 月, -). A run goes on into cells with nothing of their own to say
    (empty, or a unit: 年, 円), across a ruled line or a gap holding only a unit; a cell with its own
    words (a note, options) starts a new field."""
    todo = sorted((c for c in cells if c.kind != "label"), key=lambda c: (round(c.box.y), c.box.x))
    seen: set[int] = set()
    runs = []
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
            words = _gap_texts(a, nxt[0].box, loose)
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
        runs.append((run, between))
    return runs


def _is_comb(run: list[Cell]) -> bool:
    ws = [c.box.w for c in run]
    med = float(np.median(ws))
    return (
        len(run) >= 2
        and all(c.kind == "blank" and not c.texts for c in run)
        and med <= COMB_MAX_W_MM
        and all(abs(w - med) <= 0.25 * med for w in ws)
        and all(c.box.w <= 1.4 * c.box.h for c in run)
    )


def _date_field(
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
            Option(str(e), clean(t.text), _circle_area(t.box, _cell_of(run, t).box)) for e, t in era_words
        ]
    if not eras:
        eras = ["昭和", "平成", "令和"] if "生" in label else ["令和"]
    units: dict[str, Text] = {}
    for t in texts:
        word = clean(t.text)
        for u in "年月日":
            if u in word and u not in units and (word == u or word.startswith(u)):
                units[u] = t
    digits = [c for c in run if c.kind == "blank" and not c.texts]
    parts: dict[str, Box] = {}
    per_part: set[int] = set()
    if len(units) == 3:
        start = max([run[0].box.x] + [t.box.x2 for _, t in era_words])
        for u, part in zip("年月日", ("year", "month", "day"), strict=True):
            t = units[u]
            mine = [c for c in digits if start - 0.5 <= c.box.x and c.box.x2 <= t.cx]
            home = _cell_of(run, t)
            if mine:  # comb cells before the unit
                parts[part] = union([c.box for c in mine])
                per_part.add(len(mine))
            elif home.box.x < t.box.x - 3.0 and all(_cell_of(run, units[v]) is home for v in "年月日"):
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
        parts = {p: union([c.box for c in g]) for p, g in zip(("year", "month", "day"), groups, strict=True)}
        per_part = {len(g) for g in groups}
    if len(parts) < 3:
        box = union([c.box for c in digits or run])
        third = box.w / 3
        parts = {
            p: Box(x=box.x + i * third, y=box.y, w=third, h=box.h)
            for i, p in enumerate(("year", "month", "day"))
        }
    cells = 2 if per_part == {2} else None
    return eras, parts, options if len(options) >= 2 else [], cells


def _cell_of(run: list[Cell], t: Text) -> Cell:
    return next((c for c in run if inside(t, c.box)), run[0])


def _circle_area(word: Box, cell: Box) -> Box:
    """Where a circle around a printed word lies: the word and a margin, within its cell."""
    x0, y0 = max(word.x - 1.0, cell.x), max(word.y - 0.6, cell.y)
    x1, y1 = min(word.x2 + 1.0, cell.x2), min(word.y2 + 0.6, cell.y2)
    return Box(x=x0, y=y0, w=x1 - x0, h=y1 - y0)


def _split_bands(box: Box, label_cell: Cell) -> list[tuple[str, Box]]:
    """A tall blank cell beside a label cell holding several labels: one band per label."""
    clusters = _label_clusters(label_cell)
    if len(clusters) < 2:
        return []
    mids = [(a[2] + b[1]) / 2 for a, b in itertools.pairwise(clusters)]
    edges = [box.y, *mids, box.y2]
    return [
        (text, Box(x=box.x, y=y0, w=box.w, h=y1 - y0))
        for (text, _, _), y0, y1 in zip(clusters, edges, edges[1:], strict=False)
    ]


DASHES = set("-－ー―—−")


def _split_at_dashes(run: list[Cell]) -> list[list[Cell]]:
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


def _note_bands(cell: Cell) -> list[tuple[str, Box]]:
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


def tick_squares(gray: np.ndarray, px_per_mm: float) -> list[Box]:
    """Printed tick boxes (□, 1.5-6 mm): hollow square outlines."""
    ink = (gray < INK_LEVEL).astype(np.uint8)
    contours, hierarchy = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    out: list[Box] = []
    if hierarchy is None:
        return out
    for i, c in enumerate(contours):
        if hierarchy[0][i][3] != -1 or hierarchy[0][i][2] == -1:
            continue  # a hole, or a blob without one
        x, y, w, h = cv2.boundingRect(c)
        wm, hm = w / px_per_mm, h / px_per_mm
        if not (1.5 <= wm <= 6.5 and 0.8 <= wm / hm <= 1.25):
            continue
        _, _, hw, hh = cv2.boundingRect(contours[hierarchy[0][i][2]])
        if hw * hh >= 0.4 * w * h and cv2.contourArea(c) >= 0.85 * w * h:  # a frame with a big hole
            out.append(Box(x=x / px_per_mm, y=y / px_per_mm, w=wm, h=hm))
    return out


def _tick_words(squares: list[Box], texts: list[Text]) -> list[tuple[Box, str, Text | None]]:
    """Each tick box with the words printed right after it (□ 世帯全員)."""
    out = []
    for sq in squares:
        cy = sq.y + sq.h / 2
        after = [
            t for t in texts if sq.x2 - 0.5 <= t.box.x <= sq.x2 + 4.0 and abs(t.cy - cy) <= max(sq.h, 2.0)
        ]
        t = min(after, key=lambda t: t.box.x) if after else None
        out.append((sq, clean(t.text).lstrip("□") if t else "", t))
    return out


def _left_label(box: Box, cells: list[Cell], texts: list[Text]) -> str:
    """The label printed left of a place in its row: a label cell, else loose text."""
    cy = box.y + box.h / 2
    left = [
        c
        for c in cells
        if c.kind == "label" and c.box.x2 <= box.x + 0.5 and c.box.y - 0.5 <= cy <= c.box.y2 + 0.5
    ]
    if left:
        return max(left, key=lambda c: c.box.x2).label
    near = [t for t in texts if t.box.x2 <= box.x + 0.5 and abs(t.cy - cy) <= 2.0 and box.x - t.box.x2 < 30]
    return clean(max(near, key=lambda t: t.box.x2).text) if near else ""


def _free_dates(texts: list[Text], cells: list[Box], taken: set[str]) -> list[Proposed]:
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


def _option_values(labels: list[str]) -> list[str]:
    """Option values from printed options: option_1 for 「1.男」, else opt1, opt2..."""
    nums = [re.match(r"\d", lab) for lab in labels]
    values = [f"option_{m.group(0)}" if m else f"opt{i + 1}" for i, m in enumerate(nums)]
    return values if len(set(values)) == len(values) else [f"opt{i + 1}" for i in range(len(labels))]


def _free_options(label_cell: Cell, cells: list[Cell], texts: list[Text], used: set[int]) -> list[Option]:
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
        for v, lab, t in zip(_option_values(labels), labels, row, strict=True)
    ]


def _separate(options: list[Option]) -> None:
    """Neighbouring options' circle areas must not overlap (a circle would count for both): cut each
    overlap in the middle, across its thinner side."""
    for i, a in enumerate(options):
        for b in options[i + 1 :]:
            ox = _overlap(a.box.x, a.box.x2, b.box.x, b.box.x2)
            oy = _overlap(a.box.y, a.box.y2, b.box.y, b.box.y2)
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


def _is_square(b: Box) -> bool:
    return 2.5 <= b.w <= 6.5 and 0.8 <= b.w / b.h <= 1.25


def propose(gray: np.ndarray, px_per_mm: float, texts: list[Text]) -> list[Proposed]:
    """Proposed fields for a blank form page (grey image, its resolution, its printed text lines)."""
    boxes = ruled_cells(gray, px_per_mm)
    cells = [classify(b, texts, s) for b, s in zip(boxes, ink_shares(gray, px_per_mm, boxes), strict=True)]
    # Tick boxes: small empty squares, ruled or printed, each with the words after it.
    squares = [
        c.box
        for c in cells
        if c.kind == "blank"
        and not c.texts
        and _is_square(c.box)
        and not any(right_of(c.box, d.box) or right_of(d.box, c.box) for d in cells)  # not a comb cell
    ]
    squares += [s for s in tick_squares(gray, px_per_mm) if all(iou(s, q) < 0.5 for q in squares)]
    cells = [c for c in cells if not any(iou(c.box, q) >= 0.5 for q in squares)]
    for c in cells:
        if any(inside(Text("", q), c.box) for q in squares) and c.kind == "label" and len(c.notes) <= 3:
            c.kind = "blank"  # a cell holding 「□ 発行が必要」 is for ticking, not a label
    # Words printed side by side in a cell right after a label (男　・　女): options to circle.
    for c in cells:
        side = [t for t in c.notes if not is_note(t.text)]
        left = [d for d in cells if d.kind == "label" and right_of(d.box, c.box)]
        if (
            c.kind == "label"
            and left
            and len(side) >= 2
            and all(len(clean(t.text)) <= 4 and not re.search(r"\d", t.text) for t in side)
            and max(t.cy for t in side) - min(t.cy for t in side) <= 1.0
        ):
            c.kind, c.items = "options", [(clean(t.text), t.box) for t in side]
    found = _tick_words(squares, texts)
    ticks = [(b, w) for b, w, _ in found]
    tick_text = {id(b): t for b, _, t in found}
    taken: set[str] = set()
    out: list[Proposed] = []

    def add(label: str, ftype: FieldType, box: Box, **kw: Any) -> None:
        if box.w < 4.0 or box.h < 2.5:
            return
        _separate(kw.get("options", []))
        out.append(Proposed(guess_name(label, taken), label or "（ラベル不明）", ftype, box, **kw))

    out += _free_dates(texts, boxes, taken)
    loose = [t for t in texts if not any(inside(t, c.box) for c in cells)]
    era_ticks = [(b, w) for b, w in ticks if w in ERA_NAMES]
    used_ticks: set[int] = set()
    used_texts: set[int] = set()
    for whole, between in _runs(cells, loose):
        used_texts.update(id(t) for t in between)
        runs = (
            [whole]
            if guess_type(_label_for(whole, cells, texts)[0]) is FieldType.POSTAL
            else _split_at_dashes(whole)
        )
        for run in runs:
            label, label_cell = _label_for(run, cells, texts)
            box = union([c.box for c in run])
            units = [clean(t.text) for t in [*between, *(t for c in run for t in c.texts)] if is_unit(t.text)]
            has_date_units = all(any(u in x for x in units) for u in "年月日")
            ftype = guess_type(label)
            mine_ticks = [(b, w) for b, w in ticks if id(b) not in used_ticks and inside(Text("", b), box)]
            if mine_ticks and not has_date_units:
                used_ticks.update(id(b) for b, _ in mine_ticks)
                words = [w for _, w in mine_ticks]
                if len(mine_ticks) == 1:
                    add(f"{label}（{words[0]}）" if label else words[0], FieldType.CHECKBOX, box)
                else:
                    opts = [
                        Option(v, w or v, b)
                        for v, (b, w) in zip(_option_values(words), mine_ticks, strict=True)
                    ]
                    add(label, FieldType.CHECKBOXES, box, options=opts)
                continue
            era_left = [
                t for t in loose if era_of(t.text) and 0 <= box.x - t.box.x2 <= 15 and box.y <= t.cy <= box.y2
            ]
            between += era_left
            if ftype is FieldType.DATE or has_date_units or era_left or any(c.kind == "era" for c in run):
                label = label if label.strip("年月日") else "年月日"
                row_ticks = [
                    (b, w) for b, w in era_ticks if same_row(b, box) or (box.y <= b.y + b.h / 2 <= box.y2)
                ]
                row_ticks = [(b, w) for b, w in row_ticks if b.x < box.x and id(b) not in used_ticks]
                used_ticks.update(id(b) for b, _ in row_ticks)
                eras, parts, options, per_part = _date_field(run, between, label, row_ticks)
                full = union([box, *(b for b, _ in row_ticks)])
                add(label, FieldType.DATE, full, eras=eras, part_boxes=parts, options=options, cells=per_part)
            elif any(c.kind == "options" for c in run):
                items = [(s, b, c) for c in run for s, b in c.items]
                values = _option_values([s for s, _, _ in items])
                opts = [
                    Option(v, s, _circle_area(b, c.box)) for v, (s, b, c) in zip(values, items, strict=True)
                ]
                add(label, FieldType.CHOICE, box, options=opts)
            elif _is_comb(run) or (
                ftype is FieldType.POSTAL
                and sum(_is_comb([c]) or (not c.texts and c.box.w <= COMB_MAX_W_MM) for c in run) == 7
            ):
                n = sum(1 for c in run if not c.texts)
                comb = ftype if ftype in (FieldType.KANA, FieldType.POSTAL) else FieldType.DIGITS
                if comb is FieldType.POSTAL and n != 7:
                    comb = FieldType.DIGITS
                add(label, comb, box, cells=n)
            elif label_cell is not None and (bands := _split_bands(box, label_cell)) and len(run) == 1:
                for text, band in bands:
                    add(text, guess_type(text), band)
            elif len(run) == 1 and run[0].kind == "blank" and (bands := _note_bands(run[0])):
                for note, band in bands:
                    named = f"{label}（{note}）" if note and label else (note or label)
                    kind = FieldType.KANA if note == "フリガナ" else guess_type(label)
                    add(named, kind if kind is not FieldType.CHOICE else FieldType.TEXT, band)
            else:
                add(label, ftype if ftype is not FieldType.CHOICE else FieldType.TEXT, box)
    # Tick boxes in no cell to write in (□ 世帯全員 □ 一部): one field per label before them.
    free = sorted(
        ((b, w) for b, w in ticks if id(b) not in used_ticks and w not in ERA_NAMES),
        key=lambda t: (round(t[0].y), t[0].x),
    )
    while free:
        b0, _ = free[0]
        label = _left_label(b0, cells, texts)
        group = [(b, w) for b, w in free if abs(b.y - b0.y) <= 20 and _left_label(b, cells, texts) == label]
        free = [t for t in free if t not in group]
        words = [w for _, w in group]
        texts_of = [t for b, _ in group if (t := tick_text.get(id(b))) is not None]
        used_texts.update(id(t) for t in texts_of)
        word_boxes = [t.box for t in texts_of]
        box = union([b for b, _ in group] + word_boxes)
        rows = [c.box for c in cells if c.kind == "label" and c.label == label and c.box.x2 <= box.x + 0.5]
        if rows and rows[0].h > box.h:  # the field takes the height of its label's row
            box = Box(
                x=box.x, y=min(box.y, rows[0].y), w=box.w, h=max(box.y2, rows[0].y2) - min(box.y, rows[0].y)
            )
        if len(group) == 1:
            add(f"{label}（{words[0]}）" if label else words[0], FieldType.CHECKBOX, box)
        else:
            opts = [Option(v, w or v, b) for v, (b, w) in zip(_option_values(words), group, strict=True)]
            add(label, FieldType.CHECKBOXES, box, options=opts)
    # Options printed after a label with nowhere else to write (本人　同一世帯の人　代理人).
    has_field = [f.box for f in out]
    for c in cells:
        if c.kind != "label" or any(
            same_row(c.box, f) or (c.box.y <= f.y + f.h / 2 <= c.box.y2 and f.x >= c.box.x2 - 0.5)
            for f in has_field
        ):
            continue
        opts = _free_options(
            c, cells, [t for t in texts if not any(inside(t, q) for q in squares)], used_texts
        )
        if opts:
            add(c.label, FieldType.CHOICE, union([o.box for o in opts]), options=opts)
    return out


# --- the blank form as a file -------------------------------------------------------------------------------

#: Resolution the blank form is looked at (200 dpi).
PX_PER_MM = 200 / 25.4
A4_MM = (210.0, 297.0)


def load_blank(path: Path, page: int = 1) -> tuple[np.ndarray, tuple[float, float]]:
    """A blank form page as an RGB image at PX_PER_MM, and the page size (mm). A PDF page is rendered;
    an image is taken at its recorded resolution, else as A4 (portrait or landscape)."""
    from PIL import Image

    if path.suffix.lower() == ".pdf":
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(str(path))
        try:
            if not 1 <= page <= len(doc):
                raise TemplateError(
                    f"{path.name} には {page} ページ目がありません（{len(doc)} ページ）",
                    f"{path.name} has no page {page} ({len(doc)} page(s))",
                )
            pg = doc[page - 1]
            size = (pg.get_width() * 25.4 / 72, pg.get_height() * 25.4 / 72)
            img = np.array(pg.render(scale=PX_PER_MM * 25.4 / 72).to_pil().convert("RGB"))
        finally:
            doc.close()
        return img, size
    try:
        pil = Image.open(path)
        pil.seek(page - 1)
        rgb = pil.convert("RGB")
    except (OSError, EOFError) as exc:
        raise TemplateError(
            f"{path.name} を画像として読めません", f"cannot read {path.name} as an image", detail=str(exc)
        ) from exc
    dpi = pil.info.get("dpi", (0, 0))[0]
    if 50 <= float(dpi) <= 1200:
        size = (rgb.width * 25.4 / float(dpi), rgb.height * 25.4 / float(dpi))
    else:
        size = A4_MM if rgb.height >= rgb.width else (A4_MM[1], A4_MM[0])
    w, h = round(size[0] * PX_PER_MM), round(size[1] * PX_PER_MM)
    return np.array(rgb.resize((w, h), Image.Resampling.LANCZOS)), size


def save_master(source: Path, folder: Path, page: int = 1) -> str:
    """Copy the blank form into the template's folder: one PDF page as ``master.pdf``, an image as
    ``master.png``. Returns the file name for ``master:``."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    if source.suffix.lower() == ".pdf":
        import pypdfium2 as pdfium

        target = folder / "master.pdf"
        doc = pdfium.PdfDocument(str(source))
        try:
            if len(doc) == 1:
                if source.resolve() != target.resolve():
                    shutil.copyfile(source, target)
            else:  # the form's own page only
                one = pdfium.PdfDocument.new()
                one.import_pages(doc, [page - 1])
                one.save(str(target))
                one.close()
        finally:
            doc.close()
        return target.name
    target = folder / "master.png"
    with Image.open(source) as im:
        im.seek(page - 1)
        rgb = im.convert("RGB")
        dpi = im.info.get("dpi")
    rgb.save(target, "PNG", **({"dpi": dpi} if dpi else {}))
    return target.name


def to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))


# --- OCR of the printed labels ----------------------------------------------------------------------------


def read_texts(image: np.ndarray, px_per_mm: float, engine: str | None = None) -> list[Text]:
    """The printed text lines of a blank form (detection and recognition with the reading engine)."""
    from ocr.fullpage import read_full_page

    out = []
    for line in read_full_page(image, engine=engine):
        q = np.asarray(line.quad, dtype=np.float32) / px_per_mm
        x0, y0 = float(q[:, 0].min()), float(q[:, 1].min())
        x1, y1 = float(q[:, 0].max()), float(q[:, 1].max())
        if y1 - y0 > 3 * (x1 - x0) and len(line.text) > 1:
            continue  # vertical text (a side heading): no label for a field
        out.append(Text(line.text, Box(x=x0, y=y0, w=x1 - x0, h=y1 - y0)))
    return out


def guess_title(
    texts: list[Text], page_mm: tuple[float, float] = A4_MM, cells: list[Box] | None = None
) -> str:
    """The form's title: the largest one-line text near the top of the page and outside its ruled
    cells, centred ones first."""
    w, h = page_mm
    top = [
        t
        for t in texts
        if t.box.y < h * 0.15
        and not any(inside(t, c) for c in cells or [])
        and len(clean(t.text)) >= 3
        and t.box.w >= 0.6 * t.box.h * len(clean(t.text))
    ]
    if not top:
        return ""
    return clean(max(top, key=lambda t: t.box.h * (1.0 if abs(t.cx - w / 2) < w / 4 else 0.5)).text)


# --- YAML ---------------------------------------------------------------------------------------------------


def _b(box: Box) -> str:
    """A box as YAML, 0.1 mm inside the detected one: boxes that touch (a row of cells, bands of one
    cell) stay apart after rounding."""
    b = box.inset(0.1)
    return "[" + ", ".join(f"{v:.1f}" for v in (b.x, b.y, b.w, b.h)) + "]"


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_yaml(
    form_id: str,
    title: str,
    master: str,
    fields: list[Proposed],
    *,
    source: str = "",
    page_mm: tuple[float, float] = (210.0, 297.0),
) -> str:
    """A ``template.yaml`` (kind: legacy) for the proposed fields, with a header saying what to check."""
    lines = [
        "# 自動で作った下書きです。必ず見直してください / A draft proposed by `dejiru template new`: edit it.",
        "# - 項目名 (name) は英小文字で、業務に合う名前に / rename fields (lower-case ASCII) to what they hold",
        "# - 種類 (type) と枠 (box: [x, y, 幅, 高さ] mm, 用紙の左上から) を原本と見比べて直す /",
        "#   check each type and box (mm from the page's top-left) against the master",
        "# - 不要な項目は消し、必須 (required: true) や確認ルール (rules) を足す /",
        "#   delete fields nobody writes in, add required: true and rules",
        "# - 確認: dejiru template show ID、dejiru samples --form ID、dejiru read SCAN --overlay out.png",
        f"id: {form_id}",
        "version: 1",
        "kind: legacy",
        f"master: {master}",
        f"title: {_q(title or form_id)}",
    ]
    if source:
        lines.append(f"source: {_q(source)}")
    if abs(page_mm[0] - A4_MM[0]) > 1.0 or abs(page_mm[1] - A4_MM[1]) > 1.0:
        lines.append(f"page: {{width_mm: {page_mm[0]:.1f}, height_mm: {page_mm[1]:.1f}}}")
    lines.append("fields:")
    for f in fields:
        lines += [f"  - name: {f.name}", f"    label: {_q(f.label)}", f"    type: {f.type.value}"]
        if f.note:
            lines.append(f"    # {f.note}")
        lines.append(f"    box: {_b(f.box)}")
        if f.cells:
            lines.append(f"    cells: {f.cells}")
        if f.eras:
            lines.append(f"    eras: [{', '.join(f.eras)}]")
        if f.part_boxes:
            lines.append("    part_boxes:")
            lines += [f"      {k}: {_b(v)}" for k, v in f.part_boxes.items()]
        if f.options:
            lines.append("    options:")
            lines += [
                f"      - {{value: {_q(o.value)}, label: {_q(o.label)}, box: {_b(o.box)}}}" for o in f.options
            ]
    return "\n".join(lines) + "\n"
