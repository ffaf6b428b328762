"""Labels: which printed words name a place to write in (the label cell to its left, a tall one spanning
several rows, the one above, loose text before it), and what a label says about its field: a type
from its words (氏名 → name, 生年月日 → date), a romanised name, and the form's title."""

from __future__ import annotations

import re
from typing import Any

from authoring.propose.blank import A4_MM
from authoring.propose.cells import LINE_GAP_MM, Cell, overlap, right_of
from authoring.propose.model import Text
from authoring.propose.vocabulary import name_parts
from authoring.propose.words import clean, era_of, inside, is_marker, is_unit
from formkit.model import Box, FieldType

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


# --- what a label says ----------------------------------------------------------------------------------


def guess_type(label: str) -> FieldType:
    for pattern, ftype in TYPE_WORDS:
        if re.search(pattern, label):
            return ftype
    return FieldType.TEXT


#: A name made from its label's words is cut to at most this many characters (at a word's end).
NAME_MAX = 32


def worded(label: str) -> str:
    """A field name from a label no pattern knows: its words in English (authoring.propose.vocabulary),
    joined by _, cut at a word's end; "" when no word is known."""
    name = "_".join(name_parts(label))
    while len(name) > NAME_MAX and "_" in name:
        name = name.rsplit("_", 1)[0]
    return name[:NAME_MAX]


def guess_name(label: str, taken: set[str]) -> str:
    base = next((name for pattern, name in NAME_WORDS if re.search(pattern, label)), "") or worded(label)
    base = base or "field"
    if base == "field" or base in taken:
        i = 1
        while f"{base}_{i:02d}" in taken:
            i += 1
        base = f"{base}_{i:02d}"
    taken.add(base)
    return base


#: A form's title ends in one of these (〜申請書, 〜届, 〜個人票, 〜証明書, 〜意見書).
TITLE_ENDS = ("書", "届", "票", "簿", "表", "願", "証")


def guess_title(
    texts: list[Text], page_mm: tuple[float, float] = A4_MM, cells: list[Box] | None = None
) -> str:
    """The form's title: near the top of the page, outside its ruled cells, one that ends like a
    form's name (申請書, 届, 個人票) before one that does not, then the largest print; a subtitle in
    brackets printed right after it is kept with it (「診断書（精神障害者保健福祉手帳用）」). No date
    and no bracketed line on its own."""
    _, h = page_mm
    top = [
        t
        for t in texts
        if t.box.y < h * 0.2
        and not any(inside(t, c) for c in cells or [])
        and len(clean(t.text)) >= 2
        and not clean(t.text).startswith(("(", "（"))
        and not re.search(r"\d|年.*月", clean(t.text))
    ]
    if not top:
        return ""
    best = max(top, key=lambda t: (clean(t.text).rstrip(")）").endswith(TITLE_ENDS), t.box.h))
    title = clean(best.text)
    after = [
        t
        for t in texts
        if 0 <= t.box.x - best.box.x2 <= 3.0
        and abs(t.cy - best.cy) <= best.box.h / 2
        and clean(t.text).startswith(("(", "（"))
    ]
    return title + clean(after[0].text) if after else title


# --- which label names a place ----------------------------------------------------------------------------


def label_clusters(cell: Cell) -> list[tuple[str, float, float]]:
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


def label_for(run: list[Cell], cells: list[Cell], texts: list[Text]) -> tuple[str, Cell | None]:
    """The label of a run of cells to write in, and the label cell it was read from (None when it
    came from the run's own notes or loose text). Tried in order: the label cell right before it, a
    tall one spanning its row, the one above, one further left with nothing between, its own note,
    loose text to its left."""
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
        and overlap(c.box.y, c.box.y2, first.y, first.y2) >= 0.6 * first.h
    ]
    if tall:
        return tall[0].label, tall[0]
    above = [
        c
        for c in cells
        if c.kind == "label"
        and -0.5 <= first.y - c.box.y2 <= LINE_GAP_MM
        and overlap(c.box.x, c.box.x2, first.x, first.x2) >= 0.6 * min(c.box.w, first.w)
    ]
    if above:
        return above[0].label, above[0]
    row = _row_label_cells(first, cells)
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
        and overlap(t.box.y, t.box.y2, first.y, first.y2) > 0.5 * t.box.h
        and not (is_unit(t.text) or is_marker(t.text) or era_of(t.text) or clean(t.text) in ("T", "〒"))
    ]
    if near:
        return clean(max(near, key=lambda t: t.box.x2).text), None
    return "", None


def _row_label_cells(first: Box, cells: list[Cell]) -> list[Cell]:
    """Label cells further left in the row of ``first``, with no other cell between them and it."""
    cy = first.y + first.h / 2
    return [
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


def left_label(box: Box, cells: list[Cell], texts: list[Text]) -> str:
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
