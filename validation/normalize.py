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


def address(text: str) -> str:
    """NFKC (half-width digits), hyphens between numbers as ASCII '-', no spaces."""
    t = unicodedata.normalize("NFKC", text)
    t = _DIGIT_DASH_RE.sub("-", t)
    return "".join(t.split())
