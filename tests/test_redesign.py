"""様式の見直し: `dejiru template redesign` turns a legacy template into an OCR-friendly form with the same
fields, rules and target; the new form passes its checks, prints, and reads back what was written on it
while the legacy template still reads the old copies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from authoring.lint import lint_file
from authoring.redesign import redesign
from core.errors import TemplateError
from dejiru.cli import app
from form_templates import TEMPLATES_DIR
from formkit.registry import load_template
from formkit.render import rasterize_pdf

LEGACY = "hihokensha_shikaku_shutoku"


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "form_templates"
    shutil.copytree(TEMPLATES_DIR, folder, ignore=shutil.ignore_patterns("samples", "__pycache__"))
    monkeypatch.setenv("DEJIRU_TEMPLATES_DIR", str(folder))
    return folder


def test_redesign_keeps_fields_rules_and_target_and_reads_back(templates: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["template", "redesign", LEGACY])
    assert res.exit_code == 0, res.output
    path = templates / f"{LEGACY}_ocr" / "template.yaml"
    assert path.exists() and (path.parent / "form.pdf").read_bytes().startswith(b"%PDF")
    old, new = load_template(LEGACY), load_template(f"{LEGACY}_ocr")
    assert new.kind == "redesigned" and new.code is not None and not new.legacy
    assert all(t.code != new.code for t in (load_template(i) for i in ("juminhyo_request", "inkan_request")))
    copies = {f"{b}_{i}" for g in old.groups for b in g.fields for i in range(2, g.count + 1)}
    assert [(f.name, f.type, f.rules, f.required, f.sensitive) for f in new.fields] == [
        (f.name, f.type, f.rules, f.required, f.sensitive) for f in old.fields if f.name not in copies
    ]
    # Four insured persons do not fit one portrait sheet with the rest: one does, and the author is told.
    assert not new.groups and "4 組のうち 1 組" in res.output
    assert new.target == old.target
    assert new.field("individual_number").cells == 12  # a 個人番号 is written one digit a cell
    assert new.field("kana").cells and new.field("office_postal").cells == 7
    page = (new.page.width_mm, new.page.height_mm)
    boxes = [f.box for f in new.fields] + [f.label_box for f in new.fields if f.label_box is not None]
    assert all(b.x > 0 and b.x2 < page[0] and b.y > 0 and b.y2 < page[1] - 20 for b in boxes)
    field_boxes = [f.box for f in new.fields]
    assert not [(a, b) for i, a in enumerate(field_boxes) for b in field_boxes[i + 1 :] if a.overlaps(b)]
    _, findings = lint_file(path)
    assert not [f for f in findings if f.is_error], [(f.code, f.field, f.en) for f in findings]

    values = {
        "office_code_district": "12",
        "office_number": "34567",
        "office_postal": "207-0013",
        "kana": "ヤマダ　タロウ",
        "birth_date": "1980-05-06",
        "individual_number": "123456789018",
        "acquisition_type": old.field("acquisition_type").options[0].value,
        "card_needed": True,
    }
    data = tmp_path / "values.json"
    data.write_text(json.dumps({"form": new.id, "fields": values}, ensure_ascii=False), encoding="utf-8")
    pdf = tmp_path / "filled.pdf"
    res = CliRunner().invoke(app, ["template", "fill", new.id, "--data", str(data), "--out", str(pdf)])
    assert res.exit_code == 0, res.output
    from ocr.reader import read_page

    img = rasterize_pdf(pdf.read_bytes(), 250 / 25.4, new.page.width_mm)
    reading, _ = read_page(img)  # found by its form-ID strip, among all installed templates
    assert reading.form == new.id
    for name, value in values.items():
        assert reading.fields[name].value == value, name


def test_only_a_legacy_template_is_redesigned_and_a_taken_code_is_refused(templates: Path) -> None:
    with pytest.raises(TemplateError) as err:
        redesign(load_template("juminhyo_request"), "again", 999)  # already redesigned
    assert "kind: legacy" in err.value.ja
    taken = load_template("juminhyo_request").code
    res = CliRunner().invoke(app, ["template", "redesign", LEGACY, "--code", str(taken)])
    assert res.exit_code == 2 and "使われています" in res.output
    assert CliRunner().invoke(app, ["template", "redesign", LEGACY]).exit_code == 0
    again = CliRunner().invoke(app, ["template", "redesign", LEGACY])
    assert again.exit_code == 2  # an author's edits are not overwritten


def test_repeated_blocks_that_fit_stay_a_group() -> None:
    legacy = load_template(LEGACY)
    person = legacy.groups[0]
    small = legacy.model_copy(
        update={
            "fields": [f for f in legacy.fields if f.name in ("submitted_on", "kana", "name")],
            "groups": [person.model_copy(update={"fields": ["kana", "name"]})],
        }
    )
    new, notes = redesign(small, "two_people", 999)
    assert notes == [] and new.groups[0].count == 4
    assert [f.name for f in new.fields] == [
        "submitted_on",
        "kana",
        "name",
        "kana_2",
        "name_2",
        "kana_3",
        "name_3",
        "kana_4",
        "name_4",
    ]
    step = new.groups[0].step[1]
    assert new.field("name_2").box.y == new.field("name").box.y + step and step > new.field("name").box.h
    from authoring.redesign import to_yaml
    from formkit.registry import parse_template

    text = to_yaml(new)
    assert "kana_2" not in text and "groups:" in text  # the copies come from the group on loading
    assert [f.name for f in parse_template(text).fields] == [f.name for f in new.fields]
