"""A value as a person typed it (a reviewer, a counter clerk, a citizen online), in the shape the
reader produces, or a reason for that field.

Whatever comes in (a browser, a forged post, a paste, an online service's export), the result is such
a value or a :class:`ReviewError` with a reason in Japanese and English; never another exception.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from core.errors import ReviewError
from formkit.kinds import Value
from formkit.model import FieldSpec
from validation import normalize
from validation.normalize import DASHES
from validation.routing import normalize_value
from validation.wareki import WarekiError, parse_date

#: Longer than anything a form holds: refused before normalising (a pasted page, a 5,000-digit number).
MAX_INPUT_CHARS = 1000
#: More digits than any count, or any amount in yen, on a form (a trillion yen has 13).
MAX_NUMBER_DIGITS = 15
_DIGITS = re.compile(r"[0-9]+")
_DASHES = re.compile(f"[{re.escape(DASHES)}]")
#: Control characters (NUL: PostgreSQL refuses it, so the save would fail), lone surrogates (no
#: encoding stores them) and invisible format characters (zero-width space, right-to-left override:
#: a value that looks right on screen but is keyed as something else).
_FORBIDDEN_CATEGORIES = ("Cc", "Cs", "Cf")


def _no_number(spec: FieldSpec) -> ReviewError:
    hint_ja, hint_en = spec.kind.input_hint
    return ReviewError(
        f"半角または全角の数字で入力してください{hint_ja}", "type the number in digits" + hint_en
    )


def _option(spec: FieldSpec, value: str) -> str:
    if value not in {o.value for o in spec.options}:
        raise ReviewError("選択肢にない値です。用意された選択肢から選んでください", "not one of the options")
    return value


def parse_input(spec: FieldSpec, raw: Any) -> Any:
    """A value typed (or ticked) by a reviewer, in the same shape the reader produces.

    Whatever comes in (the browser, a forged post, a paste), the result is such a value or a
    :class:`ReviewError` with a reason in Japanese and English that the review page shows under the
    field; never another exception, which would be a 500 and lose the reviewer's other edits.
    Numbers are digits only (``str.isdigit`` also takes ፩ and ², which ``int`` refuses or misreads),
    bounded in length; a 個人番号 or any comb of digits is digits and nothing else.
    """
    kind = spec.kind
    if kind.value is Value.OPTIONS and not spec.exclusive:
        chosen = raw if isinstance(raw, list) else [] if raw in (None, "") else [raw]
        picked = {_option(spec, str(v)) for v in chosen}
        return [o.value for o in spec.options if o.value in picked]
    if kind.value is Value.FLAG:
        return str(raw).lower() in ("1", "true", "on", "yes", "あり")
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    text = "" if raw is None else str(raw).strip()
    if text == "":
        return None
    if len(text) > MAX_INPUT_CHARS:
        raise ReviewError(
            f"入力が長すぎます（{MAX_INPUT_CHARS}文字まで）",
            f"too long ({MAX_INPUT_CHARS} characters at most)",
        )
    if any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in text):
        raise ReviewError(
            "制御文字や目に見えない文字が含まれています。打ち直してください",
            "contains control or invisible characters: type it again",
        )
    if kind.value in (Value.OPTIONS, Value.OPTION):
        return _option(spec, text)
    t = unicodedata.normalize("NFKC", text)
    if kind.value is Value.DATE:
        try:
            return parse_date(text).isoformat()
        except ValueError as exc:  # WarekiError, or anything the calendar refuses
            # A WarekiError's message repeats the entry: not for a sensitive field.
            said = isinstance(exc, WarekiError) and not spec.sensitive
            ja, en = (
                (exc.ja, exc.en)
                if isinstance(exc, WarekiError) and said
                else ("日付として読めません", "not a date")
            )
            raise ReviewError(ja, en) from exc
    if kind.value is Value.INTEGER:
        digits = normalize.amount_text(t, spec.unit)
        if not _DIGITS.fullmatch(digits):
            raise _no_number(spec)
        if len(digits) > MAX_NUMBER_DIGITS:
            raise ReviewError(
                f"桁が多すぎます（{MAX_NUMBER_DIGITS}桁まで）",
                f"too many digits ({MAX_NUMBER_DIGITS} at most)",
            )
        return int(digits)
    if kind.value is Value.DIGITS:
        if not _DIGITS.fullmatch(t):
            raise ReviewError(
                "数字だけを入力してください（ハイフン・空白・文字は入れません）",
                "digits only (no hyphens, spaces or letters)",
            )
        return t
    if kind.input_pattern is not None:
        pattern, ja, en = kind.input_pattern
        if not re.fullmatch(pattern, _DASHES.sub("-", t)):
            raise ReviewError(ja, en)
    try:
        return normalize_value(spec, text)
    except ValueError as exc:  # a normaliser that cannot make sense of it (a malformed numeral)
        raise ReviewError(
            "この値は読めません。打ち直してください", "this value cannot be read: type it again"
        ) from exc
