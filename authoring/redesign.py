"""様式の見直し: an OCR-friendly version of a legacy template (``dejiru template redesign ID``).

A legacy form is read as the city received it: small print, ruled cells shared by several fields,
circles drawn anywhere. The redesigned form asks for the same things in the layout the reader reads
best: registration marks and a form-ID strip (printed by :mod:`formkit.render` for every redesigned
template), one field per row with its label at the left, comb cells for kana, digits and postal codes,
tick boxes for eras and options, guides in the drop-out colour. The field names, types, rules,
examples and target stay the same, so the bot's mapping and every cross-field rule work unchanged and
the city can print the new form while old copies are still read with the legacy template.

Pure: a template in, a template out (and its YAML); the CLI writes the files.
"""

from __future__ import annotations

import math
from typing import Any

from core.errors import TemplateError
from formkit import yamlio
from formkit.kinds import Comb, Shape
from formkit.model import Box, FieldSpec, Option, Template

#: The page's writing area (A4 portrait): below the header, above the bottom registration marks.
TOP_MM = 41.0
BOTTOM_MM = 272.0
LABEL_X_MM = 15.0
LABEL_W_MM = 35.0
BOX_X_MM = 51.0
BOX_W_MM = 144.0
ROW_GAP_MM = 1.5
#: Comb cells when the legacy field was written freely: katakana of a name, digits of a number.
KANA_CELLS = 16
DIGIT_CELLS = 10
MYNUMBER_CELLS = 12
#: Two fields share a row when each has at most this many comb cells (or few options, a tick box).
HALF_CELLS = 10
HALF_LABEL_W_MM = 28.0
#: Options per row.
OPTION_COLUMNS = 4

HEADER = """\
# 様式の見直し (dejiru template redesign) で作った OCR 向けの様式です / An OCR-friendly redesign made by
# `dejiru template redesign`: the same fields, rules and target as the legacy template it came from.
# - 印刷: dejiru template render ID --out form.pdf (位置合わせマークと様式IDが入ります)
# - 確認: dejiru template check ID、dejiru samples --form ID"""


def _height(spec: FieldSpec) -> float:
    kind = spec.kind
    if kind.has_options:
        return 7.0 * math.ceil(len(spec.options) / OPTION_COLUMNS)
    if kind.shape in (Shape.TICK, Shape.DATE) or kind.comb is not None:
        return 8.0
    if kind.shape is Shape.SIGNATURE or kind.address:
        return 12.0
    return 10.0


def _cells(spec: FieldSpec) -> int | None:
    """Comb cells on the new form: the legacy count where it had cells, else one per character."""
    kind = spec.kind
    if kind.comb is Comb.POSTAL:
        return 7
    if kind.comb is None:
        return None
    if spec.cells:
        return spec.cells
    if kind.shape is Shape.COMB:
        return 3
    if "mynumber" in spec.rules:
        return MYNUMBER_CELLS
    return KANA_CELLS if kind.name == "kana" else DIGIT_CELLS


def _half(spec: FieldSpec) -> bool:
    """Fits half a row: a tick box, two or three options, or up to HALF_CELLS comb cells."""
    kind = spec.kind
    if kind.shape is Shape.TICK:
        return True
    if kind.has_options:
        return len(spec.options) <= 3
    cells = _cells(spec)
    return kind.shape is not Shape.DATE and cells is not None and cells <= HALF_CELLS


def _field(spec: FieldSpec, y: float, column: int | None) -> FieldSpec:
    """The field on the new form at ``y``: the whole row (``column`` None) or its left or right half."""
    kind = spec.kind
    h = _height(spec)
    if column is None:
        lx, lw, bx, bw = LABEL_X_MM, LABEL_W_MM, BOX_X_MM, BOX_W_MM
    else:
        half = (BOX_X_MM + BOX_W_MM - LABEL_X_MM) / 2
        lx = LABEL_X_MM + column * half
        lw, bx, bw = HALF_LABEL_W_MM, lx + HALF_LABEL_W_MM + 1.0, half - HALF_LABEL_W_MM - 2.0
    changes: dict[str, Any] = {
        "box": Box(x=bx, y=y, w=bw, h=h),
        "label_box": Box(x=lx, y=y, w=lw, h=h),
        "part_boxes": {},  # the legacy form's own boxes: the new form lays a date out itself
        "era_codes": {},  # and asks for the era with tick boxes
        "cells": _cells(spec) if kind.shape is not Shape.DATE else None,
    }
    if kind.shape is Shape.DATE:
        changes["options"] = []  # eras become tick boxes
        changes["eras"] = spec.eras or ["令和"]
    elif spec.options:
        changes["options"] = [Option(value=o.value, label=o.label, label_en=o.label_en) for o in spec.options]
        changes["columns"] = min(len(spec.options), OPTION_COLUMNS)
    return spec.model_copy(update=changes)


def _rows(specs: list[FieldSpec], y: float, name: str) -> tuple[list[FieldSpec], float]:
    """``specs`` laid out from ``y`` down, one a row or two side by side where both fit half a row;
    and the y below them."""
    fields: list[FieldSpec] = []
    open_half: tuple[float, float] | None = None  # the row whose right half is free, and its height
    for spec in specs:
        h = _height(spec)
        if _half(spec) and open_half is not None and open_half[1] == h:
            fields.append(_field(spec, open_half[0], 1))
            open_half = None
            continue
        if y + h > BOTTOM_MM:
            raise TemplateError(
                f"{name} の項目は A4 1枚に入りません（{spec.name} であふれます）。項目を減らすか、様式を分けてください",
                f"the fields of {name} do not fit on one A4 page ({spec.name} overflows); drop fields or "
                "split the form",
            )
        half = _half(spec)
        fields.append(_field(spec, y, 0 if half else None))
        open_half = (y, h) if half else None
        y += h + ROW_GAP_MM
    return fields, y


def redesign(legacy: Template, new_id: str, code: int) -> tuple[Template, list[str]]:
    """The redesigned template for ``legacy`` and notes for the author: its fields top to bottom in
    the legacy order, then each repeated block (:class:`formkit.model.FieldGroup`) as many times as
    fit on the sheet."""
    if not legacy.legacy:
        raise TemplateError(
            f"{legacy.id} はもう OCR 向けの様式です（見直すのは既存様式 kind: legacy です）",
            f"{legacy.id} is already a redesigned form (only a legacy template can be redesigned)",
        )
    in_group = {name for g in legacy.groups for _, _, name in g.copies()}
    grouped = {b for g in legacy.groups for b in g.fields}
    single = [f for f in legacy.fields if f.name not in in_group and f.name not in grouped]
    fields, y = _rows(single, TOP_MM, legacy.id)
    groups, notes = [], []
    for g in legacy.groups:
        block, below = _rows([legacy.field(n) for n in g.fields], y, legacy.id)
        height = below - y
        fit = min(g.count, 1 + int((BOTTOM_MM - below) // height)) if height > 0 else 1
        fields += block
        if fit >= 2:
            groups.append(g.model_copy(update={"count": fit, "step": (0.0, height)}))
        if fit < g.count:
            notes.append(
                f"{g.label}: 元の様式の {g.count} 組のうち {fit} 組が1枚に入ります（残りは次の用紙に）/ "
                f"{fit} of the {g.count} {g.name} blocks fit on one sheet (the rest go on another)"
            )
        y = below + (fit - 1) * height
    data = legacy.model_dump(exclude={"fields", "groups", "kind", "master", "master_page", "page", "static"})
    tpl = Template.model_validate(
        {
            **data,
            "id": new_id,
            "version": 1,
            "kind": "redesigned",
            "code": code,
            "source": f"dejiru template redesign {legacy.id} (v{legacy.version})",
            "fields": [f.model_dump() for f in fields],
            "groups": [g.model_dump() for g in groups],
        }
    )
    return tpl, notes


def next_code(templates: list[Template]) -> int:
    """The lowest form-ID code no installed template uses."""
    used = {t.code for t in templates if t.code is not None}
    return next(c for c in range(1, 16384) if c not in used)


def to_yaml(tpl: Template) -> str:
    """The template as ``template.yaml``: boxes as [x, y, w, h] lists, defaults left out."""
    data = tpl.model_dump(mode="json", exclude_defaults=True)
    data["kind"] = tpl.kind
    copies = {name for g in tpl.groups for _, _, name in g.copies()}
    fields = []
    for spec, raw in zip(tpl.fields, data.get("fields", []), strict=True):
        if spec.name in copies:
            continue  # generated from its group
        raw["box"] = yamlio.flow_list(round(v, 1) for v in spec.box.as_list())
        if spec.label_box is not None:
            raw["label_box"] = yamlio.flow_list(round(v, 1) for v in spec.label_box.as_list())
        if "options" in raw:
            raw["options"] = [
                yamlio.flow_map({k: v for k, v in o.items() if v is not None}) for o in raw["options"]
            ]
        for key in ("eras", "rules", "examples"):
            if key in raw:
                raw[key] = yamlio.flow_list(raw[key])
        fields.append(yamlio.block_map(raw))
    order = [
        "id",
        "version",
        "kind",
        "code",
        "title",
        "title_en",
        "source",
        "addressee",
        "instructions",
        "target",
    ]
    doc = yamlio.block_map({k: data[k] for k in order if k in data})
    doc["fields"] = fields
    if tpl.groups:
        doc["groups"] = [
            yamlio.block_map(
                {**g, "fields": yamlio.flow_list(g["fields"]), "step": yamlio.flow_list(g["step"])}
            )
            for g in data["groups"]
        ]
    return yamlio.dump(doc, header=HEADER)
