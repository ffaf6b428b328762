"""Normalise, check and route a page: which fields a person must look at, and why.

A field needs review when its confidence is below its threshold or any check fails; a document goes
straight through only when no field needs review. Thresholds default per field kind and can be set
per field in the template (``review_threshold``) or calibrated from labelled data.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from core import clock
from core.settings import load_settings
from formkit.model import FieldSpec, Template
from formkit.readings import FieldReading, PageReading, Reason
from validation import normalize
from validation.address import complete_address, reading_doubts
from validation.checks import address_checks, run_rules, type_checks

#: Thresholds calibrated on generated samples, shipped with dejiru (``dejiru calibrate --samples``).
SHIPPED_THRESHOLDS = Path(__file__).parent / "thresholds.json"


def thresholds_path() -> Path | None:
    """``DEJIRU_THRESHOLDS``, else this installation's own calibration, else the shipped one."""
    cfg = load_settings()
    if cfg.thresholds:
        return cfg.thresholds
    local = cfg.home / "thresholds.json"
    for path in (local, SHIPPED_THRESHOLDS):
        if path.exists():
            return path
    return None


@cache
def calibrated_thresholds() -> dict[str, float]:
    """Per-type thresholds written by ``dejiru calibrate``; empty (use the defaults) if there are none."""
    path = thresholds_path()
    if path is not None and path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): float(v) for k, v in data.get("thresholds", {}).items()}
    return {}


def threshold_for(tpl: Template, name: str) -> float:
    spec = tpl.field(name)
    if spec.review_threshold is not None:
        return spec.review_threshold
    return calibrated_thresholds().get(spec.type, spec.kind.threshold)


def normaliser_for(spec: FieldSpec) -> Callable[[str], str] | None:
    """The kind's normaliser (``FieldKind.normaliser``); kana written in hiragana stays hiragana."""
    name = spec.kind.normaliser
    if name is None:
        return None
    if name == "kana" and spec.script == "hiragana":
        return normalize.hiragana
    return normalize.NORMALISERS[name]


def normalize_value(spec: FieldSpec, value: Any) -> Any:
    fn = normaliser_for(spec)
    if fn is not None and isinstance(value, str):
        out = fn(value)
        return out or None
    return value


def complete_addresses(tpl: Template, fields: dict[str, Any]) -> None:
    """Each address gets its prefecture (and a 政令市 before its ward) when that is certain: from the
    postal code the template links to it, or from a city found in one place only. An address read in
    parts (``part_boxes``: the town, the numbers, the building) takes its prefecture and city from
    the postal code, which is what the form asks for. ``fields``: readings (anything with ``.value``)."""
    for spec in tpl.fields:
        f = fields.get(spec.name)
        if not spec.kind.address or f is None or not isinstance(f.value, str) or not f.value:
            continue
        linked = tpl.postal_field(spec.name)
        p = fields.get(linked.name) if linked is not None else None
        postal = p.value if p is not None and isinstance(p.value, str) else None
        f.value = complete_address(f.value, postal, town_only=bool(spec.part_boxes))


@dataclass
class Decision:
    straight_through: bool
    review_fields: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"straight_through": self.straight_through, "review_fields": self.review_fields}


def check_values(
    tpl: Template, values: dict[str, Any], today: dt.date | None = None
) -> dict[str, list[Reason]]:
    """Every check for a set of (normalised) values: used after reading and after a reviewer's edit."""
    ctx = dict(values) | {"__today__": today or clock.today()}
    unused = {name for g in tpl.groups for name in g.unused(values)}
    out: dict[str, list[Reason]] = {}
    for spec in tpl.fields:
        value = values.get(spec.name)
        if spec.name in unused:
            spec = spec.model_copy(update={"required": False})
        out[spec.name] = (
            type_checks(spec, value) + run_rules(spec, value, ctx) + address_checks(tpl, spec, value, values)
        )
    return out


def validate(tpl: Template, reading: PageReading, today: dt.date | None = None) -> Decision:
    """Normalise values, add check reasons and set ``needs_review`` on each field (in place)."""
    fields: dict[str, FieldReading] = reading.fields
    for spec in tpl.fields:
        f = fields[spec.name]
        f.value = normalize_value(spec, f.value)
    complete_addresses(tpl, fields)
    values = {k: f.value for k, f in fields.items()}
    found = check_values(tpl, values, today)
    for spec in tpl.fields:  # doubts a reading has that a person's typing does not
        value, linked = values.get(spec.name), tpl.postal_field(spec.name)
        if spec.kind.address and isinstance(value, str) and value:
            postal = values.get(linked.name) if linked is not None else None
            found[spec.name] += reading_doubts(value, postal if isinstance(postal, str) else None)
    review = []
    for spec in tpl.fields:
        f = fields[spec.name]
        f.reasons = f.reasons + found[spec.name]
        limit = threshold_for(tpl, spec.name)
        if f.confidence < limit:
            f.reasons.append(
                Reason(
                    "low_confidence",
                    f"読み取りの確からしさが低いです（{f.confidence:.2f} < {limit:.2f}）",
                    f"low reading confidence ({f.confidence:.2f} < {limit:.2f})",
                )
            )
        f.needs_review = bool(f.reasons)
        if f.needs_review:
            review.append(spec.name)
    return Decision(straight_through=not review, review_fields=review)
