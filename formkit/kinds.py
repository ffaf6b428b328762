"""The table of field kinds: everything that depends on what a field holds, in one object per kind.

A template field names its kind (``type: postal``). Every layer asks the kind, never the name: the
layout (``shape``, ``comb``), the printer and the hand that fills sample forms (``printed``), the
recogniser (``charset``, ``watch``, ``spaced``, ``count_marks``), the validator (``normaliser``,
``checks``, ``threshold``), the review form (``value``, ``input_pattern``) and the sample maker
(``sample``). Facets that need code from a higher layer are names that layer resolves in its own
table (``validation.normalize.NORMALISERS``, ``validation.checks.FORMAT_CHECKS``,
``synth.samples.SAMPLERS``), so this module imports nothing above ``formkit``.

Adding a kind is one module: build a :class:`FieldKind` from these facets and :func:`register` it
(``tests/made_up_kind.py`` adds a JAN code this way, with its own check-digit rule).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from formkit import charsets

if TYPE_CHECKING:
    from formkit.model import FieldSpec


class Shape(StrEnum):
    """How a field sits on paper: decides its layout, how it is printed, read and written."""

    LINE = "line"  # a free box; comb cells when the field gives ``cells`` and the kind has a ``comb``
    COMB = "comb"  # always comb cells (a count)
    DATE = "date"  # 和暦: era marks and year/month/day
    TICK = "tick"  # one tick box
    TICKS = "ticks"  # a tick box per option
    CIRCLE = "circle"  # option words, one circled
    SIGNATURE = "signature"  # present or absent


class Value(StrEnum):
    """The shape of a value: the same from the reader, the reviewer's entry and a sample's filler."""

    TEXT = "text"  # a string
    DIGITS = "digits"  # a string of digits, leading zeros kept
    POSTAL = "postal"  # NNN-NNNN
    INTEGER = "integer"  # an int (a count, yen)
    DATE = "date"  # an ISO date
    FLAG = "flag"  # True / False
    OPTIONS = "options"  # a list of option values (one value when ``exclusive``)
    OPTION = "option"  # one option value


class Comb(StrEnum):
    """How characters sit in comb cells."""

    LEFT = "left"  # from the first cell (kana, digits)
    RIGHT = "right"  # right-aligned (a number of copies, yen)
    POSTAL = "postal"  # 3 + 4 cells with a printed hyphen


class Watch(StrEnum):
    """What the recogniser watches for confusable characters."""

    NAME = "name"  # variant kanji a name may be registered in, and look-alikes
    WORDS = "words"  # old or rare forms (黑 for 黒) and look-alikes
    KANA = "kana"  # look-alikes (ト/卜, リ/り)


def _text_chars(spec: FieldSpec) -> frozenset[str]:
    return charsets.text_chars()


@dataclass(frozen=True)
class FieldKind:
    """One kind of field. Facets are data, or names a higher layer resolves, so the table is printable
    (``dejiru template kinds``) and a kind can be added without touching the layers that use it."""

    name: str
    ja: str
    en: str
    shape: Shape
    value: Value
    #: The characters a reading may hold (読取文字種); None for marks.
    charset: Callable[[FieldSpec], frozenset[str]] | None = _text_chars
    #: How characters sit in comb cells; None: never written in cells.
    comb: Comb | None = None
    #: A name in ``validation.normalize.NORMALISERS``.
    normaliser: str | None = None
    #: Names in ``validation.checks.FORMAT_CHECKS``: what every value of the kind must look like.
    checks: tuple[str, ...] = ()
    #: Below this confidence a reading goes to a person (before calibration overrides it).
    threshold: float = 0.90
    #: A name in ``synth.samples.SAMPLERS``: how a made-up applicant fills it.
    sample: str = "none"
    watch: Watch | None = None
    #: Spaces between words carry meaning (family and given name) and are kept.
    spaced: bool = False
    #: A person's name: a family and a given part, always.
    person_name: bool = False
    #: Digits and points are one mark each: the marks on paper are counted against the characters read.
    count_marks: bool = False
    #: Completed from the postal code, checked against Japan Post's towns; may be asked for in parts.
    address: bool = False
    #: Punctuation is how a person types it (042-123-4567 or 0421234567): only the digits compare.
    digits_compare: bool = False
    #: Whether the value is typed into a business system (a signature is only looked at).
    keyed: bool = True
    #: What a reviewer's entry must match (a regular expression on NFKC text), with the reason.
    input_pattern: tuple[str, str, str] | None = None
    #: Added to the "type a number" reason for this kind (how yen may be typed).
    input_hint: tuple[str, str] = ("", "")
    #: The value as a hand writes it in a free box.
    printed: Callable[[Any], str] = str

    @property
    def has_options(self) -> bool:
        return self.shape in (Shape.TICKS, Shape.CIRCLE)

    @property
    def is_mark(self) -> bool:
        """Read as marks (ticks, circles, a signature's ink), not as characters."""
        return self.shape in (Shape.TICK, Shape.TICKS, Shape.CIRCLE, Shape.SIGNATURE)

    def entry(self, spec: FieldSpec) -> str:
        """How a reviewer enters it: ``many`` tick boxes, ``one`` of the options, a ``flag``, or ``text``."""
        if self.value is Value.OPTIONS and not spec.exclusive:
            return "many"
        if self.value in (Value.OPTIONS, Value.OPTION):
            return "one"
        return "flag" if self.value is Value.FLAG else "text"

    def in_cells(self, spec: FieldSpec) -> bool:
        """Whether this field is written one character a comb cell."""
        return self.comb is not None and (self.shape is Shape.COMB or bool(spec.cells))


class FieldType(StrEnum):
    """The built-in kinds' names, for code and tests that mean one of them."""

    TEXT = "text"
    ADDRESS = "address"
    NAME = "name"
    KANA = "kana"
    DIGITS = "digits"
    POSTAL = "postal"
    PHONE = "phone"
    DATE = "date"
    COUNT = "count"
    NUMBER = "number"
    AMOUNT = "amount"
    CHECKBOX = "checkbox"
    CHECKBOXES = "checkboxes"
    CHOICE = "choice"
    SIGNATURE = "signature"


def _kana_chars(spec: FieldSpec) -> frozenset[str]:
    return (charsets.HIRAGANA if spec.script == "hiragana" else charsets.KATAKANA) | frozenset(" ")


def _fixed(chars: frozenset[str]) -> Callable[[FieldSpec], frozenset[str]]:
    return lambda _spec: chars


_PHONE_INPUT = (
    r"[0-9()\-\s]+",
    "電話番号は数字とハイフンで入力してください（例: 042-123-4567）",
    "a phone number is digits and hyphens (e.g. 042-123-4567)",
)
_POSTAL_INPUT = (
    r"〒?[0-9\-\s]+",
    "郵便番号は数字7桁で入力してください（例: 207-0015）",
    "a postal code is 7 digits (e.g. 207-0015)",
)

BUILT_IN: tuple[FieldKind, ...] = (
    FieldKind(
        "text", "文字", "text", Shape.LINE, Value.TEXT, normaliser="text", sample="text", watch=Watch.WORDS
    ),
    FieldKind(
        "address",
        "住所",
        "address",
        Shape.LINE,
        Value.TEXT,
        charset=lambda _s: charsets.address_chars(),
        normaliser="address",
        sample="address",
        watch=Watch.WORDS,
        address=True,
    ),
    FieldKind(
        "name",
        "氏名",
        "name",
        Shape.LINE,
        Value.TEXT,
        charset=lambda _s: charsets.name_chars(),
        normaliser="name",
        sample="name",
        watch=Watch.NAME,
        spaced=True,
        person_name=True,
    ),
    FieldKind(
        "kana",
        "フリガナ",
        "kana",
        Shape.LINE,
        Value.TEXT,
        charset=_kana_chars,
        comb=Comb.LEFT,
        normaliser="kana",
        checks=("kana",),
        threshold=0.85,
        sample="kana",
        watch=Watch.KANA,
        spaced=True,
    ),
    FieldKind(
        "digits",
        "数字",
        "digits",
        Shape.LINE,
        Value.DIGITS,
        charset=_fixed(charsets.DIGITS),
        comb=Comb.LEFT,
        sample="digits",
        count_marks=True,
    ),
    FieldKind(
        "postal",
        "郵便番号",
        "postal code",
        Shape.LINE,
        Value.POSTAL,
        charset=_fixed(charsets.POSTAL | frozenset("〒")),
        comb=Comb.POSTAL,
        normaliser="postal",
        checks=("postal",),
        sample="postal",
        digits_compare=True,
        input_pattern=_POSTAL_INPUT,
    ),
    FieldKind(
        "phone",
        "電話番号",
        "phone",
        Shape.LINE,
        Value.TEXT,
        charset=_fixed(charsets.PHONE),
        normaliser="phone",
        checks=("phone",),
        sample="phone",
        digits_compare=True,
        input_pattern=_PHONE_INPUT,
    ),
    FieldKind(
        "date", "日付（和暦）", "date (Japanese era)", Shape.DATE, Value.DATE, charset=None, sample="date"
    ),
    FieldKind(
        "count",
        "個数（マス）",
        "count (cells)",
        Shape.COMB,
        Value.INTEGER,
        charset=_fixed(charsets.DIGITS),
        comb=Comb.RIGHT,
        sample="count",
    ),
    FieldKind(
        "number",
        "数値",
        "number",
        Shape.LINE,
        Value.TEXT,
        charset=_fixed(charsets.NUMBER),
        normaliser="number",
        sample="none",
        count_marks=True,
    ),
    FieldKind(
        "amount",
        "金額",
        "amount (yen)",
        Shape.LINE,
        Value.INTEGER,
        charset=_fixed(charsets.AMOUNT),
        comb=Comb.RIGHT,
        threshold=0.92,
        sample="amount",
        count_marks=True,
        input_hint=("（円・カンマは付けても構いません）", " (yen sign and commas allowed)"),
        printed=lambda v: f"{int(v):,}",
    ),
    FieldKind(
        "checkbox",
        "チェック欄",
        "checkbox",
        Shape.TICK,
        Value.FLAG,
        charset=None,
        threshold=0.75,
        sample="checkbox",
    ),
    FieldKind(
        "checkboxes",
        "チェック欄（複数）",
        "checkboxes",
        Shape.TICKS,
        Value.OPTIONS,
        charset=None,
        threshold=0.75,
        sample="checkboxes",
    ),
    FieldKind(
        "choice",
        "選択（○で囲む）",
        "choice (circle one)",
        Shape.CIRCLE,
        Value.OPTION,
        charset=None,
        threshold=0.75,
        sample="choice",
    ),
    FieldKind(
        "signature",
        "署名",
        "signature",
        Shape.SIGNATURE,
        Value.FLAG,
        charset=None,
        threshold=0.70,
        sample="signature",
        keyed=False,
    ),
)

#: Every kind a template may name, by name.
KINDS: dict[str, FieldKind] = {k.name: k for k in BUILT_IN}
assert set(KINDS) == {t.value for t in FieldType}


def kind_of(name: str) -> FieldKind:
    """The kind a field names; a KeyError names the kinds there are."""
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown field type {name!r} (one of: {', '.join(KINDS)})") from None


def register(kind: FieldKind) -> FieldKind:
    """Add a kind to the table; a name already taken is an error (a kind is never replaced quietly)."""
    if kind.name in KINDS:
        raise ValueError(f"field type {kind.name!r} is already registered")
    KINDS[kind.name] = kind
    return kind


@contextmanager
def registered(kind: FieldKind) -> Iterator[FieldKind]:
    """A kind in the table for a while (tests)."""
    register(kind)
    try:
        yield kind
    finally:
        KINDS.pop(kind.name, None)
