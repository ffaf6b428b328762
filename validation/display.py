"""How a stored value is shown to a person: on the review form, and in reports for form authors.

One place decides the 和暦 spelling of a date and the masking of a 個人番号 on every screen, so the
review UI and the ``template try`` report can never show the same value two ways.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.personal import mask_mynumber
from formkit.kinds import Value
from formkit.model import FieldSpec
from validation.wareki import format_wareki


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def for_input(spec: FieldSpec, value: Any) -> Any:
    """A stored value as the reviewer's input box holds it: 和暦 dates, masked 個人番号, else as is."""
    if value is None:
        return ""
    if spec.kind.value is Value.DATE:
        date = _date(value)
        return format_wareki(date) if date else str(value)
    if spec.sensitive:
        return mask_mynumber(str(value))
    return value


def described(spec: FieldSpec, value: Any) -> str:
    """A read value as a person checks it in a report: option words with their values, dates with
    their 和暦, ticks in words, an empty field said to be empty."""
    if value is None or value == "" or value == []:
        return "（空欄）"
    if isinstance(value, bool):
        return "✓ あり" if value else "なし"
    if spec.sensitive:
        return mask_mynumber(str(value))
    words = {o.value: o.label for o in spec.options}
    if isinstance(value, list):
        return "、".join(f"{words.get(v, v)}（{v}）" for v in value)
    if spec.options:
        return f"{words.get(value, value)}（{value}）"
    if spec.kind.value is Value.DATE:
        date = _date(value)
        return f"{date.isoformat()}（{format_wareki(date, gannen=False)}）" if date else str(value)
    return str(value)
