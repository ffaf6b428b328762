"""Value filters for bot mappings: ``{birth_date|era_letter}``, ``{visitor|map:self=1,agent=3}``.

A DX leader writes these in YAML; each filter is a small pure function from the stored value to the
text a target screen wants. Unknown filters are an authoring error, reported with the filter's name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from core.errors import TemplateError
from validation.wareki import ERAS, to_wareki


def _date(v: Any) -> dt.date:
    return dt.date.fromisoformat(str(v))


def _era(v: Any) -> str:
    return to_wareki(_date(v))[0]


def _mapping(arg: str) -> dict[str, str]:
    out = {}
    for pair in arg.split(","):
        k, _, val = pair.partition("=")
        out[k.strip()] = val.strip()
    return out


def _address_part(v: Any, part: str) -> str:
    """``{address|address:building}``: one part of a stored address, for targets that key the 方書
    (building and room) or the town apart. Parts: prefecture, city, town, blocks, building, and
    ``street`` (everything before the building)."""
    from validation.address import parse

    if v in (None, ""):
        return ""
    a = parse(str(v))
    if part == "street":
        return a.text().removesuffix(f" {a.building}") if a.building else a.text()
    return {
        "prefecture": a.prefecture,
        "city": a.city,
        "town": a.town,
        "blocks": a.block_text(),
        "building": a.building,
    }.get(part, "")


FILTERS: dict[str, Callable[[Any, str], Any]] = {
    "address": _address_part,
    "era_name": lambda v, _: _era(v),
    "era_letter": lambda v, _: next(e.letter for e in ERAS if e.name == _era(v)),
    "era_year": lambda v, _: str(to_wareki(_date(v))[1]),
    "year": lambda v, _: str(_date(v).year),
    #: ``{birth_date|strftime:%Y/%m/%d}`` for screens that want the Western calendar.
    "strftime": lambda v, arg: "" if v in (None, "") else _date(v).strftime(arg or "%Y/%m/%d"),
    "month": lambda v, _: str(_date(v).month),
    "day": lambda v, _: str(_date(v).day),
    "map": lambda v, arg: _mapping(arg).get(str(v), ""),
    "map_list": lambda v, arg: [_mapping(arg)[x] for x in (v or []) if x in _mapping(arg)],
    "part": lambda v, arg: (str(v).split("-") + [""] * 8)[int(arg)],
    "eq": lambda v, arg: "true" if str(v) == arg else "",
    "contains": lambda v, arg: "true" if isinstance(v, list) and arg in v else "",
    "default": lambda v, arg: arg if v in (None, "", []) else v,
    "digits": lambda v, _: re.sub(r"\D", "", str(v)),
    "space": lambda v, arg: str(v).replace("\u3000", arg or " "),
    "str": lambda v, _: "" if v is None else str(v),
}

_EXPR = re.compile(r"\{([^{}]+)\}")


def evaluate(expr: str, record: dict[str, Any]) -> Any:
    """One ``name|filter:arg|filter`` expression against a record."""
    name, *filters = [p.strip() for p in expr.split("|")]
    value: Any = record
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    for f in filters:
        fname, _, arg = f.partition(":")
        fn = FILTERS.get(fname)
        if fn is None:
            raise TemplateError(f"ボット定義に未知の変換 {fname} があります", f"unknown bot filter {fname}")
        value = fn(value, arg)
    return value


def references(template: str) -> list[tuple[str, list[str]]]:
    """Each ``{name|filter:arg}`` in a mapping string as (record name, filter names), unevaluated:
    what ``dejiru template check`` compares with a template's fields."""
    out = []
    for m in _EXPR.finditer(template):
        name, *filters = [p.strip() for p in m.group(1).split("|")]
        out.append((name, [f.partition(":")[0] for f in filters]))
    return out


def render(template: str, record: dict[str, Any]) -> Any:
    """Fill ``{...}`` expressions; a template that is one expression keeps its value's type (lists)."""
    m = _EXPR.fullmatch(template.strip())
    if m:
        v = evaluate(m.group(1), record)
        return "" if v is None else v
    return _EXPR.sub(lambda mm: "" if (v := evaluate(mm.group(1), record)) is None else str(v), template)
