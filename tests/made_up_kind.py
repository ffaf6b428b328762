"""A field kind made up for the test of the kinds table, added in this one module and nowhere else.

A JAN code (the 13 digits under a bar code, the last a check digit) is written one digit a comb cell.
Everything but the check digit is an existing facet: the form prints it, a sample hand fills it, the
reader reads its cells, the review page takes it, all because the kind says what it is. The check is a
rule registered here, with the decorator every rule uses.
"""

from __future__ import annotations

from typing import Any

from formkit import charsets
from formkit.kinds import Comb, FieldKind, Shape, Value
from formkit.model import FieldSpec
from formkit.readings import Reason
from validation.checks import rule

JAN = FieldKind(
    "jan",
    "JANコード",
    "JAN code",
    Shape.LINE,
    Value.DIGITS,
    charset=lambda _spec: charsets.DIGITS,
    comb=Comb.LEFT,
    threshold=0.95,
    sample="digits",
    count_marks=True,
)


def jan_check_digit(digits: str) -> int:
    """GS1's check digit: weights 1 and 3 from the left over the first twelve digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10


@rule("jan", on=lambda kind: kind.value is Value.DIGITS)
def _rule_jan(spec: FieldSpec, value: Any, arg: str, ctx: dict[str, Any]) -> list[Reason]:
    text = str(value or "")
    if not text:
        return []
    if len(text) != 13 or not text.isdigit() or int(text[12]) != jan_check_digit(text):
        return [
            Reason(
                "jan_check_digit",
                f"{spec.label}のチェックディジットが合いません。用紙と同じか確認してください",
                f"{spec.name}: the check digit does not match",
            )
        ]
    return []
