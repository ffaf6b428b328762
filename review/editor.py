"""The template editor: a DX leader (role ``author``) moves, resizes, adds and deletes field zones on the
blank form in the browser and edits each field's label, type, required flag and rules.

Saving validates the whole template with the same pydantic model the reader uses; an invalid template is
refused with a Japanese message and nothing is written. A valid one replaces ``template.yaml`` (the
previous file is kept as ``template.yaml.bak-<timestamp>``), keeping key order and comments (ruamel.yaml
round trip; without ruamel.yaml the header comments are kept and the rest is dumped in order).

The editor's routes are in review/routes/template_editor.py; this module is what they do.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import shutil
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import yaml

from core import clock
from core.errors import TemplateError
from formkit.kinds import KINDS, Shape
from formkit.model import Template
from formkit.registry import (
    clear_cache,
    installed_template,
    parse_template,
)
from validation.checks import rule_names

#: The background image's resolution: 840 × 1188 px for A4, enough to place a box to a quarter millimetre.
PX_PER_MM = 4.0
MAX_BODY = 1_000_000
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
#: A box may reach this far past the paper's edge (scanner margins on legacy masters).
EDGE_MM = 0.5
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


def editor_fields(tpl: Template) -> list[dict[str, Any]]:
    """The fields as the editor's script edits them: boxes as [x, y, w, h] in mm."""
    return [
        {
            "orig": f.name,
            "name": f.name,
            "label": f.label,
            "label_en": f.label_en or "",
            "type": f.type,
            "required": f.required,
            "rules": list(f.rules),
            "box": f.box.as_list(),
            "options": [
                {"value": o.value, "label": o.label, "box": o.box.as_list() if o.box else None}
                for o in f.options
            ],
            "part_boxes": {k: b.as_list() for k, b in f.part_boxes.items()},
        }
        for f in tpl.fields
    ]


@lru_cache(maxsize=16)
def _png(key: str, tpl_json: str) -> bytes:
    from formkit.render import master_image

    img = master_image(Template.model_validate_json(tpl_json), PX_PER_MM)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise TemplateError("白紙の様式を画像にできませんでした", "could not encode the blank form")
    return buf.tobytes()


def blank_png(tpl: Template) -> bytes:
    """The blank form (printed layout, or a legacy form's master) as PNG, cached per template content."""
    return _png(tpl.key, tpl.model_dump_json())


# --- checking what the browser sent ------------------------------------------------------------------


def _box(value: Any) -> list[float] | None:
    if not isinstance(value, list) or len(value) != 4:
        return None
    try:
        nums = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    return nums if all(math.isfinite(v) for v in nums) else None


def check_posted(posted: Any, tpl: Template) -> list[tuple[str, str]]:
    """Problems in the edited fields, each in Japanese and English, before the model sees them."""
    if not isinstance(posted, list) or not all(isinstance(f, dict) for f in posted):
        return [("送られたデータの形式が違います", "the data sent is not a list of fields")]
    if not posted:
        return [("項目が1つもありません", "a template needs at least one field")]
    problems: list[tuple[str, str]] = []
    known_rules = set(rule_names())
    pw, ph = tpl.page.width_mm, tpl.page.height_mm
    names = [str(f.get("name", "")) for f in posted]
    olds = {s.name: s for s in tpl.fields}
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append((f"項目名 {dup} が重複しています", f"field name {dup} is used twice"))
    for f in posted:
        name = str(f.get("name", ""))
        label = str(f.get("label") or "").strip()
        who = f"項目「{label or name}」"
        opts, parts = f.get("options") or [], f.get("part_boxes") or {}
        if (
            not isinstance(opts, list)
            or not all(isinstance(o, dict) for o in opts)
            or not isinstance(parts, dict)
        ):
            problems.append((f"{who}: 送られたデータの形式が違います", f"field {name}: malformed options"))
            continue
        if not ID_RE.match(name):
            problems.append(
                (
                    f"{who}: 項目名（name）は半角英小文字で始め、英小文字・数字・_ だけにしてください",
                    f"field {name!r}: the name must be lower-case letters, digits and _",
                )
            )
        if not label:
            problems.append((f"{who}: ラベルを入力してください", f"field {name}: the label is empty"))
        ftype = f.get("type")
        kind = KINDS.get(str(ftype))
        if kind is None:
            problems.append((f"{who}: 種類 {ftype} はありません", f"field {name}: unknown type {ftype}"))
        elif kind.has_options and len(f.get("options") or []) < 2:
            problems.append(
                (
                    f"{who}: 種類 {ftype} には選択肢が2つ以上必要です（選択肢は template.yaml で追加します）",
                    f"field {name}: type {ftype} needs at least two options (add them in template.yaml)",
                )
            )
        else:
            was = olds.get(str(f.get("orig")))
            if kind.shape is Shape.DATE and not (was and was.eras):
                problems.append(
                    (
                        f"{who}: 日付には元号（eras、例 [令和]）が必要です（template.yaml で追加します）",
                        f"field {name}: a date needs eras (add them in template.yaml)",
                    )
                )
            if kind.shape is Shape.COMB and not (was and was.cells):
                problems.append(
                    (
                        f"{who}: 種類 count にはマス数（cells）が必要です（数値なら種類 number を使います）",
                        f"field {name}: a count needs cells (or use type number)",
                    )
                )
        rules = f.get("rules") or []
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            problems.append((f"{who}: ルールの形式が違います", f"field {name}: rules must be a list of text"))
        else:
            for rule in rules:
                if rule.partition(":")[0] not in known_rules:
                    problems.append(
                        (
                            f"{who}: ルール {rule} はありません（使えるもの: {', '.join(sorted(known_rules))}）",
                            f"field {name}: unknown rule {rule}",
                        )
                    )
        boxes: list[tuple[str, Any]] = [("枠", f.get("box"))]
        boxes += [(f"選択肢 {o.get('label', '')} の枠", o.get("box")) for o in opts if o.get("box")]
        boxes += [(f"{k} の枠", b) for k, b in parts.items()]
        for what, raw in boxes:
            b = _box(raw)
            if b is None:
                problems.append(
                    (f"{who}: {what}は [x, y, 幅, 高さ] の数値4つです", f"field {name}: bad box {raw}")
                )
            elif b[2] <= 0 or b[3] <= 0:
                problems.append(
                    (
                        f"{who}: {what}の幅と高さは0より大きくしてください（幅 {b[2]:g} mm、高さ {b[3]:g} mm）",
                        f"field {name}: a box needs a positive width and height",
                    )
                )
            elif (
                b[0] < -EDGE_MM or b[1] < -EDGE_MM or b[0] + b[2] > pw + EDGE_MM or b[1] + b[3] > ph + EDGE_MM
            ):
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


def merge_fields(old: list[Any], posted: list[dict[str, Any]], rt: bool) -> list[Any]:
    """The posted fields written over the file's own field mappings: what the editor does not show
    (eras, cells, hints, examples…), the order of keys and untouched values stay as they were."""
    by_name = {str(m.get("name")): m for m in old if isinstance(m, dict)}
    out: list[Any] = []
    for p in posted:
        orig = p.get("orig")
        m = by_name.pop(str(orig), None) if orig else None
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
        for opt, sent in zip(m.get("options") or [], p.get("options") or [], strict=False):
            if isinstance(opt, dict) and sent.get("box"):
                _put_box(opt, "box", sent["box"], rt)
        parts = m.get("part_boxes")
        if isinstance(parts, dict):
            for key, b in (p.get("part_boxes") or {}).items():
                if key in parts:
                    _put_box(parts, key, b, rt)
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


def _header(text: str) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line)
    return "".join(lines)


def render_yaml(text: str, posted: list[dict[str, Any]]) -> str:
    """The template file's text with the edited fields in place."""
    y = _yaml()
    if y is not None:
        data = y.load(text)
        data["fields"] = merge_fields(data["fields"], posted, rt=True)
        buf = io.StringIO()
        y.dump(data, buf)
        return buf.getvalue()
    data = yaml.safe_load(text)
    data["fields"] = merge_fields(data["fields"], posted, rt=False)
    return _header(text) + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=4096)


def _backup_path(path: Path) -> Path:
    stamp = clock.stamp()
    backup = path.with_name(f"{path.name}.bak-{stamp}")
    n = 2
    while backup.exists():
        backup = path.with_name(f"{path.name}.bak-{stamp}-{n}")
        n += 1
    return backup


def save_fields(form_id: str, posted: Any, base: str | None) -> tuple[Template, Path | None]:
    """Validate and write the edited fields; returns the new template and the backup of the old file
    (None when nothing changed and nothing was written)."""
    path = template_file(form_id)
    with _save_lock:
        text = path.read_text(encoding="utf-8")
        if base and hashlib.sha256(text.encode("utf-8")).hexdigest() != base:
            raise EditRefused(
                "この様式は画面を開いた後に別の人が保存しています。画面を開き直してからやり直してください",
                "someone saved this template after you opened it: reload and try again",
                status=409,
            )
        old = parse_template(text, str(path))
        problems = check_posted(posted, old)
        if problems:
            raise EditRefused(
                "テンプレートに誤りがあるため保存しませんでした：" + "／".join(ja for ja, _ in problems),
                "not saved, the template has errors: " + "; ".join(en for _, en in problems),
            )
        new_text = render_yaml(text, posted)
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
        if new_text == text:
            return tpl, None  # nothing changed: the file (and its comments) stay as they are
        backup = _backup_path(path)
        shutil.copy2(path, backup)
        tmp = path.with_name(f".{path.name}.saving")
        tmp.write_text(new_text, encoding="utf-8")
        os.replace(tmp, path)
        clear_cache()
    return tpl, backup
