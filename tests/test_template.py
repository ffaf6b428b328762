"""The template is the single source of truth: zones fit the page, print and reading agree."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from core.errors import TemplateError
from dejiru.cli import app
from formkit import idcode
from formkit.layout import layout, mark_centres
from formkit.registry import parse_template
from formkit.render import rasterize_pdf, render_pdf


def test_zones_are_on_the_page_and_do_not_overlap(tpl) -> None:
    lays = layout(tpl)
    for lay in lays:
        z = lay.zone
        assert z.x > 0 and z.x2 < tpl.page.width_mm and z.y > 0 and z.y2 < tpl.page.height_mm, lay.spec.name
    for i, a in enumerate(lays):
        for b in lays[i + 1 :]:
            assert not a.zone.overlaps(b.zone), (a.spec.name, b.spec.name)
            assert not a.zone.overlaps(b.label_box) and not b.zone.overlaps(a.label_box), (
                a.spec.name,
                b.spec.name,
            )


def test_every_field_type_the_issue_asks_for_is_there(tpl) -> None:
    types = {f.name: f.type for f in tpl.fields}
    assert types["request_date"] == "date" and types["birth_date"] == "date"
    assert types["visitor"] == "choice" and types["kana"] == "kana" and types["signature"] == "signature"
    assert tpl.field("scope").exclusive and not tpl.field("purpose").exclusive


def test_rendered_form_has_marks_and_id_strip_where_the_layout_says(tpl) -> None:
    k = 10.0
    img = rasterize_pdf(render_pdf(tpl), k, tpl.page.width_mm).mean(axis=2)
    for cx, cy in mark_centres(tpl):
        assert img[int(cy * k), int(cx * k)] < 60  # solid black mark centre
    from formkit.layout import id_cells

    bits = [1 if img[int((c.y + c.h / 2) * k), int((c.x + c.w / 2) * k)] < 128 else 0 for c in id_cells()]
    assert idcode.decode(bits) == (tpl.code, tpl.version)


def test_id_code_round_trip_and_rejects_damage() -> None:
    bits = idcode.encode(101, 1)
    assert idcode.decode(bits) == (101, 1)
    for i in range(len(bits)):
        damaged = list(bits)
        damaged[i] ^= 1
        assert idcode.decode(damaged) is None
    assert idcode.decode(bits[::-1]) != (101, 1)


def test_bad_template_names_the_problem() -> None:
    with pytest.raises(TemplateError) as err:
        parse_template(
            "id: x\nversion: 1\ncode: 5\ntitle: t\nfields:\n  - {name: a, label: A, type: count, box: [1,2,3,4]}\n"
        )
    assert "cells" in (err.value.detail or "")
    with pytest.raises(TemplateError) as err:  # only a date starts at today's (the counter's 請求日)
        parse_template(
            "id: x\nversion: 1\ncode: 5\ntitle: t\nfields:\n"
            "  - {name: a, label: A, type: text, box: [1,2,30,4], today: true}\n"
        )
    assert "today" in (err.value.detail or "")


def test_cli_show_and_render(tmp_path) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["template", "show", "juminhyo_request", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["page"] == {"width_mm": 210.0, "height_mm": 297.0}
    assert {f["name"] for f in data["fields"]} >= {
        "name",
        "kana",
        "birth_date",
        "visitor",
        "purpose",
        "signature",
    }
    assert all(len(f["box"]) == 4 for f in data["fields"])
    pdf = tmp_path / "form.pdf"
    res = runner.invoke(app, ["template", "render", "juminhyo_request", "--out", str(pdf)])
    assert res.exit_code == 0 and pdf.read_bytes().startswith(b"%PDF")
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    w, h = doc[0].get_size()
    assert abs(w - 595.3) < 1 and abs(h - 841.9) < 1  # A4 in points
    assert "住民票の写し等交付請求書" in doc[0].get_textpage().get_text_range()


def test_help_on_every_verb() -> None:
    runner = CliRunner()
    for verb in [
        [],
        ["run"],
        ["read"],
        ["ocr"],
        ["samples"],
        ["key"],
        ["template"],
        ["template", "render"],
        ["template", "show"],
        ["template", "list"],
        ["user", "add"],
        ["db", "upgrade"],
    ]:
        res = runner.invoke(app, [*verb, "--help"])
        assert res.exit_code == 0 and "Usage" in res.output, verb


def test_samples_cli_writes_scans_with_truth(tmp_path) -> None:
    res = CliRunner().invoke(
        app, ["samples", "--form", "juminhyo_request", "--count", "3", "--out", str(tmp_path), "--seed", "4"]
    )
    assert res.exit_code == 0, res.output
    exts = sorted(p.suffix for p in tmp_path.iterdir() if p.suffix != ".json")
    assert exts == [".jpg", ".pdf", ".png"]
    truths = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert all(t["form"] == "juminhyo_request" and t["fields"]["name"] for t in truths)
    assert all(np.isfinite(t["meta"]["dpi"]) for t in truths)


def test_flow_modules_do_not_shadow_packages() -> None:
    """Prefect puts flows/ on sys.path in workers: a flows/intake.py once hid the intake package."""
    from tests.conftest import REPO

    packages = {p.parent.name for p in REPO.glob("*/__init__.py")}
    assert not {p.stem for p in (REPO / "flows").glob("*.py")} & packages


def test_address_in_parts_comes_from_the_template(tpl) -> None:
    """様式 v2 asks for the address in parts: town, 丁目・番地・号 in comb cells, building. Printing,
    reading and writing all take the parts from the one layout, inside the field's box."""
    from authoring.lint import lint_template
    from formkit.layout import ADDRESS_BLOCKS, layout_field

    spec = tpl.field("address")
    assert tpl.version >= 2 and set(spec.part_boxes) == {"town", "block", "building"}
    assert tpl.postal_field("address") is tpl.field("postal_code")
    lay = layout_field(spec)
    for part, cells, _ in ADDRESS_BLOCKS:
        assert len(lay.parts[part]) == cells
    boxes = [b for cells in lay.parts.values() for b in cells] + [t.box for t in lay.texts]
    assert all(lay.zone.x <= b.x and b.x2 <= lay.zone.x2 + 0.01 for b in boxes)
    assert [t.text for t in lay.texts] == ["町名", "建物名・部屋", "丁目", "番地", "号"]
    assert [f for f in lint_template(tpl) if f.is_error] == []


def test_address_parts_are_checked(tpl) -> None:
    from authoring.lint import lint_template

    base = tpl.model_dump(mode="json")
    fields = [f for f in base["fields"] if f["name"] != "postal_code"]
    with pytest.raises(TemplateError) as err:
        parse_template(
            json.dumps(
                base
                | {
                    "fields": [
                        f | {"part_boxes": {"town": f["box"]}} if f["name"] == "address" else f
                        for f in base["fields"]
                    ]
                }
            )
        )
    assert "town, block and building" in (err.value.detail or "")
    no_postal = parse_template(json.dumps(base | {"fields": fields}))
    assert "address_parts_postal" in {f.code for f in lint_template(no_postal) if f.is_error}
