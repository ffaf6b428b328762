"""Normalisers: the one canonical spelling of each kind of value. Pure functions.

A value is normalised before it is checked and before it is keyed, so a target system always sees
half-width digits, ASCII hyphens in numbers, full-width katakana, and one full-width space between a
family name and a given name.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv

FULL_SPACE = "\u3000"
#: Characters people and OCR use for a hyphen or a long dash.
DASHES = "-‐‑‒–—―−－ｰー一"
_DASH_RE = re.compile(f"[{re.escape(DASHES)}]")
_DIGIT_DASH_RE = re.compile(rf"(?<=[0-9０-９])\s*[{re.escape(DASHES)}]\s*(?=[0-9０-９])")


def digits_only(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", text) if c.isdigit())


def name(text: str) -> str:
    """Family and given name separated by one full-width space; other spacing removed."""
    parts = unicodedata.normalize("NFKC", text).split()
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


def postal(text: str) -> str:
    d = digits_only(text)
    return f"{d[:3]}-{d[3:]}" if len(d) == 7 else d


_KANJI_NUM = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def kanji_to_int(text: str) -> int:
    """一〇二 → 102, 千二百三十四 → 1234, 十 → 10."""
    if all(c in _KANJI_NUM for c in text):
        return int("".join(str(_KANJI_NUM[c]) for c in text))
    total, current = 0, 0
    for c in text:
        if c in _KANJI_NUM:
            current = _KANJI_NUM[c]
        else:
            unit = {"十": 10, "百": 100, "千": 1000}[c]
            total += (current or 1) * unit
            current = 0
    return total + current


# Kanji numerals are address numbers only in number position: before 丁目, or after a 丁目/番/digit.
# Town names keep theirs (一番町, 麻布十番, 四谷三栄町).
_KN = "[〇一二三四五六七八九十百千]+"
_KANJI_NUMBER_RE = re.compile(
    rf"{_KN}(?=丁目)|(?:(?<=丁目)|(?<=番地)|(?<=[0-9-])){_KN}(?=番地|番|号|の|-|$)|(?:(?<=番)|(?<=の)){_KN}(?=号|$)"
)
_CHOME_RE = re.compile(r"(\d+)丁目(\d+)(?:番地|番)(?:の)?(\d+)(?:号)?")
_CHOME2_RE = re.compile(r"(\d+)丁目(\d+)(?:番地|番)?(?:の|-)(\d+)(?:号)?")
_CHOME_BAN_RE = re.compile(r"(\d+)丁目(\d+)(?:番地|番)?$")
_BANCHI_RE = re.compile(r"(\d+)番地?(?:の)?(\d+)(?:号)?$")


#: Old character forms that addresses (and Japan Post's data) write in their new form.
_ADDRESS_OLD_FORMS = str.maketrans("號學綠縣區", "号学緑県区")


def address(text: str) -> str:
    """One spelling for addresses: half-width digits, 丁目・番地・号 as hyphens, no spaces.

    東大和市中央三丁目2番1号 → 東大和市中央3-2-1; 芋窪1234番地の5 → 芋窪1234-5.
    """
    t = unicodedata.normalize("NFKC", text).translate(_ADDRESS_OLD_FORMS)
    t = "".join(t.split())
    t = _KANJI_NUMBER_RE.sub(lambda m: str(kanji_to_int(m.group(0))), t)
    t = _DIGIT_DASH_RE.sub("-", t)
    t = _CHOME_RE.sub(r"\1-\2-\3", t)
    t = _CHOME2_RE.sub(r"\1-\2-\3", t)
    t = _CHOME_BAN_RE.sub(r"\1-\2", t)
    t = _BANCHI_RE.sub(r"\1-\2", t)
    return t


def text(value: str) -> str:
    """Free text: NFKC (half-width digits and Latin), runs of spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", value).split())


def number(text: str) -> str:
    """A measurement as written, in half-width characters without spaces (170.5, 120/80)."""
    t = unicodedata.normalize("NFKC", text)
    return "".join(_DASH_RE.sub("-", t).split())
