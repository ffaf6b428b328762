"""The proposal as ``template.yaml`` (kind: legacy), through the one YAML writer (formkit.yamlio) so that
any label OCR read (``:``, ``#``, quotes, a line break) is written so that it loads back as read."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from authoring.propose.blank import A4_MM
from authoring.propose.model import Proposed
from formkit import yamlio
from formkit.model import Box

HEADER = """\
# 自動で作った下書きです。必ず見直してください / A draft proposed by `dejiru template new`: edit it.
# - 項目名 (name) は英小文字で、業務に合う名前に / rename fields (lower-case ASCII) to what they hold
# - 種類 (type) と枠 (box: [x, y, 幅, 高さ] mm, 用紙の左上から) を原本と見比べて直す /
#   check each type and box (mm from the page's top-left) against the master
# - 不要な項目は消し、必須 (required: true) や確認ルール (rules) を足す /
#   delete fields nobody writes in, add required: true and rules
# - 確認: dejiru template show ID、dejiru samples --form ID、dejiru read SCAN --overlay out.png"""


def _box(box: Box) -> Any:
    """A box as a YAML list, 0.1 mm inside the detected one: boxes that touch (a row of cells, bands of
    one cell) stay apart after rounding."""
    b = box.inset(0.1)
    return yamlio.flow_list(round(v, 1) for v in (b.x, b.y, b.w, b.h))


def _field(f: Proposed) -> Any:
    m = yamlio.block_map({"name": f.name, "label": yamlio.quoted(f.label), "type": f.type.value})
    m["box"] = _box(f.box)
    if f.note:
        m.yaml_set_comment_before_after_key("box", before=f.note, indent=4)
    if f.cells:
        m["cells"] = f.cells
    if f.lines:
        m["lines"] = f.lines
    if f.pieces:
        m["pieces"] = [_box(b) for b in f.pieces]
        m["joiner"] = "-"
    if f.eras:
        m["eras"] = yamlio.flow_list(f.eras)
    if f.part_boxes:
        m["part_boxes"] = yamlio.block_map({k: _box(v) for k, v in f.part_boxes.items()})
    if f.options:
        m["options"] = [
            yamlio.flow_map(
                {"value": yamlio.quoted(o.value), "label": yamlio.quoted(o.label), "box": _box(o.box)}
            )
            for o in f.options
        ]
    return m


def to_yaml(
    form_id: str,
    title: str,
    master: str,
    fields: list[Proposed],
    *,
    source: str = "",
    page_mm: tuple[float, float] = A4_MM,
    continues: str | None = None,
) -> str:
    """A ``template.yaml`` (kind: legacy) for the proposed fields, with a header saying what to check.
    ``continues``: the form of the page before (a further page of an application)."""
    doc = yamlio.block_map({"id": form_id, "version": 1, "kind": "legacy", "master": master})
    doc["title"] = yamlio.quoted(title or form_id)
    if source:
        doc["source"] = yamlio.quoted(source)
    if continues:
        doc["continues"] = continues
    if abs(page_mm[0] - A4_MM[0]) > 1.0 or abs(page_mm[1] - A4_MM[1]) > 1.0:
        doc["page"] = yamlio.flow_map({"width_mm": round(page_mm[0], 1), "height_mm": round(page_mm[1], 1)})
    first, groups = repeated_blocks(fields)
    doc["fields"] = [_field(f) for f in first]
    if groups:
        doc["groups"] = [
            yamlio.block_map(
                {
                    "name": f"block_{i}",
                    "label": yamlio.quoted(f"{i}組目" if len(groups) > 1 else "組"),
                    "fields": yamlio.flow_list(g.fields),
                    "count": g.count,
                    "step": yamlio.flow_list([round(g.step[0], 2), round(g.step[1], 2)]),
                }
            )
            for i, g in enumerate(groups, start=1)
        ]
    return yamlio.dump(doc, header=HEADER)


@dataclass(frozen=True)
class Block:
    """Fields the form prints several times, one under another: the first block's field names, how
    many blocks, and the step (mm) from one to the next."""

    fields: list[str]
    count: int
    step: tuple[float, float]


#: A copy lies where the first block's field moved by the step puts it, to this much (mm).
BLOCK_TOL_MM = 1.0


def repeated_blocks(fields: list[Proposed]) -> tuple[list[Proposed], list[Block]]:
    """The proposal with repeated blocks folded (資格取得届's four insured persons: the first block's
    fields and a group, instead of four sets of fields named name, name_01, ...). A block repeats
    when at least three of its fields recur with the same label, type and size, each copy (its
    options, parts and pieces too) where the first moved by one common step puts it; a field that does
    not recur at every step stays as it is."""
    by_key: dict[tuple[str, str, int, int], list[Proposed]] = {}
    for f in fields:
        by_key.setdefault((f.label, f.type.value, round(f.box.w), round(f.box.h)), []).append(f)
    runs = [sorted(same, key=lambda f: (f.box.y, f.box.x)) for same in by_key.values() if len(same) >= 2]
    steps: dict[tuple[int, float], list[float]] = {}
    for same in runs:
        step = (same[-1].box.y - same[0].box.y) / (len(same) - 1)
        if step > 0 and _same_shape(same, step):
            steps.setdefault((len(same), round(step)), []).append(step)
    if not steps:
        return fields, []
    (count, _), found = max(steps.items(), key=lambda kv: len(kv[1]))
    step = sorted(found)[len(found) // 2]
    members = [same for same in runs if len(same) == count and _same_shape(same, step)]
    if len(members) < 3:
        return fields, []
    copies = {id(f) for same in members for f in same[1:]}
    first = [f for f in fields if id(f) not in copies]
    return first, [Block([same[0].name for same in members], count, (0.0, step))]


def _same_shape(same: list[Proposed], step: float) -> bool:
    """Options, part boxes and pieces of each copy lie where the first's moved by the step put them."""
    first = same[0]

    def boxes(f: Proposed) -> list[Box]:
        return [f.box, *(o.box for o in f.options), *f.part_boxes.values(), *f.pieces]

    for i, f in enumerate(same):
        a, b = boxes(first), boxes(f)
        if len(a) != len(b):
            return False
        if any(
            abs(q.x - p.x) > BLOCK_TOL_MM or abs(q.y - p.y - i * step) > BLOCK_TOL_MM
            for p, q in zip(a, b, strict=True)
        ):
            return False
    return True


def renamed(fields: list[Proposed], taken: set[str], suffix: str) -> list[Proposed]:
    """A further page's fields with the names its application's other pages already use given
    ``suffix`` (one document holds every page's fields, so a name is used once)."""
    names = set(taken)
    out = []
    for f in fields:
        name = f.name
        while name in names:
            name = f"{name}{suffix}" if not name.endswith(suffix) else f"{name}_2"
        names.add(name)
        out.append(replace(f, name=name) if name != f.name else f)
    return out
