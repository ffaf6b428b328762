"""The authoring kit for DX leaders: ``dejiru template check / render --example / fill / try``."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from authoring.lint import Finding, has_errors, lint_file, lint_template
from core.errors import FieldInvalid
from dejiru.cli import app
from formkit.model import Template
from formkit.registry import load_template, template_ids, template_path
from formkit.render import rasterize_pdf, render_pdf
from synth.fill import parse_values

BASE: dict[str, Any] = {
    "id": "lint_demo",
    "version": 1,
    "code": 9001,
    "title": "点検用の様式",
    "instructions": "黒のボールペンで書いてください。",
    "fields": [
        {
            "name": "request_date",
            "label": "請求日",
            "type": "date",
            "eras": ["令和"],
            "box": [126, 40, 69, 9],
            "label_box": [104, 40, 21, 9],
            "rules": ["not_future"],
            "required": True,
        },
        {
            "name": "birth_date",
            "label": "生年月日",
            "type": "date",
            "eras": ["昭和", "平成", "令和"],
            "box": [51, 60, 144, 9],
            "rules": ["before:request_date"],
            "required": True,
        },
        {
            "name": "visitor",
            "label": "来た人",
            "type": "choice",
            "options": [{"value": "self", "label": "本人"}, {"value": "agent", "label": "代理人"}],
            "box": [51, 75, 144, 9],
            "required": True,
        },
        {
            "name": "agent_name",
            "label": "代理人氏名",
            "type": "name",
            "box": [51, 90, 144, 10],
            "rules": ["required_if:visitor=agent"],
        },
        {
            "name": "copies",
            "label": "部数",
            "type": "count",
            "cells": 2,
            "unit": "通",
            "box": [51, 105, 29, 9],
            "rules": ["range:1-10"],
        },
    ],
}


def lint(change: Any = None, folder: Path | None = None, **top: Any) -> list[Finding]:
    data = copy.deepcopy(BASE) | top
    if change is not None:
        change({f["name"]: f for f in data["fields"]})
    return lint_template(Template.model_validate(data), folder=folder, others=[])


def codes(findings: list[Finding], level: str = "error") -> set[str]:
    return {f.code for f in findings if f.level == level}


def test_a_sound_template_has_no_errors() -> None:
    found = lint()
    assert not has_errors(found), found
    assert codes(found, "warning") == {"no_target"}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda f: f["agent_name"].update(box=[51, 65, 144, 10]), "overlap"),
        (lambda f: f["copies"].update(box=[200, 105, 29, 9]), "off_page"),
        (lambda f: f["agent_name"].update(box=[5, 283, 100, 8], label_box=[40, 270, 10, 8]), "reserved"),
        (lambda f: f["birth_date"].update(box=[51, 60, 40, 9]), "too_small"),
        (lambda f: f["agent_name"].update(label_box=[40, 60, 30, 10]), "label_overlap"),
        (lambda f: f["copies"].update(rules=["range:1-10", "between:1-3"]), "unknown_rule"),
        (lambda f: f["copies"].update(rules=["range:ten-1"]), "bad_rule_argument"),
        (lambda f: f["copies"].update(rules=["range:10-1"]), "bad_rule_argument"),
        (lambda f: f["copies"].update(rules=["decimals"]), "bad_rule_argument"),
        (lambda f: f["request_date"].update(rules=["not_future:yes"]), "bad_rule_argument"),
        (lambda f: f["birth_date"].update(rules=["before:exam_date"]), "unknown_field_ref"),
        (lambda f: f["birth_date"].update(rules=["before:birth_date"]), "self_reference"),
        (lambda f: f["birth_date"].update(rules=["before:agent_name"]), "rule_ref_type"),
        (lambda f: f["agent_name"].update(rules=["required_if:visitor=proxy"]), "rule_ref_value"),
        (lambda f: f["agent_name"].update(rules=["required_if:vistor=agent"]), "unknown_field_ref"),
        (lambda f: f["birth_date"].update(rules=["decimals:1"]), "rule_type"),
        (lambda f: f["visitor"]["options"].append({"value": "self", "label": "本人2"}), "duplicate_option"),
        (lambda f: f["birth_date"].update(eras=["昭和", "平正"]), "unknown_era"),
    ],
)
def test_broken_templates_are_errors(change: Any, code: str) -> None:
    found = lint(change)
    assert code in codes(found), found
    bad = next(f for f in found if f.code == code)
    assert bad.ja and bad.en and bad.ja != bad.en  # Japanese first, English alongside


def test_zero_or_negative_size_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    for field_box, static_box in (([51, 105, 0, 9], [15, 52, 180, 6]), ([51, 105, 29, 9], [15, 52, 180, -6])):
        data = copy.deepcopy(BASE) | {"static": [{"text": "見出し", "box": static_box}]}
        data["fields"][4]["box"] = field_box
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        _, found = lint_file(path, others=[])
        assert has_errors(found), found


def test_warnings_do_not_fail() -> None:
    found = lint(lambda f: f["copies"].update(box=[2.5, 105, 29, 9], label_box=[1, 95, 1, 5]))
    assert "unprintable" in codes(found, "warning") and not has_errors(found), found
    found = lint(lambda f: f["copies"].update(rules=["range:1-10", "range:1-10"]))
    assert "duplicate_rule" in codes(found, "warning")


def test_form_code_must_be_unique() -> None:
    other = Template.model_validate(BASE | {"id": "another_form"})
    found = lint_template(Template.model_validate(BASE), others=[other])
    assert "duplicate_code" in codes(found)


def test_legacy_option_boxes_and_master(tmp_path: Path) -> None:
    def change(f: dict[str, Any]) -> None:
        f["visitor"]["options"] = [
            {"value": "self", "label": "本人", "box": [60, 75, 20, 9]},
            {"value": "agent", "label": "代理人", "box": [75, 75, 20, 9]},
        ]

    legacy = {"kind": "legacy", "code": None, "master": "master.png"}
    found = lint(change, folder=tmp_path, **legacy)
    assert {"option_overlap", "master_missing"} <= codes(found), found
    (tmp_path / "master.png").write_bytes(b"not checked here")
    assert "master_missing" not in codes(lint(change, folder=tmp_path, **legacy))


def _mapping(folder: Path, system: str, forms: dict[str, Any]) -> None:
    folder.mkdir(exist_ok=True)
    data = {
        "system": system,
        "title": "テスト用システム",
        "base_url": "http://127.0.0.1:1",
        "login": {"goto": "/login", "steps": [{"click": "#go"}], "success_url_contains": "/main"},
        "session_expired": "#timeout",
        "forms": forms,
    }
    (folder / f"{system}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_target_system_and_its_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEJIRU_MAPPINGS_DIR", str(tmp_path / "maps"))
    missing = f"nowhere_{uuid.uuid4().hex[:8]}"
    assert "no_mapping" in codes(lint(target=missing))

    no_form = f"noform_{uuid.uuid4().hex[:8]}"
    _mapping(tmp_path / "maps", no_form, {})
    found = lint(target=no_form)
    assert "no_form_mapping" in codes(found, "warning") and not has_errors(found), found

    partial = f"partial_{uuid.uuid4().hex[:8]}"
    steps = [
        {"fill": "#ref", "value": "{reference}"},
        {"fill": "#b", "value": "{birth_date|era_year}"},
        {"fill": "#n", "value": "{agent_nmae}"},
        {"select": "#v", "value": "{visitor|katakana}"},
        {"click": "#save", "submit": True},
    ]
    form = {
        "search": {"goto": "/s?ref={reference}", "found": "#r", "not_found": "#nf"},
        "create": {"goto": "/new", "steps": steps, "success": "#ok", "rejected": "#err"},
    }
    _mapping(tmp_path / "maps", partial, {"lint_demo": form})
    found = lint(target=partial)
    assert {"mapping_unknown_field", "mapping_unknown_filter"} <= codes(found), found
    unmapped = {f.field for f in found if f.code == "unmapped_required"}
    assert unmapped == {"request_date"}  # birth_date and visitor are keyed


def test_shipped_templates_lint_clean() -> None:
    for form_id in template_ids():
        tpl, found = lint_file(template_path(form_id))
        assert tpl is not None and not has_errors(found), (form_id, found)
        assert "zone_on_print" not in codes(found, "warning"), (form_id, found)  # legacy zones on blank paper
    res = CliRunner().invoke(app, ["template", "check"])
    assert res.exit_code == 0, res.output
    assert "juminhyo_request: OK" in res.output


def test_check_cli_on_a_broken_file(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["fields"][3]["box"] = [51, 65, 144, 10]
    data["fields"][4]["rules"] = ["rnage:1-10"]
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    res = CliRunner().invoke(app, ["template", "check", str(path)])
    assert res.exit_code == 1, res.output
    out = res.output
    assert "エラー [overlap]" in out and "error: the boxes of fields birth_date and agent_name overlap" in out
    assert out.index("枠が重なっています") < out.index("error: the boxes")
    assert "rnage" in out
    res = CliRunner().invoke(app, ["template", "check", str(tmp_path), "--json"])
    assert res.exit_code == 1 and {f["code"] for f in json.loads(res.output)[str(tmp_path)]} >= {
        "overlap",
        "unknown_rule",
    }
    path.write_text("id: [unclosed\n", encoding="utf-8")
    _, found = lint_file(path)
    assert codes(found) == {"invalid"}


def test_default_instruction_line_is_printed() -> None:
    tpl = Template.model_validate({k: v for k, v in BASE.items() if k != "instructions"})
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(render_pdf(tpl))
    assert "黒または青のボールペンで枠の中に書いてください" in doc[0].get_textpage().get_text_range()


def test_example_sheet(tmp_path: Path, tpl: Template) -> None:
    out = tmp_path / "example.pdf"
    res = CliRunner().invoke(app, ["template", "render", tpl.id, "--example", "--out", str(out)])
    assert res.exit_code == 0, res.output
    import pypdfium2 as pdfium

    text = pdfium.PdfDocument(str(out))[0].get_textpage().get_text_range()
    assert "記入例" in text and tpl.title in text
    img = rasterize_pdf(out.read_bytes(), 4, tpl.page.width_mm).astype(int)
    red = (img[..., 0] > 150) & (img[..., 1] < 90) & (img[..., 2] < 90)
    assert red[60:125, 65:210].sum() > 200  # the red stamp, left of the title
    blank = rasterize_pdf(render_pdf(tpl), 4, tpl.page.width_mm).astype(int)
    assert (np.abs(img - blank).sum(axis=2) > 200).sum() > 5000  # and written in
    from synth.samples import example_pdf

    today = dt.date(2025, 6, 2)
    again = [rasterize_pdf(example_pdf(tpl, today=today), 2, tpl.page.width_mm) for _ in range(2)]
    assert np.array_equal(*again)  # the same applicant every time


def test_fill_prints_values_the_reader_reads_back(tmp_path: Path, tpl: Template) -> None:
    from ocr.reader import read_page

    values = {
        "request_date": "2025-04-01",
        "kana": "ヤマダ　タロウ",
        "name": "山田　太郎",
        "birth_date": "1980-05-06",
        "postal_code": "207-0013",
        "phone": "042-563-2111",
        "visitor": "self",
        "copies": 2,
        "scope": "all",
        "purpose": ["employment", "other"],
        "purpose_other": "ビザ申請",
        "signature": True,
    }
    data = tmp_path / "values.json"
    data.write_text(json.dumps({"form": tpl.id, "fields": values}, ensure_ascii=False), encoding="utf-8")
    pdf = tmp_path / "filled.pdf"
    res = CliRunner().invoke(app, ["template", "fill", tpl.id, "--data", str(data), "--out", str(pdf)])
    assert res.exit_code == 0, res.output
    assert "署名欄は空けてあります" in res.output
    img = rasterize_pdf(pdf.read_bytes(), 250 / 25.4, tpl.page.width_mm)
    reading, _ = read_page(img, form_id=tpl.id)
    for name in ("request_date", "birth_date", "postal_code", "phone", "visitor", "copies", "purpose"):
        assert reading.fields[name].value == values[name], name
    assert reading.fields["kana"].value == values["kana"]
    assert reading.fields["agent_name"].value in (None, "")
    assert reading.fields["signature"].value is False  # left for the applicant


def test_fill_refuses_what_it_cannot_print(tmp_path: Path, tpl: Template) -> None:
    data = tmp_path / "values.json"
    data.write_text(json.dumps({"name": "山田　太郎", "nmae": "x"}), encoding="utf-8")
    res = CliRunner().invoke(app, ["template", "fill", tpl.id, "--data", str(data), "--out", "x.pdf"])
    assert res.exit_code == 6 and "nmae" in res.output and "項目" in res.output
    for bad in (
        {"visitor": "friend"},
        {"birth_date": "昭和55年5月6日"},
        {"request_date": "1980-05-06"},  # this field prints 令和 only
        {"scope": ["all", "part"]},
        {"copies": 123},
        {"postal_code": "12-34"},
    ):
        with pytest.raises(FieldInvalid):
            parse_values(tpl, bad)
    assert parse_values(tpl, {"scope": ["part"], "copies": "3", "postal_code": "2070013"}) == {
        "scope": "part",
        "copies": 3,
        "postal_code": "207-0013",
    }


def test_try_writes_one_report_for_all_pages(tmp_path: Path, sample: Any, tpl: Template) -> None:
    (img1, truth1), (img2, truth2) = sample(11, font="ipag", profile="clean"), sample(12, font="ipam")
    two_pages = tmp_path / "two.pdf"
    Image.fromarray(img1).save(
        two_pages, "PDF", resolution=300, save_all=True, append_images=[Image.fromarray(img2)]
    )
    other = tmp_path / "other_form.png"
    inkan = load_template("inkan_request")
    Image.fromarray(rasterize_pdf(render_pdf(inkan), 200 / 25.4, inkan.page.width_mm)).save(other)
    bogus = tmp_path / "notes.png"
    bogus.write_text("not a scan", encoding="utf-8")
    report = tmp_path / "report.html"
    res = CliRunner().invoke(
        app, ["template", "try", tpl.id, str(two_pages), str(other), str(bogus), "--out", str(report)]
    )
    assert res.exit_code == 0, res.output
    assert "two.pdf p.1" in res.output and "two.pdf p.2" in res.output
    html = report.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2
    for spec in tpl.fields:
        assert spec.label in html
    for truth in (truth1, truth2):
        assert truth["fields"]["postal_code"] in html and truth["fields"]["phone"] in html
    assert "確からしさ" in html and "要確認" in html
    assert "juminhyo_request ではありません" in html  # the other form's page, with its reason
    assert "PDF・TIFF・JPEG・PNG 以外のファイルです" in html  # the file that is not a scan
    assert len(html) < 2_000_000
