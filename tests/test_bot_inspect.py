"""``dejiru bot inspect``: a screen's inputs listed headless (frames included), a mapping skeleton drafted
from them, and a person's typing or a stranger's page kept from doing harm (schemes, escapes, sizes)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots.inspect import MAX_ELEMENTS, MAX_TEXT, Inspection, _control, checked_url, clean, skeleton, table
from bots.mapping import FormMapping
from core.errors import InputError
from dejiru.cli_bot import field_name_for
from tests.conftest import REPO, ServerThread, free_port

#: What no line shown on a terminal may hold: C0/C1 controls (ESC above all) and bidi overrides.
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def dejiru(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dejiru", "bot", "inspect", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )


def loads_as_form(text: str, form_id: str) -> FormMapping:
    doc = yaml.safe_load(text)
    assert list(doc) == ["forms"] and list(doc["forms"]) == [form_id], doc
    return FormMapping.model_validate(doc["forms"][form_id])


# --- the person's typing and the page's text --------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "chrome://settings",
        "FILE:///etc/shadow",
        "view-source:http://127.0.0.1/",
        "ftp://example.org/",
        "/uketsuke/new",  # a path without --system: no base to join it to
        "http://",  # no host
    ],
)
def test_only_http_and_https_are_opened(url: str) -> None:
    with pytest.raises(InputError) as err:
        checked_url(url)
    assert "http" in err.value.ja and "http" in err.value.en


def test_a_path_is_joined_to_the_systems_address() -> None:
    assert (
        checked_url("/uketsuke/new", "http://10.0.0.5:8080/app/") == "http://10.0.0.5:8080/app/uketsuke/new"
    )
    assert checked_url("  https://example.org/x  ") == "https://example.org/x"
    with pytest.raises(InputError):  # //host is another host, not a path of the system
        checked_url("//evil.example/x", "javascript:alert(1)")


def test_a_refused_scheme_ends_the_command_with_the_input_exit_code() -> None:
    done = dejiru("file:///etc/passwd")
    assert done.returncode == InputError.exit_code == 3, done.stderr
    assert "http:// または https://" in done.stderr and "http:// or https://" in done.stderr
    assert "Traceback" not in done.stderr and "root:" not in done.stdout


def test_clean_strips_escapes_controls_and_overrides() -> None:
    assert clean("\x1b[2J\x1b[31m氏名\x1b[0m") == "氏名"
    assert clean("a\x1b]0;pwned\x07b") == "ab"  # an OSC that would retitle the terminal
    assert clean("x\ny\r\tz\u2028w") == "x y z w"
    assert clean("\u202eemankcip\u202c") == "emankcip"
    assert clean("\x9b2Jok\x00\x7f") == "ok"
    assert len(clean("あ" * 1000)) == MAX_TEXT and clean("あ" * 1000).endswith("…")


def test_a_hostile_element_cannot_break_the_skeleton_out_of_its_yaml() -> None:
    """A label is written into a YAML comment and a name into a selector: a newline in either would
    start a mapping line of the page's choosing."""
    raw = {
        "tag": "input",
        "type": "text",
        "name": 'x"]\nforms: {evil: 1}',
        "id": "",
        "label": "氏名\n  evil: {goto: 'javascript:alert(1)'}\n# " + "あ" * 5000,
        "near": "\x1b[2J",
        "maxlength": "99999999999999",
        "options": [["a", "b"]] * 10_000,
        "path": "form > input:nth-of-type(2)",
        "nameCount": 1,
    }
    control = _control(raw, None, "http://x/")
    assert control is not None
    assert control.selector == "form > input:nth-of-type(2)"  # the odd name is not used
    assert "\n" not in control.label and len(control.label) <= MAX_TEXT and control.near == ""
    assert control.maxlength is None and len(control.options) <= 100
    assert _control("not a dict", None, "") is None and _control({"tag": "script"}, None, "") is None
    text = skeleton(Inspection(url="http://x/", title="t", controls=[control]), "f", "/", field_name_for)
    form = loads_as_form(text, "f")
    assert [s.action for s in form.create.steps] == ["fill"]
    assert form.create.steps[0].value == "{name}"


def test_label_words_become_placeholders() -> None:
    assert field_name_for("整理番号") == "reference"
    assert field_name_for("氏名") == "name" and field_name_for("氏名カナ") == "kana"
    assert field_name_for("電話番号") == "phone" and field_name_for("") == "TODO"
    assert field_name_for("来庁者") == "TODO"


# --- against pages ----------------------------------------------------------------------------------


def inspect_page(url: str, **kw: Any) -> Inspection:
    """Read ``url`` in its own thread: another module's browser may hold Playwright's sync API in this one."""
    from bots.inspect import opened, read_page

    def run() -> Inspection:
        with opened(url) as page:
            return read_page(page, **kw)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result(timeout=120)


FRAMESET = """<html><head><title>frames</title></head>
<frameset cols="150,*"><frame name="menu" src="/menu"><frame name="content" src="/inner"></frameset></html>"""
MENU = """<html><body><a id="go" href="/inner" target="content">登録</a></body></html>"""
INNER = """<html><body><form name="f9" onsubmit="return confirm('ok?')">
<label for="who">申請者氏名</label><input id="who" type="text" maxlength="20" required>
<label><input type="checkbox" name="agree" value="y">同意する</label>
<table><tr><th>種別</th><td><select name="kind"><option value="1">新規</option>
<option value="2" selected>変更</option></select></td></tr></table>
<button type="submit">登録する</button></form></body></html>"""
#: Escapes in the title and a label, a bidi override, 600 inputs, a 5,000-character label, and a
#: script that breaks the cut JavaScript would make (the cut is made again in Python).
HOSTILE = (
    "<html><head><title>\x1b]0;pwned\x07悪意\x1b[2J</title>"
    "<script>String.prototype.slice = function () { return this + this; };</script></head><body>"
    "<table><tr><td>\x1b[2J\x1b[31m氏名\u202e</td><td><input name='a'></td></tr>"
    "<tr><td>"
    + "長" * 5000
    + "</td><td><input name='b'></td></tr></table>"
    + "".join(f"<input name='n{i}'>" for i in range(600))
    + "</body></html>"
)


@pytest.fixture(scope="module")
def pages() -> Iterator[str]:
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    def serve(body: str) -> Any:
        async def endpoint(request: Any) -> HTMLResponse:
            return HTMLResponse(body)

        return endpoint

    app = Starlette(
        routes=[
            Route("/", serve(FRAMESET)),
            Route("/menu", serve(MENU)),
            Route("/inner", serve(INNER)),
            Route("/hostile", serve(HOSTILE)),
        ]
    )
    with ServerThread(app, free_port()) as srv:
        yield srv.url


@pytest.mark.slow
def test_inspects_the_generic_register_after_login_and_drafts_a_mapping(legacy, tmp_path: Path) -> None:
    out = tmp_path / "skeleton.yaml"
    done = dejiru(
        "/uketsuke/new",
        "--system",
        "demo_legacy",
        "--login",
        "--out",
        str(out),
        "--form",
        "inu_touroku",
        env={"DEJIRU_LEGACY_URL": legacy.url},
    )
    assert done.returncode == 0, done.stderr
    rows = {
        line.split()[1]: line for line in done.stdout.splitlines() if line.startswith("  ") and "[" in line
    }
    assert "整理番号" in rows["input[name=ref]"] and re.search(r"\b12\b", rows["input[name=ref]"])
    assert "氏名" in rows["input[name=shimei]"] and "20" in rows["input[name=shimei]"]
    assert "textarea[name=bikou]" in rows and "備考" in rows["textarea[name=bikou]"]
    assert "submit" in rows["input[name=register]"]
    assert "パスワード" not in done.stdout  # it lists the screen asked for, not the login form

    form = loads_as_form(out.read_text(encoding="utf-8"), "inu_touroku")
    assert form.create.goto == "/uketsuke/new"
    steps = {s.selector: s for s in form.create.steps}
    assert steps["input[name=ref]"].value == "{reference}"
    assert steps["input[name=shimei]"].value == "{name}" and steps["input[name=kana]"].value == "{kana}"
    assert steps["textarea[name=bikou]"].action == "fill"
    save = form.create.steps[-1]
    assert (save.click, save.submit, save.dialog) == ("input[name=register]", True, "accept")
    assert "maxlength 12: longer values are refused by read-back" in out.read_text(encoding="utf-8")

    again = dejiru("/uketsuke/new", "--system", "demo_legacy", "--out", str(out), "--form", "x")
    assert again.returncode == 2 and "already exists" in again.stderr  # never overwrites a file


@pytest.mark.slow
def test_the_legacy_frameset_menu_is_listed_with_its_frame(legacy) -> None:
    done = dejiru(
        "/main", "--system", "demo_legacy", "--login", "--links", env={"DEJIRU_LEGACY_URL": legacy.url}
    )
    assert done.returncode == 0, done.stderr
    assert "フレーム frame: menu" in done.stdout
    assert re.search(r"#menu-inkan-new\s+印鑑証明交付申請 登録", done.stdout), done.stdout


@pytest.mark.slow
def test_a_framesets_inputs_come_with_their_frame_name(pages: str) -> None:
    result = inspect_page(pages + "/")
    by_selector = {c.selector: c for c in result.controls}
    who = by_selector["#who"]
    assert (who.frame, who.label, who.maxlength, who.required) == ("content", "申請者氏名", 20, True)
    agree = by_selector["input[name=agree]"]
    assert (agree.frame, agree.type, agree.value, agree.label) == ("content", "checkbox", "y", "同意する")
    kind = by_selector["select[name=kind]"]
    assert kind.label == "種別" and kind.options == (("1", "新規"), ("2", "変更")) and kind.selected == ("2",)
    button = next(c for c in result.controls if c.tag == "button")
    assert button.saves and button.near == "登録する" and button.selector.startswith("form[name=f9]")
    assert not any(c.tag == "a" for c in result.controls)  # links only when asked for

    form = loads_as_form(skeleton(result, "shinsei", "/", field_name_for), "shinsei")
    assert {s.frame for s in form.create.steps} == {"content"}
    assert [s.action for s in form.create.steps] == ["fill", "check", "select", "click"]
    assert form.create.steps[-1].submit and form.create.steps[-1].dialog == "accept"


@pytest.mark.slow
def test_a_hostile_page_is_cut_and_cleaned(pages: str) -> None:
    result = inspect_page(pages + "/hostile")
    assert len(result.controls) == MAX_ELEMENTS and result.truncated
    assert result.controls[0].label.startswith("氏名")  # doubled by the page's own slice(), escapes gone
    assert all(len(c.label) <= MAX_TEXT for c in result.controls)
    lines = table(result)
    assert not any(CONTROLS.search(line) for line in lines), [line for line in lines if CONTROLS.search(line)]
    assert "悪意" in lines[0]
    assert any(f"{MAX_ELEMENTS} 件まで" in line for line in lines)


@pytest.mark.slow
def test_the_command_shows_a_hostile_page_without_its_escapes(pages: str) -> None:
    done = dejiru(pages + "/hostile")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and not CONTROLS.search(done.stdout)
    assert "悪意" in done.stdout and "氏名" in done.stdout
