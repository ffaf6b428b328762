"""The template editor's save, posted by hand instead of by its page: option boxes off the paper or not
boxes at all, a million comb cells, markup or control characters in a label, an option or an example,
made-up eras and part boxes, thousands of options, block 1 of a group renamed: each is refused with a
Japanese reason (HTTP 422) and the file is not touched (no write, no backup, an audit line saying what was
refused). A copy of the 個人番号 field without its rule keeps the mask.

One real review server on a copy of form_templates (DEJIRU_TEMPLATES_DIR) per test; every request carries
a valid session and CSRF token, as the editor's own script would."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import REPO
from tests.security.conftest import Site, start_site

pytestmark = pytest.mark.slow
LEGACY = "inu_touroku"
MASKED = "hihokensha_shikaku_shutoku"


@pytest.fixture
def editor_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    from formkit.registry import clear_cache

    templates = tmp_path / "form_templates"
    shutil.copytree(REPO / "form_templates", templates, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    monkeypatch.setenv("DEJIRU_TEMPLATES_DIR", str(templates))
    clear_cache()
    yield from start_site(tmp_path / "home")
    clear_cache()


def editor_state(c: httpx.Client, form: str) -> tuple[list[dict[str, Any]], str, str]:
    html = c.get(f"/templates/{form}/edit").text
    data = json.loads(html.split('id="tpl-data">')[1].split("</script>")[0])
    return data["fields"], data["base"], data["csrf"]


def one(fields: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(f for f in fields if f["name"] == name)


def refused(site: Site, form: str, forge: Callable[[list[dict[str, Any]]], object], says: str) -> str:
    """Post the page's own fields changed by ``forge``; the save must be refused, nothing written."""
    path = site.home.parent / "form_templates" / form / "template.yaml"
    before = path.read_bytes()
    with site.client("aki") as c:
        fields, base, csrf = editor_state(c, form)
        forge(fields)
        r = c.post(
            f"/templates/{form}/save",
            content=json.dumps({"fields": fields, "base": base}),
            headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
        )
    assert r.status_code in (403, 422), r.text
    body = r.json()
    assert body["ok"] is False
    assert says in body["error"], body["error"]
    assert path.read_bytes() == before
    assert not list(path.parent.glob("template.yaml.bak-*"))
    assert [e for e in site.ctx.store.audit_events() if e.action == "template.refused"]
    assert not [e for e in site.ctx.store.audit_events() if e.action == "template.saved"]
    return str(body["error"])


def test_an_option_box_off_the_paper_or_not_a_box(editor_site: Site) -> None:
    """Attack: an option's box 300 mm off the A4 page, a box of text, a box of NaN."""
    for bad, says in [
        ([500, 140, 12, 6], "はみ出しています"),
        (["a", "b", "c", "d"], "数値4つ"),
        ([float("nan"), 140, 12, 6], "数値4つ"),
        ([72, 140, -12, 6], "0より大きく"),
    ]:
        refused(editor_site, LEGACY, lambda fs, b=bad: one(fs, "dog_sex")["options"][0].update(box=b), says)


def test_a_million_comb_cells(editor_site: Site) -> None:
    """Attack: cells of 1,000,000 (a memory bomb for the renderer and the reader), a negative, text, true."""
    for bad in [1_000_000, -3, "12", True, 2.5]:
        refused(editor_site, LEGACY, lambda fs, b=bad: one(fs, "kana").update(cells=b), "マス数")


def test_markup_and_control_characters_in_labels_options_and_examples(editor_site: Site) -> None:
    """Attack: a <script> label, an option label with an onerror image, a NUL in an example, a bidi override."""
    refused(
        editor_site,
        LEGACY,
        lambda fs: one(fs, "dog_name").update(label="<script>alert(1)</script>"),
        "ラベルに < > や制御文字は使えません",
    )
    refused(
        editor_site,
        LEGACY,
        lambda fs: one(fs, "dog_sex")["options"][1].update(label='<img src=x onerror="alert(1)">'),
        "選択肢の表示に < >",
    )
    refused(editor_site, LEGACY, lambda fs: one(fs, "coat").update(examples=["白\x00黒"]), "記入例に")
    refused(editor_site, LEGACY, lambda fs: one(fs, "coat").update(label="毛色\u202e"), "ラベルに")


def test_made_up_eras_part_boxes_and_option_values(editor_site: Site) -> None:
    """Attack: an era that is none (天保), part boxes with a key the reader does not know, two options of one value."""
    refused(editor_site, LEGACY, lambda fs: one(fs, "dog_birth").update(eras=["令和", "天保"]), "元号は")
    refused(
        editor_site,
        LEGACY,
        lambda fs: one(fs, "request_date")["part_boxes"].update(era=[150, 35, 5, 5]),
        "年・月・日の3つ",
    )
    refused(
        editor_site,
        LEGACY,
        lambda fs: one(fs, "dog_sex")["options"][1].update(value="male"),
        "選択肢の値 male が重複",
    )


def test_thousands_of_options_and_fields(editor_site: Site) -> None:
    """Attack: 5,000 options on one field, 400 more fields: refused before anything is built from them."""
    opt = {"orig": None, "value": "v", "label": "v", "box": [70, 140, 5, 5]}
    refused(
        editor_site, LEGACY, lambda fs: one(fs, "dog_sex").update(options=[opt] * 5000), "選択肢が多すぎます"
    )

    def many(fs: list[dict[str, Any]]) -> None:
        fs += [dict(fs[0], orig=None, name=f"f{i}") for i in range(400)]

    refused(editor_site, LEGACY, many, "項目が多すぎます")


def test_a_copy_of_the_mynumber_field_keeps_its_mask(editor_site: Site) -> None:
    """Attack: unmasking 個人番号 by duplicating the field and dropping the mynumber rule from the copy."""
    path = editor_site.home.parent / "form_templates" / MASKED / "template.yaml"
    with editor_site.client("aki") as c:
        fields, base, csrf = editor_state(c, MASKED)
        spec = one(fields, "individual_number")
        x, y, w, h = spec["box"]
        copy = dict(spec, orig=None, copy_of="individual_number", name="individual_number_x", rules=[])
        copy["box"] = [x + 2, y + 2, w, h]
        fields.insert(fields.index(spec) + 1, copy)
        r = c.post(
            f"/templates/{MASKED}/save", json={"fields": fields, "base": base}, headers={"X-CSRF-Token": csrf}
        )
        assert r.json()["ok"], r.text
        assert one(r.json()["fields"], "individual_number_x")["rules"] == []
    saved = {f["name"]: f for f in yaml.safe_load(path.read_text(encoding="utf-8"))["fields"]}
    assert (
        saved["individual_number_x"]["sensitive"] is True and saved["individual_number"]["sensitive"] is True
    )
    assert "individual_number_2" not in saved  # the group's further blocks are not written out


def test_splitting_or_deleting_block_one_of_a_group(editor_site: Site) -> None:
    """Attack: renaming block 1's 個人番号 (its group's copies would lose their field and the form its mask)."""
    refused(
        editor_site,
        MASKED,
        lambda fs: one(fs, "individual_number").update(name="individual_number_a"),
        "グループ「被保険者」",
    )
