"""A legacy form's zone drawn over the form's own printed text (issue 15).

The reader removes the blank form's print from every zone, so a box drawn over a label reads as
empty, at 0.99, and went straight through. Now `dejiru template check` warns of such a box and the
reader never trusts what it reads there. The form is the real 健康診断個人票 master (printed labels
in ruled cells), installed in a folder of its own with four fields: one on blank paper, one drawn on
the printed label 「体重(kg)」 beside its cell, one whose box lies on its cell's ruled lines, and a
choice whose 男 option box is drawn on the printed word only, leaving no blank for a circle.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from authoring.lint import has_errors, lint_file
from dejiru.cli import app
from form_templates import TEMPLATES_DIR
from formkit.registry import load_template
from formkit.render import master_image
from ocr.fields import EMPTY_CONFIDENCE, PRINT_SHARE_LIMIT
from ocr.reader import covers, read_page
from synth.samples import make_sample
from validation.routing import threshold_for, validate

FORM = "print_cover_check"
TEMPLATE = {
    "id": FORM,
    "version": 1,
    "kind": "legacy",
    "master": "master.pdf",
    "title": "健康診断個人票（枠の点検用）",
    "fields": [
        # The write-in cell right of 「身長(cm)」: blank paper.
        {
            "name": "height_cm",
            "label": "身長(cm)",
            "type": "number",
            "example_range": [150, 190, 1],
            "box": [48.7, 104.2, 52.0, 5.2],
        },
        # Drawn on the label cell 「体 重 (kg)」 instead of the blank cell right of it.
        {
            "name": "weight_kg",
            "label": "体重(kg)",
            "type": "number",
            "example_range": [45, 95, 1],
            "box": [15.5, 110.0, 32.8, 5.2],
        },
        # The cell right of 「腹囲(cm)」 with 1.2 mm more on every side: its edges lie on the ruled lines.
        {
            "name": "waist_cm",
            "label": "腹囲(cm)",
            "type": "number",
            "example_range": [62, 105, 1],
            "box": [47.5, 120.4, 54.4, 7.6],
        },
        {
            "name": "sex",
            "label": "性別",
            "type": "choice",
            "box": [98.7, 31.5, 36.4, 5.3],
            "options": [
                {"value": "male", "label": "男", "box": [105.9, 32.7, 2.5, 2.7]},  # the glyph 男 only
                {"value": "female", "label": "女", "box": [122.0, 31.6, 8.5, 5.1]},
            ],
        },
    ],
}
COVERING = {"weight_kg", "sex"}


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The template installed in a templates folder of its own, with the real master beside it."""
    folder = tmp_path / "templates" / FORM
    folder.mkdir(parents=True)
    shutil.copy(TEMPLATES_DIR / "health_check_hiring" / "master.pdf", folder / "master.pdf")
    (folder / "template.yaml").write_text(yaml.safe_dump(TEMPLATE, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("DEJIRU_TEMPLATES_DIR", str(folder.parent))
    return folder / "template.yaml"


def test_template_check_warns_of_the_zones_on_print_only(installed: Path) -> None:
    tpl, found = lint_file(installed)
    assert tpl is not None and not has_errors(found), found
    on_print = {f.field: f for f in found if f.code == "zone_on_print"}
    assert set(on_print) == COVERING, found  # not the blank cell, not the box on its cell's lines
    label = on_print["weight_kg"]
    assert label.level == "warning" and label.detail is not None and "[15.5, 110.0" in label.detail
    # How much is print, and what to do, in Japanese first and English second.
    assert "印刷された文字" in label.ja and "空白の部分へ移すか、小さく" in label.ja
    assert "printed text" in label.en and "Move or shrink the box" in label.en
    share = re.match(r"(\d+)% of the box of field weight_kg \(box\)", label.en)
    assert share is not None and PRINT_SHARE_LIMIT * 100 <= int(share.group(1)) <= 100, label.en
    assert f"{share.group(1)}%が用紙に印刷された文字" in label.ja
    assert "options[male]" in on_print["sex"].ja and "circle or tick" in on_print["sex"].en
    res = CliRunner().invoke(app, ["template", "check", str(installed)])
    assert res.exit_code == 0, res.output  # warnings stop nothing
    out = res.output
    assert "警告 [zone_on_print] 項目 weight_kg" in out and "warning: " in out
    assert out.index("項目 weight_kg の枠") < out.index("of the box of field weight_kg")


def test_reading_a_zone_on_print_is_never_confident(installed: Path) -> None:
    tpl = load_template(FORM)
    assert set(covers(tpl)) == COVERING
    # The blank form itself, as a 200 dpi scan: every field is empty.
    blank = master_image(tpl, 200 / 25.4).copy()
    reading, aligned = read_page(blank, templates=[tpl])
    assert aligned.template.id == FORM
    for name in COVERING:
        f = reading.fields[name]
        assert f.confidence < threshold_for(tpl, name) and f.confidence == 0.0, f
        reason = next(r for r in f.reasons if r.code == "zone_on_print")
        assert "印刷" in reason.ja and "print" in reason.en and "確認" in reason.ja, reason
    for name in ("height_cm", "waist_cm"):  # as before: empty, sure of it, nothing to say
        f = reading.fields[name]
        assert (f.value, f.confidence, f.reasons) == (None, EMPTY_CONFIDENCE, []), f
    decision = validate(tpl, reading)
    assert not decision.straight_through and set(decision.review_fields) == COVERING

    # A filled page: the value on blank paper reads and passes; the one over the label never passes.
    img, truth = make_sample(tpl, 7, font="ipag", profile="office", dpi=200)
    reading, _ = read_page(img, templates=[tpl])
    decision = validate(tpl, reading)
    height = reading.fields["height_cm"]
    assert height.value == truth["fields"]["height_cm"] and not height.needs_review, height
    assert "zone_on_print" not in {r.code for r in reading.fields["waist_cm"].reasons}
    for name in COVERING:
        f = reading.fields[name]
        assert f.needs_review and f.confidence == 0.0, f
        assert "zone_on_print" in {r.code for r in f.reasons}
    assert not decision.straight_through
