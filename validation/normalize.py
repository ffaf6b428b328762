"""Normalisers: the one canonical spelling of each kind of value. Pure functions.

A value is normalised before it is checked and before it is keyed, so a target system always sees
half-width digits, ASCII hyphens in numbers, full-width katakana, and one full-width space between a
family name and a given name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import jaconv

FULL_SPACE = "\u3000"
#: Characters people and OCR use for a hyphen or a long dash.
DASHES = "-‐‑‒–—―−－ｰー一"
_DASH_RE = re.compile(f"[{re.escape(DASHES)}]")
_DIGIT_DASH_RE = re.compile(rf"(?<=[0-9０-９])\s*[{re.escape(DASHES)}]\s*(?=[0-9０-９])")


def digits_only(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", text) if c.isdigit())


def _foldable(ch: str) -> bool:
    """Latin, digits, kana, spaces and their width forms: what NFKC may rewrite in a name.

    Kanji are left as written. NFKC (NFC too) turns a CJK compatibility ideograph into the unified one
    (塚 U+FA10 → 塚 U+585A, 神 U+FA19 → 神, 福 U+FA1B → 福), but the registry writes the name in the
    form it was given; a variation selector (IVS) after a kanji is part of that form as well.
    Kangxi radicals (⼭ U+2F2D) are not a form anyone registers: they come from pasted PDF text and
    fold to the kanji they look like.
    """
    o = ord(ch)
    return (
        o < 0x0250  # Basic Latin and Latin-1 (NBSP, ª …), Latin Extended
        or 0x2000 <= o <= 0x206F  # general punctuation: spaces of every width
        or 0x2F00 <= o <= 0x2FDF  # Kangxi radicals
        or 0x3000 <= o <= 0x30FF  # ideographic space, kana, voiced sound marks
        or 0x31F0 <= o <= 0x31FF  # small katakana for Ainu
        or 0xFF00 <= o <= 0xFFEF  # full-width Latin and digits, half-width katakana
    )


def fold_width(text: str) -> str:
    """NFKC for the foldable runs of ``text`` only (ｶﾞ → ガ, Ａ１ → A1), every other character kept."""
    out, run = [], []
    for ch in text:
        if _foldable(ch):
            run.append(ch)
            continue
        if run:
            out.append(unicodedata.normalize("NFKC", "".join(run)))
            run = []
        out.append(ch)
    if run:
        out.append(unicodedata.normalize("NFKC", "".join(run)))
    return "".join(out)


def name(text: str) -> str:
    """Family and given name separated by one full-width space; other spacing removed.

    Width forms of Latin, digits, kana and spaces are folded; kanji keep the form they were written
    in, compatibility ideographs and variation sequences included (:func:`fold_width`).
    """
    parts = fold_width(text).split()
    return FULL_SPACE.join(parts)


def hiragana(text: str) -> str:
    """Full-width hiragana, one full-width space between names."""
    t = jaconv.kata2hira(jaconv.h2z(text, kana=True, digit=False, ascii=False))
    t = re.sub(r"(?<=[ぁ-ゖ])[一－―‐-](?=[ぁ-ゖ]|$)", "ー", t)
    return FULL_SPACE.join(t.split())


def katakana(text: str) -> str:
    """Full-width katakana (half-width and hiragana converted), one full-width space between names.

    A kanji 一 between kana is a misread long vowel mark ー and is corrected.
    """
    t = jaconv.h2z(text, kana=True, digit=False, ascii=False)
    t = jaconv.hira2kata(t)
    t = re.sub(r"(?<=[ァ-ヶ])[一－―‐-](?=[ァ-ヶ]|$)", "ー", t)
    return FULL_SPACE.join(t.split())


def phone(text: str) -> str:
    """Digits with ASCII hyphens; brackets around an area code become hyphens."""
    t = unicodedata.normalize("NFKC", text).strip()
    t = t.replace("(", "-").replace(")", "-")
    t = _DASH_RE.sub("-", t)
    t = re.sub(r"\s+", "", t)
    t = re.sub(r"-{2,}", "-", t).strip("-")
    return t


def amount_text(text: str, unit: str | None = None) -> str:
    """An amount or a count as a person types it, without what carries no value: spaces, thousands
    commas, ¥ and 円, and the field's own unit (通, 部). What is left must be digits to be a number;
    the caller says what else it accepts."""
    t = (
        "".join(unicodedata.normalize("NFKC", text).split())
        .replace(",", "")
        .removeprefix("¥")
        .removesuffix("円")
    )
    return t.removesuffix(unicodedata.normalize("NFKC", unit)) if unit else t


def postal(text: str) -> str:
    d = digits_only(text)
    return f"{d[:3]}-{d[3:]}" if len(d) == 7 else d


_KANJI_NUM = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


_KANJI_POSITIONAL_RE = re.compile(r"[〇一二三四五六七八九]{1,12}")
_KANJI_STRUCTURED_RE = re.compile(
    r"(?:([一二三四五六七八九])?千)?(?:([一二三四五六七八九])?百)?(?:([一二三四五六七八九])?十)?([一二三四五六七八九])?"
)


def kanji_to_int(text: str) -> int:
    """一〇二 → 102, 千二百三十四 → 1234, 十 → 10.

    Only a numeral as people write one is read: digits in place (二〇二四) or units each once, largest
    first, with at most one digit before each (千二百三十四). Anything else (十十, 二三十, 百千, empty,
    another character) raises ``ValueError`` rather than being read as some other number (十十 was
    20): a date's or an address's numeral must not turn silently into a wrong value, and callers
    leave such a run as written (``validation.address``) or say so (``validation.wareki``).
    """
    if _KANJI_POSITIONAL_RE.fullmatch(text):
        return int("".join(str(_KANJI_NUM[c]) for c in text))
    m = _KANJI_STRUCTURED_RE.fullmatch(text)
    if not text or m is None:
        raise ValueError(f"not a kanji numeral: {text[:20]!r}")
    total = 0
    for group, (mark, unit) in enumerate((("千", 1000), ("百", 100), ("十", 10)), start=1):
        if mark in text:  # each at most once: the pattern allows no repeat
            digit = m.group(group)
            total += (_KANJI_NUM[digit] if digit else 1) * unit
    return total + (_KANJI_NUM[m.group(4)] if m.group(4) else 0)


def address(text: str) -> str:
    """One spelling for addresses (:meth:`validation.address.Address.text`): half-width digits,
    丁目・番地・号 as hyphenated numbers, town names and buildings as written, one space before the
    building. The address is parsed into its parts first, so a building's or a town's own numerals
    (一番町, 三番町KSビル, 一番館) never become block numbers and a room never merges into them.

    東大和市中央三丁目2番1号 → 東大和市中央3-2-1; 芋窪1234番地の5 → 芋窪1234-5;
    中央3-2-1 201号室 → 中央3-2-1 201号室 (not 3-2-1201号室).
    """
    from validation.address import parse

    return parse(text).text()


def text(value: str) -> str:
    """Free text: NFKC (half-width digits and Latin), runs of spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", value).split())


def number(text: str) -> str:
    """A measurement as written, in half-width characters without spaces (170.5, 120/80)."""
    t = unicodedata.normalize("NFKC", text)
    return "".join(_DASH_RE.sub("-", t).split())


#: The normalisers a kind names (``FieldKind.normaliser``): one canonical spelling per kind of value.
#: ``kana`` is katakana; a field written in hiragana (``script: hiragana``) takes :func:`hiragana`.
NORMALISERS: dict[str, Callable[[str], str]] = {
    "text": text,
    "address": address,
    "name": name,
    "kana": katakana,
    "postal": postal,
    "phone": phone,
    "number": number,
}
