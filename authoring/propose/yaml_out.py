"""The proposal as ``template.yaml`` (kind: legacy), through the one YAML writer (formkit.yamlio) so that
any label OCR read (``:``, ``#``, quotes, a line break) is written so that it loads back as read."""

from __future__ import annotations

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
) -> str:
    """A ``template.yaml`` (kind: legacy) for the proposed fields, with a header saying what to check."""
    doc = yamlio.block_map({"id": form_id, "version": 1, "kind": "legacy", "master": master})
    doc["title"] = yamlio.quoted(title or form_id)
    if source:
        doc["source"] = yamlio.quoted(source)
    if abs(page_mm[0] - A4_MM[0]) > 1.0 or abs(page_mm[1] - A4_MM[1]) > 1.0:
        doc["page"] = yamlio.flow_map({"width_mm": round(page_mm[0], 1), "height_mm": round(page_mm[1], 1)})
    doc["fields"] = [_field(f) for f in fields]
    return yamlio.dump(doc, header=HEADER)
