"""The template editor: a DX leader (role ``author``) moves, resizes, adds and deletes field zones on the
blank form in the browser and edits each field's label, type, required flag, rules, comb cells, options
(with their boxes on a legacy form), eras, year/month/day boxes and examples; it may duplicate and split
a zone, zoom, and snap edges to the ruled lines of the blank form (:func:`snap_lines`). Zones of a legacy
form that cover its printed text are marked (:func:`print_warnings`). Several zones selected together are
aligned and spaced in the browser alone; groups (a block printed several times, ``FieldGroup``) are made
and edited in the panel and checked here (:func:`check_groups`) before the model sees them. A sample scan
is read with the unsaved template by review/editor_try.py, through :func:`edited_template`.

Saving validates the whole template with the same pydantic model the reader uses; an invalid template is
refused with a Japanese message and nothing is written. A valid one replaces ``template.yaml`` (the
previous file is kept as ``template.yaml.bak-<timestamp>``), keeping key order and comments (ruamel.yaml
round trip; without ruamel.yaml the header comments are kept and the rest is dumped in order).

The editor's routes are in review/routes/template_editor.py; this module is what they do.
"""

from __future__ import annotations

import copy
import hashlib
import io
import math
import os
import re
import shutil
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from core import clock
from core.errors import TemplateError
from formkit.kinds import KINDS, Comb, Shape
from formkit.model import ADDRESS_PARTS, FieldSpec, Template
from formkit.registry import (
    clear_cache,
    installed_template,
    parse_template,
)
from validation.checks import rule_names
from validation.wareki import ERAS

#: The background image's resolution: 840 × 1188 px for A4, enough to place a box to a quarter millimetre.
PX_PER_MM = 4.0
MAX_BODY = 1_000_000
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
#: A box may reach this far past the paper's edge (scanner margins on legacy masters).
EDGE_MM = 0.5
#: What one field may hold as the editor sends it: more is a forged request, not a form.
MAX_FIELDS = 300
MAX_CELLS = 64
MAX_OPTIONS = 40
MAX_EXAMPLES = 60
MAX_TEXT = 200
#: The eras a date may offer, in order.
ERA_NAMES = tuple(e.name for e in ERAS)
DATE_PARTS = ("year", "month", "day")
#: A ruled line shorter than this is a stroke of printed text, not a line to snap to.
SNAP_LINE_MM = 6.0
#: What the editor edits beyond name, label, type, required, rules and box; a field posted without one of
#: these keys keeps what the file says.
EDITED = ("cells", "eras", "examples", "options", "part_boxes", "pieces")
_save_lock = threading.Lock()


class EditRefused(TemplateError):
    """The edit was not saved; ``status`` is the HTTP status to answer with."""

    def __init__(self, ja: str, en: str, *, detail: str | None = None, status: int = 422) -> None:
        super().__init__(ja, en, detail=detail)
        self.status = status


def template_file(form_id: str) -> Path:
    """``form_templates/<form_id>/template.yaml``, only for an installed template (no ``../``)."""
    if not ID_RE.match(form_id):
        raise KeyError(form_id)
    try:
        return installed_template(form_id).resolve()
    except TemplateError:
        raise KeyError(form_id) from None


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def editor_field(f: FieldSpec) -> dict[str, Any]:
    """One field as the editor's script edits it: boxes as [x, y, w, h] in mm; ``orig`` is the name (or
    an option's value) it had in the file, so a renamed one keeps what the editor does not show."""
    return {
        "orig": f.name,
        "name": f.name,
        "label": f.label,
        "label_en": f.label_en or "",
        "type": f.type,
        "required": f.required,
        "rules": list(f.rules),
        "box": f.box.as_list(),
        "cells": f.cells,
        "eras": list(f.eras),
        "examples": list(f.examples),
        "options": [
            {
                "orig": o.value,
                "value": o.value,
                "label": o.label,
                "box": o.box.as_list() if o.box else None,
            }
            for o in f.options
        ],
        "part_boxes": {k: b.as_list() for k, b in f.part_boxes.items()},
        "pieces": [b.as_list() for b in f.pieces],
        "era_codes": bool(f.era_codes),
    }


def group_copies(tpl: Template, text: str) -> dict[str, dict[str, Any]]:
    """The fields a group makes (block 2 on: ``kana_2``…) that the file does not write out, by name:
    the group's name and label, the block, and the field of block 1 it follows."""
    raw = yaml.safe_load(text) or {}
    written = {str(f.get("name")) for f in raw.get("fields") or [] if isinstance(f, dict)}
    out: dict[str, dict[str, Any]] = {}
    for g in tpl.groups:
        for i, base, name in g.copies():
            if name not in written:
                out[name] = {"name": g.name, "label": g.label, "block": i, "base": base}
    return out


def editor_fields(tpl: Template, text: str | None = None) -> list[dict[str, Any]]:
    """The fields as the editor's script edits them. With the file's ``text``, a field a group makes is
    marked (``group``): the editor shows it and does not send it back (it moves with block 1's field),
    and a field of block 1 names its group (``group_of``): it may not be renamed, deleted or split."""
    copies = group_copies(tpl, text) if text is not None else {}
    bases = {base: g.label for g in tpl.groups for base in g.fields}
    out = []
    for f in tpl.fields:
        e = editor_field(f)
        if f.name in copies:
            e["group"] = copies[f.name]
        if f.name in bases:
            e["group_of"] = bases[f.name]
        out.append(e)
    return out


def editor_groups(tpl: Template) -> list[dict[str, Any]]:
    """The template's groups as the editor's script edits them (``orig``: the name it had in the file,
    so a renamed group keeps its place and comments). The script draws each group's further blocks
    from these, so a changed count or step shows at once, before anything is saved."""
    return [
        {
            "orig": g.name,
            "name": g.name,
            "label": g.label,
            "fields": list(g.fields),
            "count": g.count,
            "step": [_num(g.step[0]), _num(g.step[1])],
        }
        for g in tpl.groups
    ]


def editor_kinds() -> dict[str, dict[str, Any]]:
    """What the editor's side panel needs to know of each kind: which inputs a field of it has."""
    return {
        name: {
            "shape": kind.shape.value,
            "options": kind.has_options,
            "cells": kind.comb is not None or kind.shape in (Shape.COMB, Shape.DATE),
            "address": kind.address,
        }
        for name, kind in KINDS.items()
    }


@lru_cache(maxsize=4)
def _image(key: str, tpl_json: str) -> np.ndarray:
    from formkit.render import master_image

    img = master_image(Template.model_validate_json(tpl_json), PX_PER_MM)
    img.setflags(write=False)
    return img


@lru_cache(maxsize=16)
def _png(key: str, tpl_json: str) -> bytes:
    img = _image(key, tpl_json)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise TemplateError("白紙の様式を画像にできませんでした", "could not encode the blank form")
    return buf.tobytes()


def blank_png(tpl: Template) -> bytes:
    """The blank form (printed layout, or a legacy form's master) as PNG, cached per template content."""
    return _png(tpl.key, tpl.model_dump_json())


def _centre_lines(gray: np.ndarray) -> list[list[float]]:
    """[position, start, end] (mm) of the ruled lines across ``gray``, at least SNAP_LINE_MM long."""
    from authoring.propose.lines import horizontal_lines

    found = {
        (round(b.y + b.h / 2, 1), round(b.x, 1), round(b.x2, 1))
        for b in horizontal_lines(gray, PX_PER_MM)
        if b.w >= SNAP_LINE_MM
    }
    return [list(t) for t in sorted(found)]


@lru_cache(maxsize=16)
def _lines(key: str, tpl_json: str) -> dict[str, list[list[float]]]:
    rgb = _image(key, tpl_json)
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    # The vertical lines are the horizontal lines of the page turned on its side.
    return {"h": _centre_lines(gray), "v": _centre_lines(np.ascontiguousarray(gray.T))}


def snap_lines(tpl: Template) -> dict[str, list[list[float]]]:
    """The ruled lines of a legacy form's master that zone edges snap to: ``h`` as [y, x0, x1] and ``v``
    as [x, y0, y1], in mm. None on a redesigned form: its lines are drawn from the zones themselves."""
    if not tpl.legacy:
        return {"h": [], "v": []}
    return _lines(tpl.key, tpl.model_dump_json())


def print_warnings(tpl: Template) -> dict[str, dict[str, Any]]:
    """The zones of a legacy form that cover its print too much to be read (``ocr.reader.covers``),
    by field name: how much (0-1), where (``box``, an option's value, a part), its box, and whether it
    is a mark (an option or tick box)."""
    from ocr.reader import covers

    return {
        name: {"share": round(c.share, 3), "where": c.where, "box": c.box.as_list(), "mark": c.mark}
        for name, c in covers(tpl).items()
    }


# --- checking what the browser sent ------------------------------------------------------------------


def _box(value: Any) -> list[float] | None:
    if not isinstance(value, list) or len(value) != 4:
        return None
    try:
        nums = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    return nums if all(math.isfinite(v) for v in nums) else None


def _text_problem(
    value: Any, what: tuple[str, str], who: str, name: str, *, required: bool = True
) -> list[tuple[str, str]]:
    """A label, an option's value or an example: text, not too long, no markup or control characters."""
    ja, en = what
    if value is None and not required:
        return []
    if not isinstance(value, str):
        return [(f"{who}: {ja}の形式が違います", f"field {name}: the {en} must be text")]
    if required and not value.strip():
        return [(f"{who}: {ja}を入力してください", f"field {name}: the {en} is empty")]
    if len(value) > MAX_TEXT:
        return [
            (
                f"{who}: {ja}が長すぎます（{MAX_TEXT}文字まで）",
                f"field {name}: {en} over {MAX_TEXT} characters",
            )
        ]
    if "<" in value or ">" in value or any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        return [
            (
                f"{who}: {ja}に < > や制御文字は使えません（不等号は全角の＜＞で書きます）",
                f"field {name}: the {en} may not hold < > or control characters",
            )
        ]
    return []


def _effective(f: dict[str, Any], base: FieldSpec | None) -> dict[str, Any]:
    """The cells, eras, examples, options and part boxes a posted field will have: what it sent, else
    what the file says for the field it was (``orig``) or is a copy of (``copy_of``)."""
    out: dict[str, Any] = {
        "cells": None,
        "eras": [],
        "examples": [],
        "options": [],
        "part_boxes": {},
        "pieces": [],
        "era_codes": False,  # not edited: whether the file gives the date's era as a printed code
    }
    if base is not None:
        out.update({k: v for k, v in editor_field(base).items() if k in out})
    out.update({k: f[k] for k in EDITED if k in f})
    return out


def _base(f: dict[str, Any], olds: dict[str, FieldSpec]) -> FieldSpec | None:
    for key in ("orig", "copy_of"):
        ref = f.get(key)
        if isinstance(ref, str) and ref in olds:
            return olds[ref]
    return None


def check_posted(
    posted: Any, tpl: Template, groups: Any = None, text: str | None = None
) -> list[tuple[str, str]]:
    """Problems in the edited fields and groups, each in Japanese and English, before the model sees
    them. ``groups`` None: the file's groups stay (a save from an older page, or a script's); ``text``
    is the file, which says which copies of a group it writes out by hand."""
    if not isinstance(posted, list) or not all(isinstance(f, dict) for f in posted):
        return [("送られたデータの形式が違います", "the data sent is not a list of fields")]
    if not posted:
        return [("項目が1つもありません", "a template needs at least one field")]
    if len(posted) > MAX_FIELDS:
        return [(f"項目が多すぎます（{MAX_FIELDS}まで）", f"more than {MAX_FIELDS} fields")]
    problems: list[tuple[str, str]] = []
    names = [str(f.get("name", "")) for f in posted]
    olds = {s.name: s for s in tpl.fields}
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append((f"項目名 {dup} が重複しています", f"field name {dup} is used twice"))
    origs = [f.get("orig") for f in posted if f.get("orig")]
    if len(origs) != len(set(map(str, origs))):
        return [("送られたデータの形式が違います（同じ項目が2回あります）", "a field was sent twice")]
    for f in posted:
        problems += _check_field(f, _base(f, olds), tpl)
    if groups is None:
        groups = editor_groups(tpl)
    problems += check_groups(groups, posted, tpl, text)
    return problems


# --- groups ------------------------------------------------------------------------------------------

#: What the editor may make of groups: a form prints at most a few dozen blocks, and every copy is a
#: field the reader reads on every page, so more is a forged request (a memory bomb), not a form.
MAX_GROUPS = 20
MAX_EXPANDED = 600
GROUP_KEYS = {"orig", "name", "label", "fields", "count", "step"}
_GROUP_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _written_copies(tpl: Template, text: str | None) -> set[str]:
    """The copies of the file's groups that the file writes out by hand (they win over the generated
    ones, ``FieldGroup``): such a field may keep its name although a group makes the same name. Without
    the file's text every copy counts as written (a caller that posts the expanded fields back)."""
    if text is None:
        return {name for g in tpl.groups for _, _, name in g.copies()}
    raw = yaml.safe_load(text) or {}
    written = {str(f.get("name")) for f in raw.get("fields") or [] if isinstance(f, dict)}
    return {name for g in tpl.groups for _, _, name in g.copies() if name in written}


def _moved_boxes(f: dict[str, Any], base: FieldSpec | None, dx: float, dy: float) -> list[tuple[str, Any]]:
    """Every box of a posted field (its own, its options', parts', pieces' and label's) moved by
    (dx, dy): what a group's copy of it will have."""
    eff = _effective(f, base)
    raw: list[tuple[str, Any]] = [("枠", f.get("box"))]
    raw += [
        (f"選択肢 {str(o.get('label', ''))[:40]} の枠", o.get("box")) for o in eff["options"] if o.get("box")
    ]
    raw += [(f"{str(k)[:20]} の枠", b) for k, b in eff["part_boxes"].items()]
    raw += [(f"{i + 1}番目の区切りの枠", b) for i, b in enumerate(eff["pieces"])]
    if base is not None and base.label_box is not None and f.get("orig") == base.name:
        raw.append(("ラベルの枠", base.label_box.as_list()))
    out: list[tuple[str, Any]] = []
    for what, b in raw:
        box = _box(b)
        out.append((what, None if box is None else [box[0] + dx, box[1] + dy, box[2], box[3]]))
    return out


def check_groups(
    groups: Any, posted: list[dict[str, Any]], tpl: Template, text: str | None = None
) -> list[tuple[str, str]]:
    """Problems in the posted groups (FieldGroup's rules, before the model sees them): a name of
    lower-case letters, a label, 2 to 30 blocks, fields that exist and belong to one group only, a
    finite step that keeps every copy on the page, and copies whose names no real field has."""
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        return [("送られたグループの形式が違います", "the groups sent are not a list of groups")]
    if len(groups) > MAX_GROUPS:
        return [(f"グループが多すぎます（{MAX_GROUPS}まで）", f"more than {MAX_GROUPS} groups")]
    problems: list[tuple[str, str]] = []
    by_name = {str(f.get("name", "")): f for f in posted}
    olds = {s.name: s for s in tpl.fields}
    overrides = _written_copies(tpl, text)
    pw, ph = tpl.page.width_mm, tpl.page.height_mm
    owner: dict[str, str] = {}
    seen: set[str] = set()
    copies: dict[str, str] = {}
    total = len(posted)
    for g in groups:
        name, label = g.get("name"), g.get("label")
        shown = str(label)[:40].replace("<", "").replace(">", "") if isinstance(label, str) else ""
        who = f"グループ「{shown or str(name)[:40]}」"
        members, count, step = g.get("fields"), g.get("count"), g.get("step")
        if (
            set(g) - GROUP_KEYS
            or not isinstance(g.get("orig"), str | None)
            or not isinstance(members, list)
            or not all(isinstance(m, str) for m in members)
            or len(members) > MAX_FIELDS
        ):
            problems.append(
                (f"{who}: 送られたデータの形式が違います", f"group {str(name)[:40]}: malformed group")
            )
            continue
        if not isinstance(name, str) or not _GROUP_NAME.fullmatch(name):
            problems.append(
                (
                    f"{who}: グループ名（name）は半角英小文字で始め、英小文字・数字・_ だけ（40文字まで）にしてください",
                    f"group {str(name)[:40]!r}: the name must be lower-case letters, digits and _ (40 at most)",
                )
            )
            continue
        if name in seen:
            problems.append((f"グループ名 {name} が重複しています", f"group name {name} is used twice"))
        seen.add(name)
        problems += _text_problem(label, ("グループの表示名", "label"), who, name)
        if isinstance(count, bool) or not isinstance(count, int) or not 2 <= count <= 30:
            problems.append(
                (
                    f"{who}: 繰り返しの数（count）は2〜30の整数です",
                    f"group {name}: the count must be a whole number from 2 to 30",
                )
            )
            continue
        good = (
            isinstance(step, list)
            and len(step) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in step)
            and all(math.isfinite(float(v)) and abs(float(v)) <= max(pw, ph) for v in step)
        )
        if not good:
            problems.append(
                (
                    f"{who}: ずらす量（step）は横・縦の mm の数値2つです",
                    f"group {name}: the step is two finite numbers of mm (across, down)",
                )
            )
            continue
        if not members:
            problems.append((f"{who}: 項目が1つもありません", f"group {name} has no fields"))
            continue
        total += len(members) * (count - 1)
        before = len(problems)
        for m in members:
            if m not in by_name:
                problems.append(
                    (
                        f"{who}（{name}）: 項目 {m[:60]} がありません（グループの項目は、グループから外してから名前の変更・削除・分割をします）",
                        f"group {name}: no field named {m[:60]} (take a field out of its group before renaming, "
                        "deleting or splitting it)",
                    )
                )
            elif m in owner:
                problems.append(
                    (
                        f"{who}: 項目 {m} はもうグループ {owner[m]} に入っています（1つの項目は1つのグループだけ）",
                        f"group {name}: field {m} is already in group {owner[m]}",
                    )
                )
            else:
                owner[m] = name
        if len(problems) > before:
            continue  # a missing or shared field: no copies of it to place
        dx, dy = float(step[0]) * (count - 1), float(step[1]) * (count - 1)
        outside = False
        for m in members:
            f = by_name[m]
            for what, b in _moved_boxes(f, _base(f, olds), dx, dy):
                if b is None:
                    continue  # a bad box is the field's own problem, said above
                if (
                    b[0] < -EDGE_MM
                    or b[1] < -EDGE_MM
                    or b[0] + b[2] > pw + EDGE_MM
                    or b[1] + b[3] > ph + EDGE_MM
                ):
                    problems.append(
                        (
                            f"{who}: {count}番目の項目 {m} の{what}が用紙（{pw:g}×{ph:g} mm）からはみ出します"
                            "（繰り返しの数かずらす量を小さくします）",
                            f"group {name}: block {count}'s copy of {m} lies outside the {pw:g}×{ph:g} mm page",
                        )
                    )
                    outside = True
                    break
            if outside:
                break
        for i in range(2, count + 1):
            for m in members:
                copy = f"{m}_{i}"
                real = by_name.get(copy)
                if real is not None and not (copy in overrides and real.get("orig") == copy):
                    problems.append(
                        (
                            f"{who}: {i}番目の項目の名前 {copy} は、もうある項目の名前です（項目名を変えるか、数を減らします）",
                            f"group {name}: block {i}'s copy of {m} would be named {copy}, which a field has",
                        )
                    )
                elif copy in copies:
                    problems.append(
                        (
                            f"{who}: {i}番目の項目の名前 {copy} がグループ {copies[copy]} の項目と同じになります",
                            f"group {name}: the copy {copy} is also made by group {copies[copy]}",
                        )
                    )
                copies.setdefault(copy, name)
    if total > MAX_EXPANDED:
        problems.append(
            (
                f"グループの繰り返しを含めた項目が多すぎます（{total}、{MAX_EXPANDED}まで）",
                f"with the groups' copies the template has {total} fields (at most {MAX_EXPANDED})",
            )
        )
    return problems


def without_copies(posted: Any, tpl: Template, text: str) -> Any:
    """The posted fields less those a group makes (they follow block 1 and are not written out)."""
    if not isinstance(posted, list):
        return posted
    copies = group_copies(tpl, text)
    return [
        f
        for f in posted
        if not (isinstance(f, dict) and isinstance(f.get("orig"), str) and f["orig"] in copies)
    ]


def _check_field(f: dict[str, Any], base: FieldSpec | None, tpl: Template) -> list[tuple[str, str]]:
    name = str(f.get("name", ""))[:60]
    raw_label = f.get("label")
    label = raw_label.strip() if isinstance(raw_label, str) else ""
    who = f"項目「{label[:40].replace('<', '').replace('>', '') or name}」"
    eff = _effective(f, base)
    opts, parts, cells = eff["options"], eff["part_boxes"], eff["cells"]
    eras, examples, pieces = eff["eras"], eff["examples"], eff["pieces"]
    if (
        not isinstance(pieces, list)
        or len(pieces) > 8
        or not isinstance(opts, list)
        or not all(isinstance(o, dict) for o in opts)
        or not isinstance(parts, dict)
        or not isinstance(eras, list)
        or not all(isinstance(e, str) for e in eras)
        or not isinstance(examples, list)
        or any(not isinstance(f.get(k), str | None) for k in ("orig", "copy_of"))
    ):
        return [(f"{who}: 送られたデータの形式が違います", f"field {name}: malformed field")]
    problems: list[tuple[str, str]] = []
    if not ID_RE.match(name):
        problems.append(
            (
                f"{who}: 項目名（name）は半角英小文字で始め、英小文字・数字・_ だけにしてください",
                f"field {name!r}: the name must be lower-case letters, digits and _",
            )
        )
    problems += _text_problem(raw_label, ("ラベル", "label"), who, name)
    problems += _text_problem(
        f.get("label_en") or None, ("ラベル（英語）", "English label"), who, name, required=False
    )
    ftype = f.get("type")
    kind = KINDS.get(str(ftype))
    if kind is None:
        problems.append((f"{who}: 種類 {ftype} はありません", f"field {name}: unknown type {ftype}"))
    # comb cells
    if cells is not None and (
        isinstance(cells, bool) or not isinstance(cells, int) or not 1 <= cells <= MAX_CELLS
    ):
        problems.append(
            (
                f"{who}: マス数（cells）は1〜{MAX_CELLS}の整数です",
                f"field {name}: cells must be 1 to {MAX_CELLS}",
            )
        )
        cells = None
    # options
    if len(opts) > MAX_OPTIONS:
        problems.append(
            (f"{who}: 選択肢が多すぎます（{MAX_OPTIONS}まで）", f"field {name}: too many options")
        )
        opts = []
    values: list[str] = []
    for o in opts:
        found = _text_problem(o.get("value"), ("選択肢の値", "option value"), who, name)
        found += _text_problem(o.get("label"), ("選択肢の表示", "option label"), who, name)
        problems += found
        if not found:
            values.append(o["value"].strip())
    for dup in sorted({v for v in values if values.count(v) > 1}):
        problems.append((f"{who}: 選択肢の値 {dup} が重複しています", f"field {name}: option {dup} twice"))
    # eras
    unknown = [e for e in eras if e not in ERA_NAMES]
    if unknown or len(set(eras)) != len(eras):
        problems.append(
            (
                f"{who}: 元号は {'・'.join(ERA_NAMES)} から重ならずに選びます",
                f"field {name}: eras are some of {', '.join(ERA_NAMES)}, each once",
            )
        )
    # examples
    if len(examples) > MAX_EXAMPLES:
        problems.append(
            (f"{who}: 記入例が多すぎます（{MAX_EXAMPLES}まで）", f"field {name}: too many examples")
        )
    else:
        for ex in examples:
            problems += _text_problem(ex, ("記入例", "example"), who, name)
    if kind is not None:
        problems += _check_kind(f, kind, eff | {"cells": cells}, values, who, name)
    rules = f.get("rules") or []
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        problems.append((f"{who}: ルールの形式が違います", f"field {name}: rules must be a list of text"))
    else:
        known_rules = set(rule_names())
        for rule in rules:
            if rule.partition(":")[0].strip() not in known_rules:
                problems.append(
                    (
                        f"{who}: ルール {rule[:60]} はありません（使えるもの: {', '.join(sorted(known_rules))}）",
                        f"field {name}: unknown rule {rule[:60]}",
                    )
                )
    boxes: list[tuple[str, Any]] = [("枠", f.get("box"))]
    boxes += [
        (f"選択肢 {str(o.get('label', ''))[:40]} の枠", o.get("box"))
        for o in opts
        if o.get("box") is not None
    ]
    boxes += [(f"{str(k)[:20]} の枠", b) for k, b in parts.items()]
    boxes += [(f"{i + 1}番目の区切りの枠", b) for i, b in enumerate(pieces)]
    problems += _check_boxes(boxes, tpl, who, name)
    return problems


def _check_kind(
    f: dict[str, Any], kind: Any, eff: dict[str, Any], values: list[str], who: str, name: str
) -> list[tuple[str, str]]:
    """What the field's kind asks of it: options, eras, cells, part boxes."""
    problems: list[tuple[str, str]] = []
    ftype, cells, parts, eras = f.get("type"), eff["cells"], eff["part_boxes"], eff["eras"]
    if kind.has_options and len(eff["options"]) < 2:
        problems.append(
            (
                f"{who}: 種類 {ftype} には選択肢が2つ以上必要です（右の「選択肢を追加」で追加します）",
                f"field {name}: type {ftype} needs at least two options",
            )
        )
    if kind.shape is Shape.DATE:
        if not eras:
            problems.append(
                (
                    f"{who}: 日付には元号（eras）が必要です（右の「元号」で選びます）",
                    f"field {name}: a date needs eras",
                )
            )
        stray = [v for v in values if v not in eras]
        if stray:
            problems.append(
                (
                    f"{who}: 日付の選択肢の値は元号です（{', '.join(stray)} は「元号」で選ばれていません）",
                    f"field {name}: a date's options are its eras ({', '.join(stray)} is not one)",
                )
            )
        if cells not in (None, 2):
            problems.append(
                (
                    f"{who}: 日付のマス数は年・月・日それぞれ2（1マス1桁）か空欄です",
                    f"field {name}: a date's cells are 2 per part, or none",
                )
            )
        if parts and set(parts) != set(DATE_PARTS) | ({"era"} if eff["era_codes"] else set()):
            problems.append(
                (
                    f"{who}: 日付の区切り枠は年・月・日の3つです（元号を番号で書く様式では元号の枠も）",
                    f"field {name}: part_boxes are year, month and day (and era, with era_codes)",
                )
            )
    elif kind.address:
        if parts and set(parts) != set(ADDRESS_PARTS):
            problems.append(
                (
                    f"{who}: 住所の区切り枠は町名・番地・建物の3つです",
                    f"field {name}: an address's part_boxes are town, block and building",
                )
            )
    elif parts:
        problems.append(
            (
                f"{who}: 区切り枠（part_boxes）は日付と住所だけのものです",
                f"field {name}: only a date or an address has part_boxes",
            )
        )
    if kind.shape is Shape.COMB and not cells:
        problems.append(
            (
                f"{who}: 種類 {ftype} にはマス数（cells）が必要です（数値なら種類 number を使います）",
                f"field {name}: a {ftype} needs cells (or use type number)",
            )
        )
    if kind.comb is Comb.POSTAL and cells not in (None, 7):
        problems.append(
            (f"{who}: 郵便番号のマス数は7か空欄です", f"field {name}: a postal code has 7 cells, or none")
        )
    return problems


def _check_boxes(boxes: list[tuple[str, Any]], tpl: Template, who: str, name: str) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    pw, ph = tpl.page.width_mm, tpl.page.height_mm
    for what, raw in boxes:
        b = _box(raw)
        if b is None:
            problems.append(
                (f"{who}: {what}は [x, y, 幅, 高さ] の数値4つです", f"field {name}: bad box {str(raw)[:80]}")
            )
        elif b[2] <= 0 or b[3] <= 0:
            problems.append(
                (
                    f"{who}: {what}の幅と高さは0より大きくしてください（幅 {b[2]:g} mm、高さ {b[3]:g} mm）",
                    f"field {name}: a box needs a positive width and height",
                )
            )
        elif b[0] < -EDGE_MM or b[1] < -EDGE_MM or b[0] + b[2] > pw + EDGE_MM or b[1] + b[3] > ph + EDGE_MM:
            problems.append(
                (
                    f"{who}: {what}が用紙（{pw:g}×{ph:g} mm）からはみ出しています",
                    f"field {name}: a box lies outside the {pw:g}×{ph:g} mm page",
                )
            )
    return problems


# --- writing the YAML --------------------------------------------------------------------------------


def _yaml() -> Any:
    """The one round-trip YAML writer (formkit.yamlio: comments, quoting and key order kept), or None
    without ruamel.yaml (then only the header comments are kept, see render_yaml)."""
    try:
        from formkit import yamlio
    except ImportError:  # pragma: no cover - ruamel.yaml is a dependency (pyproject.toml)
        return None
    return yamlio.round_trip()


def _num(v: float) -> float | int:
    r = round(float(v), 2)
    return int(r) if r == int(r) else r


def _flow_list(values: list[Any], rt: bool, quoted: bool = False) -> Any:
    """A list written on one line (``[x, y, w, h]``, ``["range:1-10"]``), like the hand-written files."""
    if not rt:
        return values
    from formkit import yamlio

    return yamlio.flow_list(values, quote=quoted)


def _put(m: Any, key: str, value: Any) -> None:
    """Set ``m[key]`` unless it already holds an equal value (so its quoting and spelling stay)."""
    if key in m and m[key] == value:
        return
    m[key] = value


def _put_box(m: Any, key: str, box: list[float], rt: bool) -> None:
    new = [_num(v) for v in box]
    old = m.get(key)
    if isinstance(old, list) and len(old) == 4:
        if all(float(a) == b for a, b in zip(old, new, strict=True)):
            return
        if any(isinstance(v, float) for v in old):  # the file writes 103.0, not 103
            new = [float(v) for v in new]
    m[key] = _flow_list(new, rt)


def _put_list(m: Any, key: str, values: list[str], rt: bool, *, same: bool = False) -> None:
    """Set a one-line list, or remove the key for none; ``same``: the file's list is kept as it is."""
    if not values:
        if key in m:
            del m[key]
        return
    old = m.get(key) or []
    if same or [str(v) for v in old] == values:
        return
    # The file's style: a list written in double quotes stays so (["2016-04-12", …]).
    m[key] = _flow_list(values, rt, quoted=any(getattr(v, "style", None) == '"' for v in old))


def _merge_options(m: Any, sent: list[dict[str, Any]], rt: bool) -> None:
    """The posted options over the file's: one matched by the value it had (``orig``) keeps what the
    editor does not show (its English label, its quoting); a new one is written on one line."""
    old = m.get("options")
    olds = [o for o in old or [] if isinstance(o, dict)]
    by_value = {str(o.get("value")): o for o in olds}
    out: list[Any] = []
    for o in sent:
        om = by_value.pop(str(o["orig"]), None) if o.get("orig") is not None else None
        if om is None:
            om = _flow_map(rt)
        _put(om, "value", str(o["value"]).strip())
        _put(om, "label", str(o["label"]).strip())
        box = _box(o.get("box"))
        if box is not None:
            _put_box(om, "box", box, rt)
        elif "box" in om:
            del om["box"]
        out.append(om)
    if not out:
        if "options" in m:
            del m["options"]
        return
    if len(out) == len(olds) and all(a is b for a, b in zip(out, olds, strict=True)):
        return  # the same options in the same order (changed in place, if at all)
    if rt and old is not None and hasattr(old, "ca"):
        old.ca.items.clear()  # a comment belongs to the option it was written beside, which may be gone
        del old[:]
        old.extend(out)
    else:
        m["options"] = out


def _merge_parts(m: Any, parts: dict[str, Any], rt: bool) -> None:
    if not parts:
        if "part_boxes" in m:
            del m["part_boxes"]
        return
    pm = m.get("part_boxes")
    if not isinstance(pm, dict):
        pm = _new_map(rt)
        m["part_boxes"] = pm
    for key in [k for k in pm if k not in parts]:
        del pm[key]
    for key, b in parts.items():
        _put_box(pm, key, b, rt)


def _merge_pieces(m: Any, pieces: list[Any], rt: bool) -> None:
    new = [[_num(v) for v in b] for b in pieces]
    old = m.get("pieces") or []
    if [[float(v) for v in b] for b in old] == [[float(v) for v in b] for b in new]:
        return
    if new:
        m["pieces"] = [_flow_list(b, rt) for b in new]
    elif "pieces" in m:
        del m["pieces"]


def merge_fields(old: list[Any], posted: list[dict[str, Any]], rt: bool) -> list[Any]:
    """The posted fields written over the file's own field mappings: what the editor does not show
    (hints, units, label boxes…), the order of keys and untouched values stay as they were. A field
    posted as a copy (``copy_of``: a duplicate, or the second half of a split) starts from a copy of
    that field's mapping, without its comments and its label box."""
    originals: dict[str, Any] = {str(m.get("name")): m for m in old if isinstance(m, dict)}
    by_name = dict(originals)
    out: list[Any] = []
    for p in posted:
        orig = p.get("orig")
        m = by_name.pop(str(orig), None) if orig else None
        if m is None and p.get("copy_of") in originals:
            m = copy.deepcopy(originals[p["copy_of"]])
            if rt:
                m.ca.items.clear()
                m.ca.comment = None
            m.pop("label_box", None)
        if m is None:
            m = _new_map(rt)
        _put(m, "name", p["name"])
        _put(m, "label", str(p["label"]).strip())
        label_en = str(p.get("label_en") or "").strip()
        if label_en:
            _put(m, "label_en", label_en)
        elif "label_en" in m:
            del m["label_en"]
        _put(m, "type", p["type"])
        _put_box(m, "box", p["box"], rt)
        if p.get("required"):
            _put(m, "required", True)
        elif "required" in m:
            del m["required"]
        rules = [r.strip() for r in p.get("rules") or [] if r.strip()]
        if rules:
            if [str(r) for r in m.get("rules") or []] != rules:
                m["rules"] = _flow_list(rules, rt, quoted=True)
        elif "rules" in m:
            del m["rules"]
        if "cells" in p:
            if p["cells"]:
                _put(m, "cells", int(p["cells"]))
            elif "cells" in m:
                del m["cells"]
        if "eras" in p:
            eras = [e for e in ERA_NAMES if e in p["eras"]]  # in the order of history
            _put_list(m, "eras", eras, rt, same={str(e) for e in m.get("eras") or []} == set(eras))
        if "examples" in p:
            _put_list(m, "examples", [str(e).strip() for e in p["examples"] if str(e).strip()], rt)
        if "options" in p:
            _merge_options(m, p["options"], rt)
        if "part_boxes" in p:
            _merge_parts(m, p["part_boxes"], rt)
        if "pieces" in p:
            _merge_pieces(m, p["pieces"], rt)
        out.append(m)
    if rt:  # the file's own list object, so comments attached to it stay
        # A comment line between two fields belongs to the list, at the index of the field after it:
        # it moves with that field (or goes with it when the field is deleted).
        seq: Any = old  # a ruamel CommentedSeq
        notes = {id(m): seq.ca.items[i] for i, m in enumerate(seq) if i in seq.ca.items}
        seq.ca.items.clear()
        del seq[:]
        seq.extend(out)
        for i, m in enumerate(out):
            if id(m) in notes:
                seq.ca.items[i] = notes[id(m)]
        return seq
    return out


def _new_map(rt: bool) -> Any:
    if not rt:
        return {}
    from formkit import yamlio

    return yamlio.block_map()


def _flow_map(rt: bool) -> Any:
    if not rt:
        return {}
    from formkit import yamlio

    return yamlio.flow_map({})


def _header(text: str) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line)
    return "".join(lines)


def merge_groups(old: Any, posted: list[dict[str, Any]], rt: bool) -> list[Any]:
    """The posted groups written over the file's: one matched by the name it had (``orig``) keeps its
    comments and spelling; a value that did not change is not rewritten."""
    by_name = {str(m.get("name")): m for m in old or [] if isinstance(m, dict)}
    out: list[Any] = []
    for g in posted:
        m = by_name.pop(str(g["orig"]), None) if g.get("orig") else None
        if m is None:
            m = _new_map(rt)
        _put(m, "name", g["name"])
        _put(m, "label", str(g["label"]).strip())
        if [str(v) for v in m.get("fields") or []] != list(g["fields"]):
            m["fields"] = _flow_list(list(g["fields"]), rt)
        _put(m, "count", int(g["count"]))
        step = [_num(v) for v in g["step"]]
        was = m.get("step")
        if not (isinstance(was, list) and [float(v) for v in was] == [float(v) for v in step]):
            m["step"] = _flow_list(step, rt)
        out.append(m)
    if rt and old is not None and hasattr(old, "ca"):
        old.ca.items.clear()  # a comment belongs to the group it was written beside, which may be gone
        del old[:]
        old.extend(out)
        return old  # the file's own list, so comments attached to it stay
    return out


def _set_groups(data: Any, groups: list[Any], rt: bool) -> None:
    """``groups`` in the template's data: removed when there are none, else after ``fields`` (where
    the hand-written files keep them)."""
    if not groups:
        data.pop("groups", None)
        return
    if "groups" in data:
        if data["groups"] is not groups:
            data["groups"] = groups
        return
    keys = list(data)
    at = keys.index("fields") + 1 if "fields" in keys else len(keys)
    if rt:
        from formkit import yamlio

        data.insert(at, "groups", yamlio.block_seq(groups))
    else:
        items = list(data.items())
        items.insert(at, ("groups", groups))
        data.clear()
        data.update(items)


def render_yaml(text: str, posted: list[dict[str, Any]], groups: list[dict[str, Any]] | None = None) -> str:
    """The template file's text with the edited fields (and, when sent, groups) in place."""
    y = _yaml()
    if y is not None:
        data = y.load(text)
        data["fields"] = merge_fields(data["fields"], posted, rt=True)
        if groups is not None:
            _set_groups(data, merge_groups(data.get("groups"), groups, rt=True), rt=True)
        buf = io.StringIO()
        y.dump(data, buf)
        return buf.getvalue()
    data = yaml.safe_load(text)
    data["fields"] = merge_fields(data["fields"], posted, rt=False)
    if groups is not None:
        _set_groups(data, merge_groups(data.get("groups"), groups, rt=False), rt=False)
    return _header(text) + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=4096)


def _backup_path(path: Path) -> Path:
    stamp = clock.stamp()
    backup = path.with_name(f"{path.name}.bak-{stamp}")
    n = 2
    while backup.exists():
        backup = path.with_name(f"{path.name}.bak-{stamp}-{n}")
        n += 1
    return backup


def edited_template(path: Path, text: str, posted: Any, groups: Any = None) -> tuple[Template, str]:
    """The template the editor's fields and groups make of the file's ``text``, checked as a save
    checks it, and its new text; nothing is written (a save writes it, a sample read only reads with
    it). ``groups`` None keeps the file's groups. Raises :class:`EditRefused` with every problem."""
    old = parse_template(text, str(path))
    posted = without_copies(posted, old, text)
    problems = check_posted(posted, old, groups, text)
    if problems:
        raise EditRefused(
            "テンプレートに誤りがあるため保存しませんでした：" + "／".join(ja for ja, _ in problems),
            "not saved, the template has errors: " + "; ".join(en for _, en in problems),
        )
    new_text = render_yaml(text, posted, groups)
    try:
        tpl = parse_template(new_text, str(path))
    except TemplateError as err:
        raise EditRefused(
            "テンプレートに誤りがあるため保存しませんでした（ファイルは変更していません）",
            "not saved, the template is invalid (the file is unchanged)",
            detail=err.detail,
        ) from err
    was_sensitive = {f.name for f in old.fields if f.sensitive}
    exposed = sorted(f.name for f in tpl.fields if not f.sensitive and f.name in was_sensitive)
    if exposed:
        # Masking 個人番号 is not a layout choice: the editor never takes it away (a field deleted
        # and added again under the same name would lose it too).
        raise EditRefused(
            f"個人情報として隠している項目（{', '.join(exposed)}）の sensitive は外せません",
            f"fields masked as personal data ({', '.join(exposed)}) must stay sensitive",
            status=403,
        )
    return tpl, new_text


def save_fields(
    form_id: str, posted: Any, base: str | None, groups: Any = None
) -> tuple[Template, Path | None]:
    """Validate and write the edited fields (and groups, when sent: None keeps the file's); returns
    the new template and the backup of the old file (None when nothing changed and nothing was
    written)."""
    path = template_file(form_id)
    with _save_lock:
        text = path.read_text(encoding="utf-8")
        if base and hashlib.sha256(text.encode("utf-8")).hexdigest() != base:
            raise EditRefused(
                "この様式は画面を開いた後に別の人が保存しています。画面を開き直してからやり直してください",
                "someone saved this template after you opened it: reload and try again",
                status=409,
            )
        tpl, new_text = edited_template(path, text, posted, groups)
        if new_text == text:
            return tpl, None  # nothing changed: the file (and its comments) stay as they are
        backup = _backup_path(path)
        shutil.copy2(path, backup)
        tmp = path.with_name(f".{path.name}.saving")
        tmp.write_text(new_text, encoding="utf-8")
        os.replace(tmp, path)
        clear_cache()
    return tpl, backup
