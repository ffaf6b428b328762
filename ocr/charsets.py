"""Character sets per field type (読取文字種): what a field may contain, in canonical (NFKC) form."""

from __future__ import annotations

from functools import cache

DIGITS = frozenset("0123456789")
KATAKANA = frozenset(chr(c) for c in range(ord("ァ"), ord("ヶ") + 1)) | frozenset("ー")
HIRAGANA = frozenset(chr(c) for c in range(ord("ぁ"), ord("ゖ") + 1)) | frozenset("ー")
PHONE = DIGITS | frozenset("-()")
POSTAL = DIGITS | frozenset("-")


@cache
def kanji() -> frozenset[str]:
    """CJK unified ideographs (basic block and extension A) plus the iteration marks used in names."""
    chars = {chr(c) for c in range(0x4E00, 0x9FFF + 1)} | {chr(c) for c in range(0x3400, 0x4DBF + 1)}
    return frozenset(chars | set("々〆ヵヶ"))


@cache
def name_chars() -> frozenset[str]:
    """A person's name: kanji, kana, the long vowel mark, and the space between family and given name."""
    return kanji() | KATAKANA | HIRAGANA | frozenset(" ")


@cache
def address_chars() -> frozenset[str]:
    """Addresses: kanji, kana, digits, Latin letters (building names), hyphens, and a few marks."""
    latin = frozenset(chr(c) for c in range(ord("A"), ord("Z") + 1)) | frozenset(
        chr(c) for c in range(ord("a"), ord("z") + 1)
    )
    return name_chars() | DIGITS | latin | frozenset("-ー・()#")
