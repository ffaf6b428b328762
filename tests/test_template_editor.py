"""The authoring kit: the template editor in a real browser (author drags a zone, the YAML moves by the
expected millimetres, at any zoom and on A3; duplicate, split, options, eras, cells, examples and part boxes
save and reload; edges snap to the master's ruled lines; zones over print are marked; reviewers are kept
out; an invalid save writes nothing) and ``dejiru flow new``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from review.app import create_app
from review.auth import hash_password
from tests.conftest import REPO, ServerThread, free_port, make_settings

PASSWORD = "sakusei-2026"
FORM = "juminhyo_request"


@pytest.fixture
def editor(tmp_path, monkeypatch):
    """The review UI on a copy of form_templates (DEJIRU_TEMPLATES_DIR), with an author and a reviewer."""
    from formkit.registry import clear_cache
    from pipeline.context import Context

    templates = tmp_path / "form_templates"
    shutil.copytree(REPO / "form_templates", templates, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    monkeypatch.setenv("DEJIRU_TEMPLATES_DIR", str(templates))
    clear_cache()
    ctx = Context.create(make_settings(tmp_path / "home"))
    for name, role in [("aki", "author"), ("hanako", "reviewer")]:
        ctx.store.add_user(name, hash_password(PASSWORD), role)
    with ServerThread(create_app(ctx), free_port()) as srv:
        yield srv, ctx, templates / FORM / "template.yaml"
    clear_cache()


def login(page, url: str, user: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login")


def field(path: Path, name: str) -> dict:
    return next(f for f in yaml.safe_load(path.read_text(encoding="utf-8"))["fields"] if f["name"] == name)


def drag(page, x: float, y: float, dx: float, dy: float) -> None:
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=3)
    page.mouse.move(x + dx, y + dy, steps=3)
    page.mouse.up()


@pytest.mark.slow
def test_author_moves_resizes_and_relabels_a_zone(editor, browser) -> None:
    srv, ctx, path = editor
    before = field(path, "phone")
    original_text = path.read_text(encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 1300})
    login(page, srv.url, "aki")
    page.wait_for_url("**/templates")  # an author lands on the template list
    page.click(f"a[href='/templates/{FORM}/edit']")
    page.wait_for_url(f"**/templates/{FORM}/edit")
    page.wait_for_function("(i => i && i.complete && i.naturalWidth > 0)(document.getElementById('eimg'))")
    sheet = page.locator("#esheet").bounding_box()
    assert sheet is not None
    px_per_mm = sheet["width"] / 210.0
    zone = page.locator(".ez:not(.sub)[data-field=phone]")
    box = zone.bounding_box()
    assert box is not None
    assert abs(box["x"] - sheet["x"] - before["box"][0] * px_per_mm) < 2  # drawn where the YAML says

    drag(page, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, 40, 20)  # move
    handle = page.locator(".ez.sel:not(.sub) .eh").bounding_box()
    assert handle is not None
    drag(page, handle["x"] + 4, handle["y"] + 4, 20, 0)  # widen by the corner handle
    page.fill("#ep-label", "電話番号（日中）")
    page.click("#tpl-save")
    page.wait_for_selector("#tpl-msg.notice")
    assert "保存しました" in page.inner_text("#tpl-msg")

    after = field(path, "phone")
    dx, dy, dw = (round(v / px_per_mm, 1) for v in (40, 20, 20))
    assert after["box"] == pytest.approx(
        [before["box"][0] + dx, before["box"][1] + dy, before["box"][2] + dw, before["box"][3]], abs=0.11
    )
    assert after["label"] == "電話番号（日中）" and after["required"] is True and after["type"] == "phone"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# 住民票の写し等交付請求書")  # the header comments stay
    changed = [a for a, b in zip(original_text.splitlines(), text.splitlines(), strict=True) if a != b]
    assert len(changed) == 2  # only the label and the box line
    backups = list(path.parent.glob("template.yaml.bak-*"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == original_text
    from formkit.registry import load_template

    assert load_template(FORM).field("phone").label == "電話番号（日中）"  # no stale cached template
    saved = [e for e in ctx.store.audit_events() if e.action == "template.saved"]
    assert len(saved) == 1 and saved[0].user == "aki" and FORM in (saved[0].detail or "")
    page.close()


@pytest.mark.slow
def test_invalid_save_is_refused_and_nothing_written(editor, browser) -> None:
    srv, ctx, path = editor
    original = path.read_bytes()
    page = browser.new_page(viewport={"width": 1400, "height": 1300})
    login(page, srv.url, "aki")
    page.goto(f"{srv.url}/templates/{FORM}/edit")
    page.locator(".ez:not(.sub)[data-field=phone]").click()
    page.fill("#ep-form input[name=w]", "-5")
    page.click("#tpl-save")
    page.wait_for_selector("#tpl-msg.error")
    message = page.inner_text("#tpl-msg")
    assert "保存しませんでした" in message and "幅と高さは0より大きく" in message
    assert path.read_bytes() == original
    assert not list(path.parent.glob("template.yaml.bak-*"))
    assert not [e for e in ctx.store.audit_events() if e.action == "template.saved"]
    # Without the CSRF token nothing is saved either; paths cannot leave form_templates.
    resp = page.request.post(f"{srv.url}/templates/{FORM}/save", data={"fields": []})
    assert resp.status == 403
    assert page.request.get(f"{srv.url}/templates/..%2F..%2Fetc/edit").status == 404
    assert page.request.get(f"{srv.url}/templates/%2E%2E/edit").status == 404
    page.close()


@pytest.mark.slow
def test_reviewer_may_not_edit_templates(editor, browser) -> None:
    srv, _, path = editor
    original = path.read_bytes()
    page = browser.new_page()
    login(page, srv.url, "hanako")
    page.wait_for_url("**/queue")
    assert page.locator("a[href='/templates']").count() == 0
    for url in ("/templates", f"/templates/{FORM}/edit", f"/templates/{FORM}/blank.png"):
        resp = page.goto(f"{srv.url}{url}")
        assert resp is not None and resp.status == 403, url
    csrf = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    resp = page.request.post(
        f"{srv.url}/templates/{FORM}/save", data={"fields": []}, headers={"X-CSRF-Token": csrf}
    )
    assert resp.status == 403 and path.read_bytes() == original
    page.close()


def test_save_without_ruamel_keeps_header_and_values(tmp_path, monkeypatch) -> None:
    """The fallback writer (yaml.safe_dump after the comment header) gives the same template."""
    from formkit.registry import load_template, parse_template
    from review import editor as ed

    text = (REPO / "form_templates" / "health_check_hiring" / "template.yaml").read_text(encoding="utf-8")
    fields = ed.editor_fields(load_template("health_check_hiring"))
    fields[0]["box"][0] += 2.5
    fields[3]["options"][0]["box"][1] += 1  # an option's box moves on its own
    del fields[1]
    fields.append({"orig": None, "name": "memo", "label": "備考", "type": "text", "box": [20, 250, 100, 8]})
    assert ed.check_posted(fields, load_template("health_check_hiring")) == []
    with_ruamel = parse_template(ed.render_yaml(text, fields))
    monkeypatch.setattr(ed, "_yaml", lambda: None)
    plain = ed.render_yaml(text, fields)
    assert plain.startswith("# 健康診断個人票") and parse_template(plain) == with_ruamel
    assert with_ruamel.field("name").box.x == pytest.approx(38.8 + 2.5)
    assert "birth_date" not in [f.name for f in with_ruamel.fields]
    assert with_ruamel.field("memo").eras == [] and with_ruamel.fields[-1].name == "memo"


# --- the editor's tools: zoom, duplicate and split, options/eras/cells/examples, snapping, print --------

LEGACY = "inu_touroku"


def open_editor(browser, url: str, form: str, width: int = 1400, height: int = 1300):
    page = browser.new_page(viewport={"width": width, "height": height})
    login(page, url, "aki")
    page.wait_for_url("**/templates")
    page.goto(f"{url}/templates/{form}/edit")
    page.wait_for_function("(i => i && i.complete && i.naturalWidth > 0)(document.getElementById('eimg'))")
    return page


def page_data(page) -> dict:
    return page.evaluate("JSON.parse(document.getElementById('tpl-data').textContent)")


def pick(page, name: str) -> None:
    """Select a field by its zone's top-left corner (where a part box lies over it, that selects it too)."""
    page.locator(f".ez:not(.sub)[data-field={name}]").click(position={"x": 3, "y": 3}, force=True)
    assert page.input_value("#ep-name") == name


def save(page) -> None:
    page.click("#tpl-save")
    page.wait_for_selector("#tpl-msg.notice, #tpl-msg.error")
    assert "保存しました" in page.inner_text("#tpl-msg"), page.inner_text("#tpl-msg")


def sheet_scale(page, page_w: float) -> float:
    box = page.locator("#esheet").bounding_box()
    assert box is not None
    return box["width"] / page_w


@pytest.mark.slow
def test_zoom_resizes_the_sheet_and_a_drag_at_200_percent_moves_by_millimetres(editor, browser) -> None:
    srv, _, path = editor
    before = field(path, "phone")
    page = open_editor(browser, srv.url, FORM)
    assert page.inner_text("#ez-level") == "100 %"  # A4 fits: the blank form's own pixels
    base = sheet_scale(page, 210)
    assert base == pytest.approx(4.0, abs=0.01)
    page.click("#ez-200")
    assert page.inner_text("#ez-level") == "200 %"
    assert sheet_scale(page, 210) == pytest.approx(2 * base, rel=0.01)
    assert page.locator("#escroll").evaluate("e => e.scrollWidth > e.clientWidth")  # it scrolls
    zone = page.locator(".ez:not(.sub)[data-field=phone]")
    zone.scroll_into_view_if_needed()
    box = zone.bounding_box()
    assert box is not None and box["width"] == pytest.approx(before["box"][2] * 2 * base, abs=2)
    drag(page, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, 80, 40)
    save(page)
    moved = field(path, "phone")["box"]
    k = 2 * base
    assert moved[0] == pytest.approx(before["box"][0] + 80 / k, abs=0.11)
    assert moved[1] == pytest.approx(before["box"][1] + 40 / k, abs=0.11)
    assert moved[2:] == before["box"][2:]

    page.keyboard.press("-")  # keys and Ctrl+wheel zoom too
    assert page.inner_text("#ez-level") == "160 %"
    sheet = page.locator("#escroll").bounding_box()
    assert sheet is not None
    page.mouse.move(sheet["x"] + 200, sheet["y"] + 200)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -100)
    page.keyboard.up("Control")
    page.wait_for_function("document.getElementById('ez-level').textContent === '200 %'")
    page.click("#ez-fit")
    width = page.locator("#escroll").evaluate("e => e.clientWidth")
    assert sheet_scale(page, 210) * 210 == pytest.approx(width - 4, abs=2)
    page.close()


@pytest.mark.slow
def test_an_a3_form_opens_fitted_and_its_whole_width_is_editable(editor, browser) -> None:
    srv, _, path = editor
    a3 = path.parent.parent / "a3_form"
    shutil.copytree(path.parent, a3)
    text = path.read_text(encoding="utf-8").replace(f"id: {FORM}", "id: a3_form")
    (a3 / "template.yaml").write_text(
        text.replace("\nfields:", "\npage: {width_mm: 420, height_mm: 297}\nfields:", 1)
    )
    page = open_editor(browser, srv.url, "a3_form")
    assert page.inner_text("#ez-level") != "100 %"  # 1680 px would not fit: fitted to the width
    k = sheet_scale(page, 420)
    sheet = page.locator("#esheet").bounding_box()
    view = page.locator("#escroll").bounding_box()
    assert sheet is not None and view is not None and sheet["x"] + sheet["width"] <= view["x"] + view["width"]
    before = field(a3 / "template.yaml", "phone")["box"]
    zone = page.locator(".ez:not(.sub)[data-field=phone]").bounding_box()
    assert zone is not None
    dx = (300 - before[0]) * k  # onto the right half of the sheet, past A4's width
    drag(page, zone["x"] + 5, zone["y"] + 5, dx, 0)
    save(page)
    assert field(a3 / "template.yaml", "phone")["box"][0] == pytest.approx(300, abs=0.3)
    page.close()


@pytest.mark.slow
def test_duplicate_and_split_save_a_valid_template(editor, browser) -> None:
    srv, _, path = editor
    legacy = path.parent.parent / LEGACY / "template.yaml"
    name, coat = field(legacy, "dog_name"), field(legacy, "coat")
    page = open_editor(browser, srv.url, LEGACY)
    pick(page, "dog_name")
    page.keyboard.press("Control+d")
    assert page.input_value("#ep-name") == "dog_name_2"
    pick(page, "dog_name")
    page.click("#ep-duplicate")  # the button too; the next free name
    assert page.input_value("#ep-name") == "dog_name_3"
    page.click("#ep-delete")
    pick(page, "dog_sex")
    page.click("#ep-split")  # options: refused, nothing changes
    assert "分割できません" in page.inner_text("#tpl-msg.error")
    assert page.locator(".ez:not(.sub)[data-field^=dog_sex_]").count() == 0
    pick(page, "coat")
    page.fill("#ep-split-at", "300")
    page.click("#ep-split")
    assert "枠の中" in page.inner_text("#tpl-msg.error")
    page.fill("#ep-split-at", "100")
    page.click("#ep-split")
    assert page.input_value("#ep-name") == "coat_1"
    save(page)

    from formkit.registry import load_template

    tpl = load_template(LEGACY)  # the saved file is a valid template
    names = [f.name for f in tpl.fields]
    assert "coat" not in names and names.index("coat_2") == names.index("coat_1") + 1
    assert names.index("dog_name_2") == names.index("dog_name") + 1 and "dog_name_3" not in names
    copy = field(legacy, "dog_name_2")
    assert copy["box"] == pytest.approx([name["box"][0] + 2, name["box"][1] + 2, *name["box"][2:]])
    assert copy["examples"] == name["examples"] and copy["label"] == name["label"]
    x, y, w, h = coat["box"]
    assert field(legacy, "coat_1")["box"] == pytest.approx([x, y, 100 - x, h])
    assert field(legacy, "coat_2")["box"] == pytest.approx([100, y, x + w - 100, h])
    assert field(legacy, "coat_2")["examples"] == coat["examples"]  # what the panel does not show, kept
    page.close()


@pytest.mark.slow
def test_options_eras_cells_examples_and_part_boxes_save_and_reload(editor, browser) -> None:
    srv, _, path = editor
    legacy = path.parent.parent / LEGACY / "template.yaml"
    page = open_editor(browser, srv.url, LEGACY)
    k = sheet_scale(page, 210)
    pick(page, "dog_sex")
    page.click("#ep-opt-add")
    page.click("#ep-opt-add")
    rows = page.locator("#ep-opts .eopt")
    assert rows.count() == 4 and page.locator(".ez.sub[data-field=dog_sex]").count() == 4
    rows.nth(3).locator(".eopt-del").click()  # add, then remove again
    assert rows.count() == 3
    rows.nth(2).locator("input[name=opt-value]").fill("unknown")
    rows.nth(2).locator("input[name=opt-label]").fill("不明")
    rows.nth(0).locator("input[name=opt-label]").fill("おす")
    new_box = page.locator(".ez.sub[data-field=dog_sex][title=不明]").bounding_box()  # a sub-zone to drag
    assert new_box is not None
    drag(page, new_box["x"] + new_box["width"] / 2, new_box["y"] + new_box["height"] / 2, 40, 0)
    pick(page, "dog_birth")
    assert page.is_checked("#ep-eras input[value=平成]") and not page.is_checked("#ep-eras input[value=昭和]")
    page.check("#ep-eras input[value=昭和]")
    pick(page, "kana")
    page.fill("#ep-cells", "20")
    pick(page, "coat")
    page.fill("#ep-examples", "白\n黒\n\n三毛")
    pick(page, "request_date")
    page.uncheck("#ep-parts")
    assert page.locator(".ez.sub[data-field=request_date]").count() == 0
    save(page)

    sex = field(legacy, "dog_sex")
    assert [(o["value"], o["label"], o.get("label_en")) for o in sex["options"]] == [
        ("male", "おす", "Male"),  # matched by value: its English label stays
        ("female", "メス", "Female"),
        ("unknown", "不明", None),
    ]
    female = sex["options"][1]["box"]
    assert sex["options"][2]["box"] == pytest.approx(
        [female[0] + female[2] + 1 + 40 / k, female[1], female[2], female[3]], abs=0.11
    )
    assert field(legacy, "dog_birth")["eras"] == ["昭和", "平成", "令和"]
    assert field(legacy, "kana")["cells"] == 20
    assert field(legacy, "coat")["examples"] == ["白", "黒", "三毛"]
    assert "part_boxes" not in field(legacy, "request_date")

    page.reload()
    page.wait_for_selector(".ez")
    pick(page, "dog_sex")
    assert [page.locator("#ep-opts .eopt input[name=opt-value]").nth(i).input_value() for i in range(3)] == [
        "male",
        "female",
        "unknown",
    ]
    pick(page, "dog_birth")
    assert page.is_checked("#ep-eras input[value=昭和]")
    pick(page, "kana")
    assert page.input_value("#ep-cells") == "20"
    pick(page, "coat")
    assert page.input_value("#ep-examples") == "白\n黒\n三毛"
    pick(page, "request_date")
    page.check("#ep-parts")  # year, month and day boxes again: thirds of the zone
    assert page.locator(".ez.sub[data-field=request_date]").count() == 3
    save(page)
    x, y, w, h = field(legacy, "request_date")["box"]
    parts = field(legacy, "request_date")["part_boxes"]
    assert list(parts) == ["year", "month", "day"]
    assert parts["month"] == pytest.approx([x + w / 3, y, w / 3, h], abs=0.06)
    page.close()


@pytest.mark.slow
def test_a_resized_edge_snaps_onto_a_ruled_line_unless_shift_is_held(editor, browser) -> None:
    srv, _, path = editor
    legacy = path.parent.parent / LEGACY / "template.yaml"
    x, y, w, h = field(legacy, "phone")["box"]  # [62.2, 103.3, 127.5, 10.4]
    page = open_editor(browser, srv.url, LEGACY)
    lines = page_data(page)["lines"]
    right = [v for v in lines["v"] if v[1] < y and v[2] > y + h and abs(v[0] - (x + w)) < 2]
    below = [v for v in lines["h"] if v[1] < x and v[2] > x + w and abs(v[0] - (y + h)) < 1]
    assert [v[0] for v in right] == [190.0] and [v[0] for v in below] == [114.0]  # the master's ruling
    k = sheet_scale(page, 210)
    for shift in (False, True):
        pick(page, "phone")
        handle = page.locator(".ez.sel:not(.sub) .eh").bounding_box()
        assert handle is not None
        hx, hy = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
        if shift:
            page.keyboard.down("Shift")
        drag(page, hx, hy, 1.3 * k, 0)  # the right edge to 1 mm past the line at 190
        if shift:
            page.keyboard.up("Shift")
        box = [float(page.input_value(f"#ep-form input[name={c}]")) for c in "xywh"]
        if not shift:
            assert box == pytest.approx([x, y, 190.0 - x, 114.0 - y], abs=0.01)  # both edges on the lines
            page.fill("#ep-form input[name=w]", str(w))
            page.fill("#ep-form input[name=h]", str(h))
        else:
            assert box == pytest.approx([x, y, w + 1.3, h], abs=0.15)
    page.close()


@pytest.mark.slow
def test_a_zone_over_printed_text_is_marked(editor, browser) -> None:
    srv = editor[0]
    page = open_editor(browser, srv.url, LEGACY)
    assert page.locator(".ez.warn").count() == 0  # the shipped zones leave the print alone
    pick(page, "dog_name")
    page.fill("#ep-form input[name=x]", "22")  # over its printed label 犬の名前
    page.fill("#ep-form input[name=w]", "38")
    save(page)
    page.wait_for_selector(".ez.warn[data-field=dog_name] .ewarn")
    assert "印刷と重なっています" in page.inner_text(".ez.warn[data-field=dog_name]")
    assert "印刷された文字" in page.inner_text("#ep-warn")
    page.reload()
    page.wait_for_selector(".ez.warn[data-field=dog_name]")
    page.close()


@pytest.mark.slow
def test_a_groups_further_blocks_follow_block_one_and_are_not_written_out(editor, browser) -> None:
    srv, _, path = editor
    grouped = path.parent.parent / "hihokensha_shikaku_shutoku" / "template.yaml"
    before = field(grouped, "kana")["box"]
    page = open_editor(browser, srv.url, "hihokensha_shikaku_shutoku")
    ghost = page.locator(".ez.ghost[data-field=kana_2]")
    assert ghost.count() == 1 and "被保険者" in (ghost.get_attribute("title") or "")
    k = sheet_scale(page, 210)
    pick(page, "kana")
    assert page.locator("#ep-name").evaluate("e => e.readOnly")  # block 1 keeps its name
    page.click("#ep-delete")
    assert "グループ「被保険者」" in page.inner_text("#tpl-msg.error")
    pick(page, "kana")  # (the focus left the delete button: keys move the zone again)
    page.keyboard.press("Shift+ArrowRight")
    save(page)
    names = [f["name"] for f in yaml.safe_load(grouped.read_text(encoding="utf-8"))["fields"]]
    assert "kana" in names and not [n for n in names if n.startswith("kana_")]
    assert field(grouped, "kana")["box"][0] == pytest.approx(before[0] + 1)
    moved = page.locator(".ez.ghost[data-field=kana_2]").bounding_box()
    sheet = page.locator("#esheet").bounding_box()
    assert moved is not None and sheet is not None
    assert (moved["x"] - sheet["x"]) / k == pytest.approx(before[0] + 1, abs=0.3)  # the copy followed
    page.close()


# --- several zones aligned, groups edited, a sample read with the unsaved zones ---------------------


def shift_click(page, name: str) -> None:
    page.locator(f".ez:not(.sub)[data-field={name}]").click(
        position={"x": 3, "y": 3}, force=True, modifiers=["Shift"]
    )


@pytest.mark.slow
def test_several_zones_align_to_the_first_and_space_evenly(editor, browser) -> None:
    srv, _, path = editor
    page = open_editor(browser, srv.url, FORM)
    pick(page, "copies")
    page.fill("#ep-form input[name=x]", "20")  # three zones at three different x for spacing across
    pick(page, "phone")  # [136, 95, 59, 8]: the one the others align to
    assert page.locator("#ep-multi").is_hidden()
    shift_click(page, "scope")  # [106, 155, 89, 9]
    shift_click(page, "relation")  # [142, 166, 53, 9]
    assert page.locator(".ez.chosen").count() == 2 and page.input_value("#ep-name") == "phone"
    assert "3個の枠を選択中" in page.inner_text("#ep-multi-n")
    page.keyboard.press("l")  # left edges
    page.keyboard.press("y")  # evenly down: gaps of (166 + 9 - 95 - 8 - 9 - 9) / 2 = 27 mm
    page.click("#ea-width")
    page.click("#ea-height")
    shift_click(page, "relation")  # out of the selection again, and back in
    assert page.locator(".ez.chosen").count() == 1
    shift_click(page, "relation")
    pick(page, "copies")  # a plain click: one zone again
    assert page.locator(".ez.chosen").count() == 0 and page.locator("#ep-multi").is_hidden()
    shift_click(page, "honseki")  # [51, 166, 60, 9]
    shift_click(page, "relation")
    page.click("#ea-top")
    page.click("#ea-across")  # gaps of (195 - 20 - 29 - 60 - 59) / 2 = 13.5 mm
    save(page)
    boxes = {n: field(path, n)["box"] for n in ("phone", "scope", "relation", "copies", "honseki")}
    assert boxes["phone"] == [136, 95, 59, 8]
    assert boxes["scope"] == pytest.approx([136, 130, 59, 8])
    assert boxes["relation"] == pytest.approx([136, 155, 59, 8])
    assert boxes["copies"] == pytest.approx([20, 155, 29, 9])
    assert boxes["honseki"] == pytest.approx([62.5, 155, 60, 9])
    page.close()


@pytest.mark.slow
def test_groups_are_made_edited_and_deleted_in_the_panel(editor, browser) -> None:
    srv, _, path = editor
    legacy = path.parent.parent / LEGACY / "template.yaml"
    kana = field(legacy, "kana")["box"]
    page = open_editor(browser, srv.url, LEGACY)
    k = sheet_scale(page, 210)

    def ghost_y(name: str) -> float:
        box = page.locator(f".ez.ghost:not(.sub)[data-field={name}]").bounding_box()
        sheet = page.locator("#esheet").bounding_box()  # (the view may have scrolled)
        assert box is not None and sheet is not None
        return (box["y"] - sheet["y"]) / k

    pick(page, "kana")
    shift_click(page, "name")
    assert page.locator("#eg-make").is_visible() and page.locator("#eg-leave").is_hidden()
    page.fill("#eg-name", "owner")
    page.fill("#eg-label", "飼い主")
    page.fill("#eg-dy", "25")
    page.click("#eg-make")
    assert page.locator(".ez.ghost[data-field=kana_2]").count() == 1
    assert ghost_y("kana_2") == pytest.approx(kana[1] + 25, abs=0.3)
    assert "飼い主" in (page.locator(".ez.ghost[data-field=name_2]").get_attribute("title") or "")
    page.fill("#eg-count", "3")  # the copies redraw at once
    assert page.locator(".ez.ghost[data-field=kana_3]").count() == 1
    page.fill("#eg-dy", "24")
    assert ghost_y("kana_3") == pytest.approx(kana[1] + 48, abs=0.3)
    assert page.locator("#ep-name").evaluate("e => e.readOnly")  # block 1 keeps its name
    save(page)
    saved = yaml.safe_load(legacy.read_text(encoding="utf-8"))
    assert saved["groups"] == [
        {"name": "owner", "label": "飼い主", "fields": ["kana", "name"], "count": 3, "step": [0, 24]}
    ]
    assert not [f for f in saved["fields"] if f["name"] in ("kana_2", "name_3")]  # copies not written

    pick(page, "name")
    page.click("#eg-leave")  # out of the group: its copies go
    assert page.locator(".ez.ghost[data-field=name_2]").count() == 0
    assert page.locator(".ez.ghost[data-field=kana_2]").count() == 1
    pick(page, "kana")
    shift_click(page, "name")
    page.click("#eg-add")  # and in again
    assert page.locator(".ez.ghost[data-field=name_3]").count() == 1
    page.fill("#eg-count", "31")  # refused by the server, nothing written
    before = legacy.read_bytes()
    page.click("#tpl-save")
    page.wait_for_selector("#tpl-msg.error")
    assert "繰り返しの数" in page.inner_text("#tpl-msg") and legacy.read_bytes() == before
    page.fill("#eg-count", "2")
    page.click("#eg-delete")
    assert page.locator(".ez.ghost").count() == 0
    save(page)
    assert "groups" not in yaml.safe_load(legacy.read_text(encoding="utf-8"))

    # The shipped group of four insured persons: down to two blocks, redrawn at once.
    grouped = path.parent.parent / "hihokensha_shikaku_shutoku" / "template.yaml"
    page = open_editor(browser, srv.url, "hihokensha_shikaku_shutoku")
    assert page.locator(".ez.ghost:not(.sub)[data-field=kana_4]").count() == 1
    pick(page, "kana")
    assert page.input_value("#eg-count") == "4" and page.input_value("#eg-dy") == "42.95"
    page.fill("#eg-count", "2")
    assert page.locator(".ez.ghost[data-field=kana_3]").count() == 0
    assert page.locator(".ez.ghost:not(.sub)[data-field=kana_2]").count() == 1
    save(page)
    assert yaml.safe_load(grouped.read_text(encoding="utf-8"))["groups"][0]["count"] == 2
    page.close()


@pytest.mark.slow
def test_a_sample_is_read_with_the_unsaved_zones(editor, browser, caplog) -> None:
    """Real reader: values and confidences on the zones, a doubtful zone in red, 個人番号 masked,
    nothing written and no value in the log."""
    import logging

    from PIL import Image

    from formkit.registry import load_template
    from synth.samples import make_sample

    srv, ctx, path = editor
    caplog.set_level(logging.INFO)
    legacy = path.parent.parent / LEGACY / "template.yaml"
    img, truth = make_sample(load_template(LEGACY), 7, profile="clean")
    (legacy.parent / "samples").mkdir()
    Image.fromarray(img).save(legacy.parent / "samples" / "inu_7.png")
    masked = path.parent.parent / "hihokensha_shikaku_shutoku"
    img2, truth2 = make_sample(load_template(masked.name), 3, profile="clean")
    (masked / "samples").mkdir()
    Image.fromarray(img2).save(masked / "samples" / "shutoku_3.png")
    before = legacy.read_bytes()

    page = open_editor(browser, srv.url, LEGACY)
    assert page.locator("#et-sample option").all_inner_texts() == ["inu_7.png"]
    pick(page, "coat")
    page.fill("#ep-name", "coat_colour")  # unsaved: the read uses it
    pick(page, "dog_name")
    page.fill("#ep-form input[name=y]", "285")  # onto blank paper: an empty required field
    page.fill("#ep-form input[name=h]", "8")
    page.click("#et-run")
    assert page.locator("#et-run").is_disabled() and page.locator("#esheet[aria-busy=true]").count() == 1
    page.wait_for_selector("#et-msg.notice, #et-msg.error", timeout=180_000)
    assert "項目を読み取りました" in page.inner_text("#et-msg"), page.inner_text("#et-msg")
    assert not page.locator("#et-run").is_disabled()
    phone = page.inner_text(".ez:not(.sub)[data-field=phone] .eread")
    assert truth["fields"]["phone"] in phone and "%" in phone
    assert page.locator(".ez.rok:not(.sub)[data-field=phone]").count() == 1
    assert page.locator(".ez:not(.sub)[data-field=coat_colour] .eread").count() == 1
    assert page.locator(".ez.rdoubt:not(.sub)[data-field=dog_name]").count() == 1
    pick(page, "dog_name")
    assert "要確認" in page.inner_text("#ep-read.rdoubt")
    page.click("#et-clear")
    assert page.locator(".eread").count() == 0
    assert legacy.read_bytes() == before and not list(legacy.parent.glob("template.yaml.bak-*"))
    tried = [e for e in ctx.store.audit_events() if e.action == "template.tried"]
    assert len(tried) == 1 and tried[0].detail == f"{LEGACY}: inu_7.png"
    page.close()

    page = open_editor(browser, srv.url, masked.name)
    page.click("#et-run")
    page.wait_for_selector("#et-msg.notice, #et-msg.error", timeout=180_000)
    number = str(truth2["fields"]["individual_number"])
    shown = page.inner_text(".ez:not(.sub)[data-field=individual_number] .eread")
    assert shown.startswith("********") and number not in page.content()
    page.close()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert "inu_7.png" in logged
    for value in (truth["fields"]["phone"], truth["fields"]["name"], number):
        assert str(value) not in logged


# --- dejiru flow new --------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path) -> Path:
    """A scratch project folder with the repository's prefect.yaml: nothing is written into the repo."""
    root = tmp_path / "project"
    (root / "flows").mkdir(parents=True)
    shutil.copy(REPO / "prefect.yaml", root / "prefect.yaml")
    return root


def test_flow_new_scaffolds_an_importable_flow_and_a_deployment(project, tmp_path) -> None:
    from dejiru.cli import app

    runner = CliRunner()
    original = (project / "prefect.yaml").read_text(encoding="utf-8")
    for name, kind in [("juminhyo_inbox", "inbox"), ("juminhyo_daily", "summary")]:
        result = runner.invoke(app, ["flow", "new", name, "--kind", kind, "--project", str(project)])
        assert result.exit_code == 0, result.output
    text = (project / "prefect.yaml").read_text(encoding="utf-8")
    assert text.startswith(original.rstrip("\n"))  # appended; comments and existing entries untouched
    data = yaml.safe_load(text)
    entries = {d["name"]: d for d in data["deployments"]}
    assert entries["juminhyo-inbox"]["entrypoint"] == "flows/juminhyo_inbox.py:juminhyo_inbox"
    assert entries["juminhyo-inbox"]["work_pool"] == {"name": "dejiru-pool"}
    assert entries["juminhyo-daily"]["schedules"] == [{"cron": "0 8 * * *", "timezone": "Asia/Tokyo"}]
    assert list(entries)[:5] == ["process-file", "process-document", "sweep", "key-approved", "daily-summary"]

    check = (
        "import importlib.util, sys\n"
        "from prefect.flows import Flow\n"
        "for path, fn in zip(sys.argv[1::2], sys.argv[2::2]):\n"
        "    spec = importlib.util.spec_from_file_location('scaffolded_' + fn, path)\n"
        "    mod = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(mod)\n"
        "    flow = getattr(mod, fn)\n"
        "    assert isinstance(flow, Flow), type(flow)\n"
        "    print(flow.name, mod.__doc__.splitlines()[0])\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "DEJIRU_HOME": str(tmp_path / "home"),
    }
    args = []
    for entry in ("juminhyo-inbox", "juminhyo-daily"):
        file, fn = entries[entry]["entrypoint"].split(":")
        args += [str(project / file), fn]
    out = subprocess.run(
        [sys.executable, "-c", check, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "juminhyo-inbox" in out.stdout and "juminhyo-daily" in out.stdout
    ruff = Path(sys.executable).parent / "ruff"
    files = [str(p) for p in (project / "flows").glob("*.py")]
    lint = subprocess.run(
        [str(ruff), "check", "--no-cache", *files], cwd=REPO, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout
    fmt = subprocess.run(
        [str(ruff), "format", "--check", "--no-cache", *files], cwd=REPO, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Bad-Name", "使えません"),
        ("intake", "紛らわしい"),  # would shadow the intake package in a worker
        ("json", "紛らわしい"),
        ("key_approved", "デプロイ key-approved がもうあります"),
        ("daily_summary", "デプロイ daily-summary がもうあります"),
    ],
)
def test_flow_new_refuses_bad_or_taken_names(project, name, says) -> None:
    from dejiru.cli import app

    before = (project / "prefect.yaml").read_text(encoding="utf-8")
    result = CliRunner().invoke(app, ["flow", "new", name, "--project", str(project)])
    assert result.exit_code == 6 and says in result.output
    assert (project / "prefect.yaml").read_text(encoding="utf-8") == before
    assert not list((project / "flows").iterdir())


def test_flow_new_refuses_an_existing_file(project) -> None:
    from dejiru.cli import app

    (project / "flows" / "mine.py").write_text("# mine\n")
    result = CliRunner().invoke(app, ["flow", "new", "mine", "--project", str(project)])
    assert result.exit_code == 6 and "もうあります" in result.output
    assert (project / "flows" / "mine.py").read_text() == "# mine\n"
