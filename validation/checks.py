"""Validators: each returns the reasons a value is doubtful (empty when it is fine). Pure functions.

A kind's checks run for every field of that kind; rules are named in the template YAML
(``rules: ["range:1-10", "before:request_date"]``) so a DX leader adds a check without Python.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from core import clock
from core.personal import mask_mynumber
from formkit.kinds import KINDS, FieldKind, Value
from formkit.model import FieldSpec, Template
from formkit.readings import PageReading, Reason
from validation import normalize
from validation.address import check as check_address
from validation.address import postal_mismatch, postal_places


def reason(code: str, ja: str, en: str) -> Reason:
    return Reason(code, ja, en)


# --- postal codes ---------------------------------------------------------------------------------------


def check_postal(value: str) -> list[Reason]:
    if not re.fullmatch(r"\d{3}-\d{4}", value):
        return [
            reason(
                "postal_format",
                "郵便番号は7桁（123-4567）で書いてください",
                "postal code must be 7 digits (123-4567)",
            )
        ]
    if not postal_places(value):
        return [
            reason(
                "postal_unknown", f"郵便番号 {value} は存在しません", f"postal code {value} does not exist"
            )
        ]
    return []


def postal_matches_address(postal: str, address: str) -> list[Reason]:
    """The postal code's side of the postal code ↔ address check (:func:`validation.address.postal_mismatch`):
    the address lies in another city, or its town has another postal code."""
    return postal_mismatch(postal, address)


def address_checks(tpl: Template, spec: FieldSpec, value: Any, values: dict[str, Any]) -> list[Reason]:
    """An address checked against Japan Post's data (:func:`validation.address.check`), with the postal
    code the template links to it (a postal field's ``matches_address`` rule)."""
    if not spec.kind.address or not isinstance(value, str) or not value:
        return []
    linked = tpl.postal_field(spec.name)
    postal = values.get(linked.name) if linked is not None else None
    return check_address(value, postal if isinstance(postal, str) else None)


# --- phone numbers --------------------------------------------------------------------------------------

_MOBILE = re.compile(r"^0[5789]0-\d{4}-\d{4}$")
_LANDLINE = re.compile(r"^0\d{1,4}-\d{1,4}-\d{4}$")
_FREE = re.compile(r"^0120-\d{3}-\d{3}$")


def check_phone(value: str) -> list[Reason]:
    d = normalize.digits_only(value)
    if _MOBILE.match(value) or _FREE.match(value):
        return []
    if _LANDLINE.match(value) and len(d) == 10:
        return []
    return [
        reason(
            "phone_format",
            f"電話番号 {value} の形が正しくありません（例: 042-123-4567、090-1234-5678）",
            f"phone number {value} is not in a Japanese format (e.g. 042-123-4567)",
        )
    ]


# --- kana and names -------------------------------------------------------------------------------------

_KATAKANA_RE = re.compile(r"^[ァ-ヶー\u3000]+$")


def check_kana(value: str) -> list[Reason]:
    if not _KATAKANA_RE.match(value):
        return [
            reason(
                "kana_chars",
                "フリガナにカタカナ以外の文字があります",
                "the reading contains non-katakana characters",
            )
        ]
    return []


# --- 個人番号 (My Number) ---------------------------------------------------------------------------------


def mynumber_valid(number: str) -> bool:
    """Check digit of a 12-digit 個人番号 (行政手続における特定の個人を識別するための番号の利用等に関する法律施行令 第8条).

    Twelve digits and nothing else: a value with letters or separators (1234-5678-9012, 12345678901a)
    is not a 個人番号 as the target system takes it, even if its digits would pass."""
    d = unicodedata.normalize("NFKC", number)
    if not re.fullmatch(r"[0-9]{12}", d):
        return False
    body = [int(c) for c in d[:11]][::-1]
    # Q_n = n + 1 for the first six digits from the right, n - 5 for the rest.
    total = sum(p * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(body, start=1))
    r = total % 11
    check = 0 if r <= 1 else 11 - r
    return check == int(d[11])


def masked_reading(tpl: Template, reading: PageReading) -> PageReading:
    """The reading with the template's sensitive values (個人番号) masked, for screens, reports and
    pictures that are not the review form itself."""
    import dataclasses

    fields = {
        name: dataclasses.replace(f, value=mask_mynumber(str(f.value)), raw=mask_mynumber(f.raw))
        if tpl.field(name).sensitive and f.value
        else f
        for name, f in reading.fields.items()
    }
    return dataclasses.replace(reading, fields=fields)


# --- rules from the template ----------------------------------------------------------------------------

RuleFn = Callable[[FieldSpec, Any, str, dict[str, Any]], list[Reason]]

_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _float(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def _range_ok(arg: str) -> bool:
    lo_s, sep, hi_s = arg.partition("-")
    lo, hi = _float(lo_s), _float(hi_s)
    return bool(sep) and lo is not None and hi is not None and lo <= hi


def _field_value_ok(arg: str) -> bool:
    other, sep, wanted = arg.partition("=")
    return bool(sep and wanted and _NAME.fullmatch(other))


#: How each kind of argument is written after the colon, and how to tell it is well formed.
ARG_SYNTAX: dict[str, Callable[[str], bool]] = {
    "": lambda arg: not arg,
    "LO-HI": _range_ok,
    "N": str.isdigit,
    "FIELD": lambda arg: bool(_NAME.fullmatch(arg)),
    "FIELD=VALUE": _field_value_ok,
}


#: Which kinds of field a rule means something for: a question to the kind (its facets), so that a
#: kind registered later with the same facets takes the rule too.
KindTest = Callable[[FieldKind], bool]


def _kind_test(kinds: KindTest | Iterable[str] | None) -> KindTest | None:
    """A predicate as given, or one for a set of kind names."""
    if kinds is None or callable(kinds):
        return kinds
    names = frozenset(kinds)
    return lambda k: k.name in names


@dataclass(frozen=True)
class Rule:
    """A rule a template names (``range:1-10``): its check, its argument's syntax, the kinds of field it
    means something for (``on``: on any other it never fires, or always does) and, for rules naming
    another field, the kinds that field may be (``refs``). ``None``: any kind. Registered with
    :func:`rule`; lint and the editor read them (:meth:`fits`, :meth:`fits_ref`, or the names of
    the kinds in the table now: :attr:`field_types`, :attr:`ref_types`)."""

    name: str
    check: RuleFn
    arg: str = ""
    on: KindTest | None = None
    refs: KindTest | None = None

    def fits(self, kind: FieldKind) -> bool:
        """Whether the rule means something on a field of this kind."""
        return self.on is None or self.on(kind)

    def fits_ref(self, kind: FieldKind) -> bool:
        """Whether the field the rule names may be of this kind."""
        return self.refs is None or self.refs(kind)

    @property
    def field_types(self) -> frozenset[str] | None:
        """The names of the kinds (in ``formkit.kinds.KINDS`` now) the rule works on; None: any."""
        return None if self.on is None else frozenset(n for n, k in KINDS.items() if self.fits(k))

    @property
    def ref_types(self) -> frozenset[str] | None:
        """The names of the kinds (in ``formkit.kinds.KINDS`` now) the named field may be; None: any."""
        return None if self.refs is None else frozenset(n for n, k in KINDS.items() if self.fits_ref(k))


RULES: dict[str, Rule] = {}


def rule(
    name: str,
    *,
    arg: str = "",
    on: KindTest | Iterable[str] | None = None,
    refs: KindTest | Iterable[str] | None = None,
) -> Callable[[RuleFn], RuleFn]:
    """Register a template rule: adding one is this decorator on one function. ``on`` and ``refs``:
    a question to a :class:`~formkit.kinds.FieldKind` (``lambda k: k.value is Value.DATE``), or
    kind names; left out, any kind."""
    if arg not in ARG_SYNTAX:
        raise ValueError(f"rule {name}: unknown argument syntax {arg!r}")

    def register(fn: RuleFn) -> RuleFn:
        RULES[name] = Rule(name, fn, arg, _kind_test(on), _kind_test(refs))
        return fn

    return register


def _number(value: Any) -> float | None:
    try:
        return float(str(value).replace(",", ""))
    except (TypeError, ValueError):
        return None


def _numeric(k: FieldKind) -> bool:
    """A number: a count or yen, a string of digits, or a measurement whose digits are counted."""
    return k.value in (Value.INTEGER, Value.DIGITS) or k.count_marks


def _date_kind(k: FieldKind) -> bool:
    return k.value is Value.DATE


@rule("range", arg="LO-HI", on=_numeric)
def _rule_range(spec: FieldSpec, value: Any, arg: str, _: dict[str, Any]) -> list[Reason]:
    """``range:LO-HI``: a plausible value (counts 1-10, a height 100-220 cm, vision 0.01-2.0)."""
    lo_s, _sep, hi_s = arg.partition("-")
    n = _number(value)
    if n is None:
        return [reason("not_a_number", "数字として読めません", "not a number")]
    if not float(lo_s) <= n <= float(hi_s):
        return [
            reason(
                "out_of_range",
                f"{spec.label}は{lo_s}〜{hi_s}の範囲で書いてください（読み取り値: {value}）",
                f"{spec.label_en or spec.name} must be {lo_s}-{hi_s} (read: {value})",
            )
        ]
    return []


def _as_date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


@rule("before", arg="FIELD", on=_date_kind, refs=_date_kind)
def _rule_before(spec: FieldSpec, value: Any, arg: str, ctx: dict[str, Any]) -> list[Reason]:
    mine, other = _as_date(value), _as_date(ctx.get(arg))
    if mine and other and not mine < other:
        return [
            reason(
                "date_order", f"{spec.label}が{arg}より後になっています", f"{spec.name} is not before {arg}"
            )
        ]
    return []


@rule("not_future", on=_date_kind)
def _rule_not_future(spec: FieldSpec, value: Any, arg: str, ctx: dict[str, Any]) -> list[Reason]:
    mine = _as_date(value)
    today = ctx.get("__today__") or clock.today()
    if mine and mine > today + dt.timedelta(days=1):
        return [reason("date_future", f"{spec.label}が未来の日付です", f"{spec.name} is in the future")]
    return []


# A tick is stored as true/false, which never equals a written VALUE.
@rule("required_if", arg="FIELD=VALUE", refs=lambda k: k.value is not Value.FLAG)
def _rule_required_if(spec: FieldSpec, value: Any, arg: str, ctx: dict[str, Any]) -> list[Reason]:
    other, _, wanted = arg.partition("=")
    have = ctx.get(other)
    chosen = have == wanted or (isinstance(have, list) and wanted in have)
    if chosen and value in (None, "", []):
        return [
            reason(
                "required_if",
                f"「{wanted}」を選んだときは{spec.label}を書いてください",
                f"{spec.name} is required when {other} is {wanted}",
            )
        ]
    return []


@rule("matches_address", arg="FIELD", on=lambda k: k.value is Value.POSTAL, refs=lambda k: k.address)
def _rule_matches_address(spec: FieldSpec, value: Any, arg: str, ctx: dict[str, Any]) -> list[Reason]:
    addr = ctx.get(arg)
    return postal_matches_address(str(value), str(addr)) if value and addr else []


@rule("mynumber", on=lambda k: k.value is Value.DIGITS)
def _rule_mynumber(spec: FieldSpec, value: Any, arg: str, ctx: dict[str, Any]) -> list[Reason]:
    if value and not mynumber_valid(str(value)):
        return [
            reason(
                "mynumber_check", "個人番号のチェックデジットが合いません", "My Number check digit is wrong"
            )
        ]
    return []


# A measurement kept as written (170.5): its digits and point are counted, its value is text.
@rule("decimals", arg="N", on=lambda k: k.value is Value.TEXT and k.count_marks)
def _rule_decimals(spec: FieldSpec, value: Any, arg: str, _: dict[str, Any]) -> list[Reason]:
    """``decimals:N``: written with exactly N digits after the point (vision 1.2, weight 65.0)."""
    text = str(value)
    places = len(text.partition(".")[2]) if "." in text else 0
    if places != int(arg):
        return [
            reason(
                "decimals",
                f"{spec.label}は小数点以下{arg}桁で書く欄です（読み取り値: {text}）。小数点の読み落としがないか確認してください",
                f"{spec.label_en or spec.name} has {arg} decimal place(s) (read: {text}): check for a missed point",
            )
        ]
    return []


def rule_names() -> list[str]:
    return sorted(RULES)


def split_rule(rule: str) -> tuple[str, str]:
    """``"range:1-10"`` → ``("range", "1-10")``: how every rule in a template is read."""
    name, _, arg = rule.partition(":")
    return name, arg


def rule_field(rule: str) -> str | None:
    """The other field a rule refers to (``before:request_date`` → request_date), if any."""
    name, arg = split_rule(rule)
    kind = RULES[name].arg if name in RULES else ""
    if kind == "FIELD":
        return arg
    if kind == "FIELD=VALUE":
        return arg.partition("=")[0]
    return None


def rule_error(rule: str) -> Reason | None:
    """Why a rule as written cannot work (unknown name, bad argument), or None. For template authors."""
    name, arg = split_rule(rule)
    if name not in RULES:
        return reason(
            "unknown_rule",
            f"ルール「{rule}」は使えません（使えるルール: {', '.join(rule_names())}）",
            f"unknown rule {rule!r} (known: {', '.join(rule_names())})",
        )
    kind = RULES[name].arg
    if ARG_SYNTAX[kind](arg):
        return None
    usage = f"{name}:{kind}" if kind else name
    return reason(
        "bad_rule_argument",
        f"ルール「{rule}」の書き方が正しくありません（書き方: {usage}）",
        f"rule {rule!r} is malformed (write {usage})",
    )


#: The checks a kind names (``FieldKind.checks``): what every value of the kind must look like.
FORMAT_CHECKS: dict[str, Callable[[str], list[Reason]]] = {
    "postal": check_postal,
    "phone": check_phone,
    "kana": check_kana,
}


def type_checks(spec: FieldSpec, value: Any) -> list[Reason]:
    """The kind's own checks (``FieldKind.checks``) on a value that is there."""
    if value in (None, "", []):
        return []
    return [r for name in spec.kind.checks for r in FORMAT_CHECKS[name](str(value))]


def run_rules(spec: FieldSpec, value: Any, ctx: dict[str, Any]) -> list[Reason]:
    out: list[Reason] = []
    if spec.required and value in (None, "", [], False):
        out.append(
            reason(
                "required",
                f"{spec.label}は必須です（空欄または読み取れません）",
                f"{spec.label_en or spec.name} is required (empty or unreadable)",
            )
        )
    for rule in spec.rules:
        name, arg = split_rule(rule)
        known = RULES.get(name)
        if known is None or (value in (None, "", []) and name != "required_if"):
            continue  # unknown rules are reported by `dejiru template check`, not at read time
        out.extend(known.check(spec, value, arg, ctx))
    return out
