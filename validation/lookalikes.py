"""Characters that look alike across scripts and sizes, and readings that mix them where Japanese does not.

Why: on handwriting the recogniser confidently reads ト as 卜, ハ as 八, ロ as 口 (and back), リ for り
inside hiragana, small ェ for エ, ツ for ヅ. Each is one stroke's difference, so the confidence stays
high and the error would go out unseen. Two signals catch them, neither fitted on any sample set:

* **script context**: Japanese writing does not put a lone katakana ロ between two kanji (山ロ), a
  kanji 八 inside a katakana word (八ナ), a katakana リ between hiragana (みどリ), or a small ィ after
  イ; a name's given part is not written 卜 or 十才三.
* **rivals**: the recogniser gave the look-alike real weight where it read the other
  (:func:`ocr.ctc.with_rivals` measures it for the characters in :func:`rival_table`): the two sizes
  of a kana and a kana with or without its dakuten.

A doubt sends the field to a person with both readings named; it never changes the value.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import cache

#: Small kana and their full-size forms (katakana and hiragana).
SIZE_PAIRS = [
    "ァア",
    "ィイ",
    "ゥウ",
    "ェエ",
    "ォオ",
    "ャヤ",
    "ュユ",
    "ョヨ",
    "ッツ",
    "ヮワ",
    "ヵカ",
    "ヶケ",
    "ぁあ",
    "ぃい",
    "ぅう",
    "ぇえ",
    "ぉお",
    "ゃや",
    "ゅゆ",
    "ょよ",
    "っつ",
    "ゎわ",
]
#: Katakana and the kanji (or long-vowel mark) drawn the same way.
KANJI_LIKE = [
    "ト卜",
    "ハ八",
    "ロ口",
    "エ工",
    "カ力",
    "タ夕",
    "ニ二",
    "ー一",
    "オ才",
    "チ千",
    "ナ十",
    "ミ三",
    "ヒ匕",
    "ム厶",
    "メ乂",
]
#: Katakana and hiragana drawn nearly the same way.
KANA_LIKE = ["リり", "ヘへ", "ベべ", "ペぺ", "モも"]

SMALL = frozenset(p[0] for p in SIZE_PAIRS)
_BIG = {p[0]: p[1] for p in SIZE_PAIRS}
_KANA_FOR_KANJI = {p[1]: p[0] for p in KANJI_LIKE}
_KANJI_FOR_KANA = {p[0]: p[1] for p in KANJI_LIKE}
_HIRAGANA_FOR = {p[0]: p[1] for p in KANA_LIKE}
_KATAKANA_FOR = {p[1]: p[0] for p in KANA_LIKE}
#: Kana after which a small ャュョ is a syllable (the i-column).
_YOON_BASE = frozenset("キギシジチヂニヒビピミリきぎしじちぢにひびぴみり")
#: Kana after which a small vowel is a syllable in loanwords and names (ティ, ファ, ウェ, シェ ...).
_VOWEL_BASE = frozenset("ウクグスズツテデトドフブヴシジチヂキギニヒビピミリうくぐすずつてでとどふぶしじちぢ")
#: Kana that stand between kanji in place and family names (八ッ口, 四ツ谷, 霞ケ関, 竹ノ塚): no sign of a misread.
_PLACE_KANA = frozenset("ッツヶケノヵカ")
_NO_SOKUON_AFTER = frozenset("ンーんッっ")


def is_kanji(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED", "CJK COMPATIBILITY IDEOGRAPH"))


def is_katakana(ch: str) -> bool:
    return "\u30a1" <= ch <= "\u30fa" or ch == "ー"


def is_hiragana(ch: str) -> bool:
    return "\u3041" <= ch <= "\u3096"


def _voiced_pairs() -> list[tuple[str, str]]:
    """Each kana and its form with dakuten or handakuten (ツ/ヅ, ハ/バ/パ): a mark a scan easily loses."""
    out = []
    for base in "カキクケコサシスセソタチツテトハヒフヘホかきくけこさしすせそたちつてとはひふへほ":
        for mark in ("\u3099", "\u309a"):
            voiced = unicodedata.normalize("NFC", base + mark)
            if len(voiced) == 1:
                out.append((base, voiced))
    return out


@cache
def rival_table() -> dict[str, str]:
    """The pairs where the recogniser's own hesitation is a doubt: the two sizes of a kana (ツ/ッ) and
    a kana with and without its dakuten (ツ/ヅ), which no context tells apart. Katakana and the kanji
    drawn like them (エ/工) always share some weight, so for those only the context counts."""
    table: dict[str, str] = {}
    for a, b in [(p[0], p[1]) for p in SIZE_PAIRS] + _voiced_pairs():
        table[a] = table.get(a, "") + b
        table[b] = table.get(b, "") + a
    return table


def merged_watch(*tables: dict[str, str]) -> dict[str, str]:
    """Several watch tables as one (a name watches variant kanji and look-alikes)."""
    out: dict[str, str] = {}
    for t in tables:
        for ch, alts in t.items():
            out[ch] = out.get(ch, "") + "".join(a for a in alts if a not in out.get(ch, ""))
    return out


def _context_doubts(text: str, name: bool) -> list[str]:
    found: list[str] = []
    words = text.replace("\u3000", " ").split(" ")
    for word in words:
        n = len(word)
        for i, ch in enumerate(word):
            prev = word[i - 1] if i else ""
            nxt = word[i + 1] if i + 1 < n else ""
            near = [c for c in (prev, nxt) if c]
            if ch in _KANA_FOR_KANJI and any(is_katakana(c) and c not in _PLACE_KANA for c in near):
                found.append(f"{ch}/{_KANA_FOR_KANJI[ch]}")  # 八ナ: a kanji inside a katakana word
            elif ch in _KANJI_FOR_KANA and near and all(is_kanji(c) for c in near):
                found.append(f"{ch}/{_KANJI_FOR_KANA[ch]}")  # 山ロ: a katakana between kanji
            elif ch in "リヘベペモ" and near and all(is_hiragana(c) for c in near):
                found.append(f"{ch}/{_HIRAGANA_FOR[ch]}")  # みどリ
            elif ch in "りへべぺも" and near and all(is_katakana(c) for c in near):
                found.append(f"{ch}/{_KATAKANA_FOR[ch]}")
            if ch in SMALL:
                big = _BIG[ch]
                if not prev or prev in SMALL:
                    found.append(f"{ch}/{big}")  # a word does not start with a small kana
                elif (
                    (ch in "ャュョゃゅょ" and prev not in _YOON_BASE)
                    or (
                        ch in "ァィゥェォぁぃぅぇぉ"
                        and (prev not in _VOWEL_BASE or prev + ch in ("ウゥ", "うぅ"))
                        and prev + ch not in ("イェ", "いぇ")
                    )
                    or (ch in "ッっ" and (not nxt or nxt in _NO_SOKUON_AFTER or nxt in SMALL))
                ):
                    found.append(f"{ch}/{big}")
        # A name part written only in kanji that stand for katakana (卜, 十才三) was katakana.
        if name and word and all(c in _KANA_FOR_KANJI for c in word):
            found.append(f"{word}/{''.join(_KANA_FOR_KANJI[c] for c in word)}")
    return found


#: A size or dakuten partner with more than this probability where the other was read: the model hesitated.
RIVAL_LEVEL = 0.05


def doubts(
    text: str,
    rivals: Iterable[tuple[str, str, float]] = (),
    *,
    name: bool = False,
    level: float = RIVAL_LEVEL,
) -> list[str]:
    """The look-alike confusions that make a reading doubtful, as 'read/look-alike' (empty: none).

    ``rivals``: (character read, look-alike, its probability there) from the recogniser; only the
    pairs of :func:`rival_table` count here (variant kanji are :mod:`validation.variants`' business).
    ``name``: a person's name, where a part made only of katakana-like kanji is doubtful.
    """
    table = rival_table()
    found = dict.fromkeys(_context_doubts(text, name))
    for ch, alt, p in rivals:
        if p > level and alt in table.get(ch, ""):
            found[f"{ch}/{alt}"] = None
    return sorted(found)
