"""How long a clerk would take to key a field by hand: the typing that dejiru saves.

The KPI page and the council's report say how many staff minutes the product saved. Nobody times
the typing that did *not* happen, so it is estimated, field by field, from what was keyed: every
figure below is an **assumption**, kept here in one table so that a city that timed its own clerks
changes one place (and the staff guide quotes this table, not its own numbers).

How a clerk keys a paper form into a business system, and the time each step is assumed to take:

=====================  =========  ==============================================================
step                   seconds    why
=====================  =========  ==============================================================
open and save a record  20.0      open the entry screen, save, note the receipt number on the paper
move to a filled field   1.5      find it on the paper and on the screen, Tab to it
a kanji                  1.2      romaji, IME conversion, picking the right candidate (names: often
                                  the 3rd or 4th candidate, or a variant form)
a kana                   0.5      two romaji keys at about four keys a second
a digit                  0.3      ten-key entry, about three digits a second with a glance back
any other character      0.4      a Latin letter, a hyphen, a space
a date                   6.0      era, year, month and day: four entries or a date picker
a tick or a choice       1.5      look at the paper, click (each ticked option of a list)
=====================  =========  ==============================================================

The rates are those of a practised clerk (about 50 Japanese characters a minute with conversion, a
ten-key rate well below a professional key puncher's), deliberately on the fast side: a saving
estimated from a slow typist would flatter the product. An empty field costs nothing (nothing is
typed); a kind that is never keyed (a signature: ``FieldKind.keyed`` is false) costs nothing.

The table asks the field's *kind* (formkit.kinds), never its name, as every layer does: a value
kind of digits is priced per digit, text per character by the character's script, marks per tick.
A type no longer in the table (a template's made-up kind removed since) is priced as text: the
value is hostile input from the store, and a report must not fail on it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from formkit.kinds import KINDS, FieldKind, Value

#: Opening an entry screen for one record, saving it and noting the receipt number.
RECORD_S = 20.0
#: Moving to a filled field (on the paper and on the screen).
FIELD_S = 1.5
KANJI_S = 1.2
KANA_S = 0.5
DIGIT_S = 0.3
OTHER_S = 0.4
DATE_S = 6.0
TICK_S = 1.5

#: The table as the staff guide and ``dejiru kpi`` print it: (what, seconds).
TABLE: tuple[tuple[str, str, float], ...] = (
    ("1件の入力画面を開いて保存し受付番号を控える", "open, save and note one record", RECORD_S),
    ("記入のある項目へ移る", "move to a filled field", FIELD_S),
    ("漢字1文字（変換・候補選択を含む）", "one kanji (with conversion)", KANJI_S),
    ("かな1文字", "one kana", KANA_S),
    ("数字1桁", "one digit", DIGIT_S),
    ("その他の1文字", "any other character", OTHER_S),
    ("日付1つ（元号・年・月・日）", "one date (era, year, month, day)", DATE_S),
    ("チェック・選択1つ", "one tick or choice", TICK_S),
)


def char_seconds(ch: str) -> float:
    """Seconds to type one character, by its script (spaces cost nothing: the IME adds them)."""
    if ch.isspace():
        return 0.0
    folded = unicodedata.normalize("NFKC", ch)
    if folded.isdigit():
        return DIGIT_S
    code = ord(ch)
    if 0x3041 <= code <= 0x30FF or 0xFF66 <= code <= 0xFF9F:  # hiragana, katakana, half-width kana
        return KANA_S
    if unicodedata.category(ch) == "Lo" or ch in "々〆ヶ":  # ideographs (CJK, extensions, variants)
        return KANJI_S
    return OTHER_S


def text_seconds(text: str) -> float:
    return sum(char_seconds(ch) for ch in text)


def _empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {}


def field_seconds(kind: FieldKind | None, value: Any) -> float:
    """Seconds a clerk needs to key one field of this kind holding ``value`` (0 when empty, or when
    the kind is never keyed). ``kind`` None: a type the table no longer knows, priced as text."""
    if _empty(value) or (kind is not None and not kind.keyed):
        return 0.0
    shape = kind.value if kind is not None else Value.TEXT
    if shape is Value.DATE:
        typed = DATE_S
    elif shape in (Value.FLAG, Value.OPTION):
        typed = TICK_S
    elif shape is Value.OPTIONS:
        typed = TICK_S * (len(value) if isinstance(value, list) else 1)
    elif shape in (Value.DIGITS, Value.POSTAL, Value.INTEGER):
        typed = DIGIT_S * sum(ch.isdigit() for ch in str(value))
    else:
        typed = text_seconds(value if isinstance(value, str) else str(value))
    return FIELD_S + typed


def record_seconds(fields: Iterable[tuple[str, Any]]) -> float:
    """Seconds a clerk needs to key one record by hand: its fields as (type name, value) pairs, plus
    opening and saving the record. A record with nothing to type costs nothing."""
    total = sum(field_seconds(KINDS.get(type_name), value) for type_name, value in fields)
    return RECORD_S + total if total else 0.0
