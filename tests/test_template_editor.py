"""The authoring kit: the template editor in a real browser (author drags a zone, the YAML moves by the
expected millimetres; reviewers are kept out; an invalid save writes nothing) and ``dejiru flow new``."""

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
