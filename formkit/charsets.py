"""Character sets per field type (読取文字種): what a field may contain, in canonical (NFKC) form."""

from __future__ import annotations

import unicodedata
from functools import cache

DIGITS = frozenset("0123456789")
KATAKANA = frozenset(chr(c) for c in range(ord("ァ"), ord("ヶ") + 1)) | frozenset("ー")
HIRAGANA = frozenset(chr(c) for c in range(ord("ぁ"), ord("ゖ") + 1)) | frozenset("ー")
PHONE = DIGITS | frozenset("-()")
POSTAL = DIGITS | frozenset("-")
NUMBER = DIGITS | frozenset(".-/")
AMOUNT = DIGITS | frozenset(",円¥")


def _japanese(ch: str) -> bool:
    """Written in Japan: encodable in JIS X 0213 (Shift_JIS-2004) or Windows-31J (which has 髙 and 﨑)."""
    for enc in ("shift_jis_2004", "cp932"):
        try:
            ch.encode(enc)
            return True
        except UnicodeEncodeError:
            continue
    return False


@cache
def kanji() -> frozenset[str]:
    """Kanji used in Japan, plus the iteration marks used in names.

    The recogniser also knows simplified Chinese forms (查 for 査, 边 for 辺); they are left out so a
    Japanese field never reads as one: their probability counts against the field's confidence instead.
    The twelve ideographs of the compatibility block that are characters of their own (﨑 U+FA11, 﨟
    U+FA1F …: no decomposition) are kanji too; the compatibility forms of other kanji (塚 U+FA10) are
    not: the recogniser's table folds them into the kanji they stand for.
    """
    chars = {chr(c) for c in range(0x3400, 0x9FFF + 1) if _japanese(chr(c))}
    chars |= {
        chr(c)
        for c in range(0xF900, 0xFAFF + 1)
        if _japanese(chr(c))
        and unicodedata.category(chr(c)) == "Lo"
        and not unicodedata.decomposition(chr(c))
    }
    return frozenset(chars | set("々〆ヵヶ"))


@cache
def name_chars() -> frozenset[str]:
    """A person's name: kanji, kana, the long vowel mark, and the space between family and given name."""
    return kanji() | KATAKANA | HIRAGANA | frozenset(" ")


@cache
def text_chars() -> frozenset[str]:
    """Free text: Japanese script, digits, Latin letters and common punctuation."""
    return address_chars() | frozenset("、。，．・「」（）!?%&+:;/")


@cache
def address_chars() -> frozenset[str]:
    """Addresses: kanji, kana, digits, Latin letters (building names), hyphens, and a few marks."""
    latin = frozenset(chr(c) for c in range(ord("A"), ord("Z") + 1)) | frozenset(
        chr(c) for c in range(ord("a"), ord("z") + 1)
    )
    return name_chars() | DIGITS | latin | frozenset("-ー・()#")
