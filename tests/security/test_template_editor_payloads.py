"""The template editor's save, posted by hand instead of by its page: option boxes off the paper or not
boxes at all, a million comb cells, markup or control characters in a label, an option or an example,
made-up eras and part boxes, thousands of options, block 1 of a group renamed, groups of ten thousand
blocks, NaN steps, missing or shared fields, colliding copies or copies off the page: each is refused with a
Japanese reason (HTTP 422) and the file is not touched (no write, no backup, an audit line saying what was
refused). A copy of the 個人番号 field without its rule keeps the mask. The sample read refuses any file
outside the form's samples folder, and anyone but an author.

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


def refused_groups(
    site: Site, form: str, forge: Callable[[list[dict[str, Any]], list[dict[str, Any]]], object], says: str
) -> None:
    """Post the page's own fields and groups changed by ``forge``: refused, nothing written."""
    path = site.home.parent / "form_templates" / form / "template.yaml"
    before = path.read_bytes()
    with site.client("aki") as c:
        html = c.get(f"/templates/{form}/edit").text
        data = json.loads(html.split('id="tpl-data">')[1].split("</script>")[0])
        fields = [f for f in data["fields"] if "group" not in f]
        groups = data["groups"]
        forge(fields, groups)
        r = c.post(
            f"/templates/{form}/save",
            content=json.dumps({"fields": fields, "groups": groups, "base": data["base"]}),
            headers={"X-CSRF-Token": data["csrf"], "Content-Type": "application/json"},
        )
    assert r.status_code == 422, r.text
    assert r.json()["ok"] is False and says in r.json()["error"], r.json()["error"]
    assert path.read_bytes() == before
    assert not list(path.parent.glob("template.yaml.bak-*"))
    assert not [e for e in site.ctx.store.audit_events() if e.action == "template.saved"]


def a_group(**over: Any) -> dict[str, Any]:
    return {
        "orig": None,
        "name": "owner",
        "label": "飼い主",
        "fields": ["kana", "name"],
        "count": 2,
        "step": [0, 30],
    } | over


def test_a_group_of_ten_thousand_blocks_or_a_nan_step(editor_site: Site) -> None:
    """Attack: a group of count 10,000 (a memory bomb of copies), count 1, "3", true; a step of NaN, Infinity, text, one number."""
    for bad in [10_000, 1, "3", True, None]:
        refused_groups(editor_site, LEGACY, lambda fs, gs, b=bad: gs.append(a_group(count=b)), "繰り返しの数")
    for step in [[float("nan"), 0], [0, float("inf")], ["0", "30"], [30], None, [0, 1e308]]:
        refused_groups(editor_site, LEGACY, lambda fs, gs, s=step: gs.append(a_group(step=s)), "ずらす量")
    refused_groups(
        editor_site, MASKED, lambda fs, gs: gs[0].update(count=10_000), "繰り返しの数（count）は2〜30"
    )


def test_a_group_naming_a_missing_or_shared_field_or_a_bad_name(editor_site: Site) -> None:
    """Attack: a group of a field that does not exist, a field in two groups, a group named ../x or <script>, extra keys."""
    refused_groups(
        editor_site,
        LEGACY,
        lambda fs, gs: gs.append(a_group(fields=["kana", "ghost"])),
        "項目 ghost がありません",
    )
    refused_groups(
        editor_site,
        LEGACY,
        lambda fs, gs: gs.extend([a_group(), a_group(name="owner2", fields=["name"], step=[0, 60])]),
        "もうグループ owner に入っています",
    )
    for bad in ["../x", "<script>", "Owner", "", "x" * 41]:
        refused_groups(editor_site, LEGACY, lambda fs, gs, b=bad: gs.append(a_group(name=b)), "グループ名")
    refused_groups(editor_site, LEGACY, lambda fs, gs: gs.append(a_group(label="<img src=x>")), "表示名に")
    refused_groups(editor_site, LEGACY, lambda fs, gs: gs.append(a_group(sensitive=False)), "形式が違います")
    refused_groups(editor_site, LEGACY, lambda fs, gs: gs.append(a_group(fields="kana")), "形式が違います")


def test_a_group_whose_copy_collides_with_a_field(editor_site: Site) -> None:
    """Attack: a group whose block 2 would be named like an existing field (name_2), so one of the two would silently win."""

    def forge(fs: list[dict[str, Any]], gs: list[dict[str, Any]]) -> None:
        spec = one(fs, "name")
        fs.append(dict(spec, orig=None, copy_of="name", name="name_2", box=[62.2, 200, 127.5, 13.5]))
        gs.append(a_group())

    refused_groups(editor_site, LEGACY, forge, "名前 name_2 は、もうある項目の名前です")
    # On the grouped form: a new field named like block 3's 個人番号 copy.
    refused_groups(
        editor_site,
        MASKED,
        lambda fs, gs: fs.append(dict(one(fs, "kana"), orig=None, copy_of="kana", name="kana_3")),
        "kana_3",
    )


def test_copies_pushed_off_the_page(editor_site: Site) -> None:
    """Attack: a step that puts the last block's copies off the paper (250 mm down, 30 blocks of 42.95 mm, -100 mm across)."""
    refused_groups(editor_site, LEGACY, lambda fs, gs: gs.append(a_group(step=[0, 250])), "はみ出します")
    refused_groups(editor_site, LEGACY, lambda fs, gs: gs.append(a_group(step=[-100, 0])), "はみ出します")
    refused_groups(editor_site, MASKED, lambda fs, gs: gs[0].update(count=30), "はみ出します")


def test_a_valid_group_is_written_and_removed_again(editor_site: Site) -> None:
    """Attack: none, the control: a well-formed group is saved (copies not written out) and deleting it removes groups, so the refusals above are for their reasons."""
    path = editor_site.home.parent / "form_templates" / LEGACY / "template.yaml"
    with editor_site.client("aki") as c:
        for groups in ([a_group()], []):
            fields, base, csrf = editor_state(c, LEGACY)
            r = c.post(
                f"/templates/{LEGACY}/save",
                json={"fields": [f for f in fields if "group" not in f], "groups": groups, "base": base},
                headers={"X-CSRF-Token": csrf},
            )
            assert r.json()["ok"], r.text
            saved = yaml.safe_load(path.read_text(encoding="utf-8"))
            names = [f["name"] for f in saved["fields"]]
            assert "kana_2" not in names and "name_2" not in names
            if groups:
                assert saved["groups"] == [
                    {
                        "name": "owner",
                        "label": "飼い主",
                        "fields": ["kana", "name"],
                        "count": 2,
                        "step": [0, 30],
                    }
                ]
                assert [g["name"] for g in r.json()["groups"]] == ["owner"]
                assert "kana_2" in [f["name"] for f in r.json()["fields"]]
            else:
                assert "groups" not in saved


def test_a_sample_path_outside_the_samples_folder(editor_site: Site) -> None:
    """Attack: reading ../template.yaml, /etc/passwd, an encoded ../, a link in samples to the template, a sample of another form; a reviewer, or no CSRF token."""
    folder = editor_site.home.parent / "form_templates" / LEGACY / "samples"
    folder.mkdir()
    (folder / "link.png").symlink_to(folder.parent / "template.yaml")
    other = editor_site.home.parent / "form_templates" / MASKED / "samples"
    other.mkdir()
    (other / "theirs.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with editor_site.client("aki") as c:
        fields, _, csrf = editor_state(c, LEGACY)
        html = c.get(f"/templates/{LEGACY}/edit").text
        assert "link.png" not in html  # a link is not offered
        for bad in [
            "../template.yaml",
            "/etc/passwd",
            "..%2Ftemplate.yaml",
            "samples/../../template.yaml",
            "link.png",
            "../../" + MASKED + "/samples/theirs.png",
            "theirs.png",
            ["a.png"],
            None,
        ]:
            r = c.post(
                f"/templates/{LEGACY}/try",
                json={"sample": bad, "fields": fields},
                headers={"X-CSRF-Token": csrf},
            )
            assert r.status_code == 400, (bad, r.text)
            assert "samples フォルダー" in r.json()["error"]
        r = c.post(f"/templates/{LEGACY}/try", json={"sample": "link.png", "fields": fields})
        assert r.status_code == 403  # no CSRF token
    with editor_site.client("hanako") as c:
        r = c.post(f"/templates/{LEGACY}/try", json={"sample": "x.png", "fields": fields})
        assert r.status_code == 403  # a reviewer
    refusals = [e for e in editor_site.ctx.store.audit_events() if e.action == "template.try_refused"]
    assert len(refusals) == 9
    assert not [e for e in editor_site.ctx.store.audit_events() if e.action == "template.tried"]
