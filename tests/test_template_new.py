"""Authoring legacy templates: `dejiru template new` proposes one from a blank form, and the second real
legacy form (被保険者資格取得届) loads, lints, and reads its own generated scans."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from authoring import propose
from formkit.model import Box, FieldType, Template
from formkit.registry import load_template, parse_template
from formkit.render import rasterize_pdf, render_pdf

NEW_FORM = "hihokensha_shikaku_shutoku"
K = 8.0  # px/mm of the synthetic pages


def covered(tpl: Template, fields: list[propose.Proposed]) -> dict[str, propose.Proposed]:
    """Hand-authored field name → the proposed field over it (IoU ≥ 0.5).

    An address asked for in parts (``part_boxes``: town, 丁目・番地・号 cells, building) is proposed
    as its parts — the town line as the address, the cells and the building line as fields of their
    own — so it counts as covered where the proposal lies over its town line; the proposer does not
    yet put the parts back together into one address field."""
    out = {}
    for spec in tpl.fields:
        box = spec.part_boxes.get("town", spec.box) if spec.part_boxes else spec.box
        best = max(fields, key=lambda f: propose.iou(box, f.box))
        if propose.iou(box, best.box) >= 0.5:
            out[spec.name] = best
    return out


# --- detection, without OCR -------------------------------------------------------------------------------


def _page(draw: list[tuple[float, float, float, float]], dotted: list[float] | None = None) -> np.ndarray:
    img = np.full((int(120 * K), int(200 * K)), 255, np.uint8)
    for x, y, w, h in draw:
        cv2.rectangle(img, (round(x * K), round(y * K)), (round((x + w) * K), round((y + h) * K)), 0, 2)
    for x in dotted or []:
        for y in np.arange(20, 30, 1.0):  # a dotted divider: dots, not a ruled line
            cv2.line(img, (round(x * K), round(y * K)), (round(x * K), round((y + 0.4) * K)), 0, 1)
    return img


def test_ruled_cells_are_found_in_mm_and_dotted_lines_are_not_walls() -> None:
    img = _page([(10, 20, 30, 10), (40, 20, 60, 10)], dotted=[70])
    cells = propose.ruled_cells(img, K)
    assert len(cells) == 2
    a, b = sorted(cells, key=lambda c: c.x)
    assert abs(a.x - 10) < 0.6 and abs(a.w - 30) < 1.0 and abs(a.h - 10) < 1.0
    assert abs(b.x - 40) < 0.6 and abs(b.w - 60) < 1.0  # the dotted line at 70 does not split it


def test_label_words_give_types_and_names() -> None:
    cases = {
        "氏名": FieldType.NAME,
        "氏名（フリガナ）": FieldType.KANA,
        "生年月日": FieldType.DATE,
        "郵便番号": FieldType.POSTAL,
        "電話番号": FieldType.PHONE,
        "事業所所在地": FieldType.ADDRESS,
        "報酬月額": FieldType.AMOUNT,
        "被保険者整理番号": FieldType.DIGITS,
        "性別": FieldType.CHOICE,
        "備考": FieldType.TEXT,
    }
    for label, ftype in cases.items():
        assert propose.guess_type(label) is ftype, label
    taken: set[str] = set()
    assert [propose.guess_name(w, taken) for w in ("氏名", "氏名", "備考", "？")] == [
        "name",
        "name_01",
        "remarks",
        "field_01",
    ]


def test_a_drawn_form_is_proposed_from_its_cells_and_labels() -> None:
    """Label cells on the left; a blank cell, a comb of 5 cells, 「　年　月　日」 and 男・女 on the right."""
    rows = [
        (10, 20, 30, 10),  # 氏名
        (40, 20, 100, 10),
        (10, 30, 30, 10),  # 番号: five comb cells
        *((40 + 8 * i, 30, 8, 10) for i in range(5)),
        (10, 40, 30, 8),  # 生年月日: one cell with the units printed in it
        (40, 40, 60, 8),
        (10, 48, 30, 8),  # 性別
        (40, 48, 60, 8),
    ]
    texts = [
        propose.Text("氏名", Box(x=14, y=23, w=8, h=4)),
        propose.Text("事業所番号", Box(x=14, y=33, w=18, h=4)),
        propose.Text("生年月日", Box(x=14, y=42, w=16, h=4)),
        propose.Text("年", Box(x=60, y=42, w=3.5, h=4)),
        propose.Text("月", Box(x=75, y=42, w=3.5, h=4)),
        propose.Text("日", Box(x=90, y=42, w=3.5, h=4)),
        propose.Text("性別", Box(x=14, y=50, w=8, h=4)),
        propose.Text("男・女", Box(x=55, y=50, w=14, h=4)),
    ]
    fields = {f.name: f for f in propose.propose(_page(rows), K, texts)}
    assert fields["name"].type == FieldType.NAME and abs(fields["name"].box.w - 100) < 1.5
    number = fields["number"]
    assert number.type == FieldType.DIGITS and number.cells == 5
    birth = fields["birth_date"]
    assert birth.type == FieldType.DATE and set(birth.part_boxes) == {"year", "month", "day"}
    assert birth.part_boxes["year"].x2 <= 60.5 and birth.part_boxes["month"].x >= 63
    sex = fields["sex"]
    assert sex.type == FieldType.CHOICE and [o.label for o in sex.options] == ["男", "女"]
    tpl = parse_template(propose.to_yaml("drawn", "試験", "master.png", list(fields.values())))
    assert tpl.legacy and [f.name for f in tpl.fields] == list(fields)


# --- real blanks, real OCR --------------------------------------------------------------------------------


@cache
def _proposal_of_rendered(form: str) -> tuple[Template, list[propose.Proposed]]:
    tpl = load_template(form)
    img = rasterize_pdf(render_pdf(tpl), propose.BLANK_PX_PER_MM, tpl.page.width_mm)
    texts = propose.read_texts(img, propose.BLANK_PX_PER_MM)
    return tpl, propose.propose(propose.to_gray(img), propose.BLANK_PX_PER_MM, texts)


def test_new_on_a_rendered_blank_covers_the_hand_made_template() -> None:
    tpl, fields = _proposal_of_rendered("juminhyo_request")
    found = covered(tpl, fields)
    assert len(found) >= 0.7 * len(tpl.fields), sorted(set(tpl.field(n).name for n in found))
    assert found["name"].type == FieldType.NAME
    assert found["kana"].type == FieldType.KANA and found["kana"].cells == 16
    assert found["address"].type == FieldType.ADDRESS
    assert found["phone"].type == FieldType.PHONE
    assert found["birth_date"].type == FieldType.DATE
    assert found["postal_code"].type == FieldType.POSTAL and found["postal_code"].cells == 7


def test_new_command_on_a_real_legacy_master(tmp_path: Path) -> None:
    from dejiru.cli import app
    from formkit.registry import master_path

    legacy = load_template("health_check_hiring")
    out = tmp_path / "draft" / "template.yaml"
    result = CliRunner().invoke(
        app, ["template", "new", "draft_health", "--from", str(master_path(legacy)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# 自動で作った下書きです")
    tpl = parse_template(text)
    assert tpl.kind == "legacy" and tpl.master == "master.pdf" and (out.parent / "master.pdf").exists()
    assert tpl.title == "健康診断個人票(雇入時)"
    proposed = [
        propose.Proposed(
            f.name,
            f.label,
            f.type,
            f.box,
            options=[propose.Option(o.value, o.label, o.box) for o in f.options],
        )
        for f in tpl.fields
    ]
    found = covered(legacy, proposed)
    assert len(found) >= 0.6 * len(legacy.fields), sorted(found)
    assert found["name"].type == FieldType.NAME
    assert found["birth_date"].type == FieldType.DATE and found["exam_date"].type == FieldType.DATE
    assert found["sex"].type == FieldType.CHOICE and [o.label for o in found["sex"].options] == ["男", "女"]
    assert found["height_cm"].type == FieldType.NUMBER
    if importlib.util.find_spec("authoring.lint") is not None:  # the draft passes the template checks
        from authoring.lint import lint_file

        _, findings = lint_file(out)
        assert not [f for f in findings if f.is_error], [(f.code, f.field) for f in findings]
    # A second run does not overwrite the author's edits.
    again = CliRunner().invoke(
        app, ["template", "new", "draft_health", "--from", str(master_path(legacy)), "--out", str(out)]
    )
    assert again.exit_code == 2


# --- the real template -----------------------------------------------------------------------------------


def test_new_real_template_loads_and_lints() -> None:
    tpl = load_template(NEW_FORM)
    assert tpl.legacy and tpl.field("individual_number").sensitive
    if importlib.util.find_spec("authoring.lint") is None:
        pytest.skip("no template linter in this tree")
    from authoring.lint import lint_template

    errors = [f for f in lint_template(tpl) if f.is_error]
    assert not errors, [(f.code, f.field, f.en) for f in errors]


def test_new_real_template_reads_its_scans() -> None:
    """Filled scans (printed fonts, 300 and 200 dpi) read with ≥ 90% of fields exact, and every value
    read right passes the form's checks (個人番号 check digit, dates, required fields)."""
    from ocr.reader import read_page
    from synth.samples import make_sample
    from validation.routing import check_values, validate

    tpl = load_template(NEW_FORM)
    right = total = 0
    misses = []
    for seed, font, dpi in [(71, "ipag", 300), (72, "ipam", 200), (73, "ipag", 200), (74, "ipam", 300)]:
        img, truth = make_sample(tpl, seed, font=font, profile="office", dpi=dpi)
        reading, aligned = read_page(img)
        assert reading.form == NEW_FORM and aligned.print_match > 0.85
        validate(tpl, reading)
        assert not any(check_values(tpl, truth["fields"]).values())  # the truth itself is valid
        exact = {n: v for n, v in truth["fields"].items() if reading.fields[n].value == v}
        right += len(exact)
        total += len(truth["fields"])
        misses += [(seed, n) for n in truth["fields"] if n not in exact]
        found = check_values(tpl, {n: f.value for n, f in reading.fields.items()})
        assert not any(found[n] for n in exact), {n: found[n] for n in exact if found[n]}
    assert right / total >= 0.9, misses
