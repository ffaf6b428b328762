"""The printed words of a blank form: reading them (OCR, the proposer's only use of an engine) and what a
single line says on its own: a unit (年, 円), an era (昭和), a cell's number (①), a note in brackets, or
options printed side by side (1.男 2.女, 有・無). Nothing here knows about cells or fields."""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from authoring.propose.model import Text
from formkit.model import Box

ERA_NAMES = ["明治", "大正", "昭和", "平成", "令和"]
UNIT_CHARS = set("年月日円歳才通枚部人回件時分〒-ー―—－・()（）")


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


_ITEM = re.compile(r"(?<!\S)(\d)\s*[.．]?\s*([^\d\s.．/／)）(（:：、,][^\s]*)")
_DOTS = "・·･"
#: Options between ・ are words of at most 4 characters, or phrases of at most this many when there
#: are three or more of them.
LONG_OPTION = 14


def option_items(t: Text) -> list[tuple[str, Box]]:
    """Options printed in one text line: numbered (1.男 5.男（基金）) or between ・ (男・女, 有・無)."""
    raw = _normal(t.text)
    items: list[tuple[str, int, int]] = []
    numbered = list(_ITEM.finditer(raw))
    if numbered:
        # A number set apart from its words by a space only (「1　思考・運動抑制」) is what people
        # circle (番号を○で囲む): its mark is looked for round the number.
        items = [
            (m.group(0).replace(" ", "").rstrip("(（:："), m.start(), m.end(1) if _spaced(m) else m.end())
            for m in numbered
        ]
    elif "・" in raw:
        # A line that starts with ・ is a bulleted list (「・自立訓練（生活訓練）・共同生活援助」): each
        # item is led by its bullet, which people circle with it, and may be a phrase with a note in
        # brackets; a line of one bulleted item is one option of the list its cell holds.
        # A line may start with the bracket closing the item on the line before (「・その他（」 /
        # 「）・なし」): its bullets still lead its items.
        bulleted = raw.lstrip(")）").lstrip().startswith("・")
        pos = 0
        for part in raw.split("・"):
            word = part.strip()
            if word and not set(word) <= _BRACKETS:  # 「）・なし」: the bracket closes the item before
                start = pos + len(part) - len(part.lstrip())
                items.append((word, start - 1 if bulleted and start else start, start + len(word)))
            pos += len(part) + 1
        if bulleted:
            if not items or max(len(_bare(s)) for s, _, _ in items) > LONG_OPTION:
                return []
        else:
            # Short words (男・女), or three or more phrases in a row (できる・援助が必要・できない).
            longest = max((len(clean(s)) for s, _, _ in items), default=0)
            if len(items) < 2 or longest > (LONG_OPTION if len(items) >= 3 else 4):
                return []
    # The whole item, number and words: people circle either, and a zone round the whole item holds
    # both kinds of circle.
    return [(label, _span(t, raw, a, b)) for label, a, b in items]


_BRACKETS = set("()（）")


def _bare(option: str) -> str:
    """An option's words without the note in brackets after them (「共同生活援助（グループホーム）」)."""
    return clean(re.sub(r"[(（][^()（）]*[)）]?", "", option))


#: A group in brackets, closed by its bracket, by a colon (「（経鼻・胃瘻：サイズ」) or by the line's end.
_BRACKET_GROUP = re.compile(r"[(（]([^()（）:：]*)(?:[)）:：]|$)")
#: Options in brackets are short words (治癒, 陽圧式) or single digits.
BRACKET_OPTION_CHARS = 4


def bracket_items(t: Text) -> tuple[str, list[tuple[str, Box]]]:
    """Options printed in brackets after a question (「転帰（治癒・転医・中止）」, 「要介護（1 2 3 4 5）」):
    the words before the bracket, and each option and where it is printed; ("", []) where the line
    holds none. Words apart by ・, or numbers apart by spaces, two or more, each short; whether they
    are options or a label's note (住所（都道府県・市区町村）) is the caller's to judge."""
    raw = _normal(t.text)
    for m in _BRACKET_GROUP.finditer(raw):
        inner, at = m.group(1), m.start(1)
        parts = [(p.group(0), at + p.start(), at + p.end()) for p in re.finditer(r"[^・\s]+", inner)]
        digits = all(w.isdigit() and len(w) == 1 for w, _, _ in parts)
        if (
            len(parts) >= 2
            and ("・" in inner or digits)
            and all(len(w) <= BRACKET_OPTION_CHARS for w, _, _ in parts)
        ):
            return clean(raw[: m.start()]), [(w, _span(t, raw, a, b)) for w, a, b in parts]
    return "", []


def _spaced(m: re.Match[str]) -> bool:
    """A numbered option whose number and words only a space parts (no 「.」: 「1 男」, not 「1.男」)."""
    between = m.string[m.end(1) : m.start(2)]
    return bool(between) and between.isspace()


def era_items(t: Text) -> list[tuple[str, Box]]:
    """Eras printed to circle at the end of a line (「③発病年月日　昭和・平成・令和」): each era and
    where it is printed; none unless every word from the first era on is an era."""
    raw = _normal(t.text)
    first = min((i for e in ERA_NAMES if (i := raw.find(e)) >= 0), default=-1)
    if first < 0:
        return []
    if first == 0:
        tail = t
    else:  # measured from the line's end: the label before may be printed letter-spaced (初 診 日)
        w = min(t.box.w, sum(_widths(raw[first:])) / 2 * FULL_WIDTH_EM * t.box.h)
        tail = Text(raw[first:], Box(x=t.box.x2 - w, y=t.box.y, w=w, h=t.box.h))
    items = option_items(tail)
    return (
        [(str(era_of(s)), b) for s, b in items]
        if len(items) >= 2 and all(era_of(s) for s, _ in items)
        else []
    )


#: A full-width character is about this many times as wide as its line's box is high.
FULL_WIDTH_EM = 0.93


def _widths(raw: str) -> list[float]:
    return [2.0 if unicodedata.east_asian_width(ch) in "WF" else 1.0 for ch in raw]


def _normal(text: str) -> str:
    return re.sub(f"[{_DOTS}]", "・", unicodedata.normalize("NFKC", text).strip())


def _span(t: Text, raw: str, a: int, b: int) -> Box:
    """Where characters a..b of a line are printed, by their share of its width: a full-width
    character counts twice a half-width one (digits, spaces and dots after NFKC)."""
    widths = _widths(raw)
    total = sum(widths) or 1.0
    x0 = t.box.x + t.box.w * sum(widths[:a]) / total
    return Box(x=x0, y=t.box.y, w=t.box.w * sum(widths[a:b]) / total, h=t.box.h)


def is_marker(text: str) -> bool:
    """A cell's number (①, ⑩, read as 1 or 10): no label."""
    return bool(re.fullmatch(r"\d{1,2}", clean(text)))


def is_note(text: str) -> bool:
    """A note in brackets at the top of a cell to write in: （フリガナ）, ㋐（通貨）."""
    c = re.sub(r"^[\d.．]*", "", clean(text))
    return c.startswith(("(", "（")) and len(c) <= 12
