"""Applications of several pages: read from one file, the pages of one application are one document,
reviewed and keyed as one; a page missing, unreadable or of another form sends it to a person.

Two small redesigned forms are installed for the test: 「申請書（1枚目）」 and its second page, which
says ``continues: app_p1``. Pages are filled by the synthetic writer, printed into one PDF as a
scanner would send them, and go through the real intake and reader.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from form_templates import TEMPLATES_DIR
from formkit.model import Template
from formkit.registry import application_template, field_pages, load_template
from pipeline.intake import intake_file
from pipeline.reading import read_document, unread_pages
from records.models import DocStatus

FIRST = {
    "id": "app_p1",
    "version": 1,
    "code": 16101,
    "title": "申請書（1枚目）",
    "target": "demo_legacy",
    "fields": [
        {"name": "name", "label": "氏名", "type": "name", "box": [51, 60, 100, 10], "required": True},
        {"name": "phone", "label": "電話番号", "type": "phone", "box": [51, 80, 100, 10]},
    ],
}
SECOND = {
    "id": "app_p2",
    "version": 1,
    "code": 16102,
    "title": "申請書（2枚目）",
    "continues": "app_p1",
    "fields": [
        {
            "name": "copies",
            "label": "通数",
            "type": "count",
            "cells": 2,
            "box": [51, 60, 20, 10],
            "required": True,
        },
        {"name": "reason", "label": "理由", "type": "text", "box": [51, 80, 120, 10]},
    ],
}


@pytest.fixture
def forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "form_templates"
    shutil.copytree(TEMPLATES_DIR, folder, ignore=shutil.ignore_patterns("samples", "__pycache__"))
    for data in (FIRST, SECOND):
        (folder / str(data["id"])).mkdir()
        (folder / str(data["id"]) / "template.yaml").write_text(
            yaml.safe_dump(data, allow_unicode=True), encoding="utf-8"
        )
    monkeypatch.setenv("DEJIRU_TEMPLATES_DIR", str(folder))
    return folder


def _page(form: str, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
    from synth.samples import make_sample

    img, truth = make_sample(
        load_template(form), seed, font="ipag", profile="office", dpi=150, today=dt.date(2026, 11, 20)
    )
    return img, truth["fields"]


def _pdf(pages: list[np.ndarray]) -> bytes:
    buf = io.BytesIO()
    first, *rest = [Image.fromarray(p) for p in pages]
    first.save(buf, "PDF", resolution=150, save_all=True, append_images=rest)
    return buf.getvalue()


def _take(ctx: Any, name: str, data: bytes) -> int:
    """Drop, take in and read the file whole, as ``process-file`` does (first page, then the rest)."""
    ctx.settings.inbox.mkdir(parents=True, exist_ok=True)
    path = ctx.settings.inbox / name
    path.write_bytes(data)
    result = intake_file(path, ctx)
    assert result.outcome == "accepted" and result.document_id is not None
    read_document(result.document_id, ctx)
    for page in unread_pages(ctx, result.document_id):
        read_document(page, ctx)
    return result.document_id


def test_the_application_template_holds_every_page(forms: Path) -> None:
    whole = application_template("app_p1")
    assert [f.name for f in whole.fields] == ["name", "phone", "copies", "reason"]
    assert field_pages("app_p1") == {"name": 0, "phone": 0, "copies": 1, "reason": 1}
    assert application_template("juminhyo_request") == load_template("juminhyo_request")


def test_two_pages_in_one_file_are_one_document(forms: Path, ctx: Any) -> None:
    p1, t1 = _page("app_p1", 3)
    p2, t2 = _page("app_p2", 4)
    head = _take(ctx, "申請書.pdf", _pdf([p1, p2]))

    doc = ctx.store.document(head)
    assert doc.form_id == "app_p1" and doc.status in (DocStatus.REVIEW, DocStatus.APPROVED)
    assert doc.page_count == 2 and doc.error_code is None
    assert [p.index for p in ctx.store.pages(head)] == [0, 1]
    fields = {f.name: f for f in ctx.store.fields(head)}
    assert {n: f.page_index for n, f in fields.items()} == {"name": 0, "phone": 0, "copies": 1, "reason": 1}
    values = ctx.store.values(head)
    assert values["copies"] == t2["copies"]  # the second page's values are the document's
    assert values["name"] == t1["name"]
    (second,) = [d for d in ctx.store.documents() if d.id != head]
    assert (second.status, second.application_id, second.source_page) == (DocStatus.BOUND, head, 1)
    events = [e.action for e in ctx.store.audit_events(head)]
    assert "document.page_bound" in events
    # Read again (a re-run after a crash): nothing changes, nothing is bound twice.
    assert read_document(second.id, ctx) == DocStatus.BOUND
    assert len(ctx.store.fields(head)) == 4


def test_a_scanner_batch_of_two_applications_is_two_documents(forms: Path, ctx: Any) -> None:
    pages = [_page(f, s)[0] for f, s in (("app_p1", 5), ("app_p2", 6), ("app_p1", 7), ("app_p2", 8))]
    _take(ctx, "まとめて.pdf", _pdf(pages))
    docs = ctx.store.documents()
    heads = [d for d in docs if d.status != DocStatus.BOUND]
    assert [d.source_page for d in heads] == [0, 2] or sorted(d.source_page for d in heads) == [0, 2]
    for d in heads:
        assert d.page_count == 2 and d.error_code is None
    bound = {d.source_page: d.application_id for d in docs if d.status == DocStatus.BOUND}
    assert bound == {
        1: next(h.id for h in heads if h.source_page == 0),
        3: next(h.id for h in heads if h.source_page == 2),
    }


def test_a_missing_second_page_goes_to_a_person_with_the_reason(forms: Path, ctx: Any) -> None:
    alone = _take(ctx, "1枚だけ.pdf", _pdf([_page("app_p1", 9)[0]]))
    doc = ctx.store.document(alone)
    assert doc.status == DocStatus.REVIEW and doc.error_code == "pages_missing"
    assert "2ページの申請書" in (doc.error_ja or "") and "2 pages" in (doc.error_en or "")


def test_another_form_after_the_first_page_ends_the_application(forms: Path, ctx: Any, sample: Any) -> None:
    other, _ = sample(40, font="ipag", dpi=150)  # a 住民票 request, not the application's second page
    head = _take(ctx, "混在.pdf", _pdf([_page("app_p1", 10)[0], other]))
    assert ctx.store.document(head).status == DocStatus.REVIEW
    assert ctx.store.document(head).error_code == "pages_missing"
    (second,) = [d for d in ctx.store.documents() if d.id != head]
    assert second.form_id == "juminhyo_request" and second.application_id is None
    assert second.status in (DocStatus.REVIEW, DocStatus.APPROVED)


def test_an_unreadable_second_page_ends_the_application(forms: Path, ctx: Any) -> None:
    noise = np.random.default_rng(1).integers(0, 255, (1754, 1240, 3), dtype=np.uint8)
    head = _take(ctx, "読めない.pdf", _pdf([_page("app_p1", 11)[0], noise]))
    assert ctx.store.document(head).error_code == "pages_missing"
    (second,) = [d for d in ctx.store.documents() if d.id != head]
    assert second.status == DocStatus.QUARANTINED


def test_template_check_on_pages(forms: Path) -> None:
    from authoring.lint import lint_template

    def codes(data: dict[str, Any]) -> set[str]:
        return {f.code for f in lint_template(Template.model_validate(data)) if f.is_error}

    assert codes(SECOND) == set() and codes(FIRST) == set()
    assert "continues_unknown" in codes(SECOND | {"continues": "nobody"})
    assert "continued_twice" in codes(SECOND | {"id": "app_p2b", "code": 16103})
    clash = SECOND | {
        "fields": [
            *SECOND["fields"],
            {"name": "phone", "label": "電話", "type": "phone", "box": [51, 100, 100, 10]},
        ]
    }
    assert "page_field_clash" in codes(clash)


# --- review and keying, in a real browser ----------------------------------------------------------------

MAPPING = """
  app_p1:
    search:
      goto: /uketsuke/search?ref={reference}
      found: "#results td.receipt"
      not_found: "#notfound"
    create:
      goto: /uketsuke/new
      steps:
        - {fill: "input[name=ref]", value: "{reference}"}
        - {fill: "input[name=yoshiki]", value: "申請書"}
        - {fill: "input[name=shimei]", value: "{name}"}
        - {fill: "input[name=tel]", value: "{phone|default:}"}
        - {fill: "textarea[name=bikou]", value: "通数:{copies} 理由:{reason}"}
        - {click: "input[name=register]", dialog: accept, submit: true}
      success: "#receipt"
      rejected: "#errors"
"""


@pytest.mark.slow
def test_an_application_is_reviewed_on_its_pages_and_keyed_as_one_record(
    forms: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, browser: Any, legacy: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from bots.mapping import MAPPINGS_DIR, load_mapping
    from bots.runner import BotSession
    from pipeline.context import Context
    from pipeline.keying import key_document
    from review.app import create_app
    from review.auth import hash_password
    from tests.conftest import ServerThread, free_port, make_settings
    from tests.legacy_rows import rows

    mappings = tmp_path / "mappings"
    mappings.mkdir()
    text = (MAPPINGS_DIR / "demo_legacy.yaml").read_text(encoding="utf-8")
    (mappings / "demo_legacy.yaml").write_text(text + MAPPING, encoding="utf-8")
    monkeypatch.setenv("DEJIRU_MAPPINGS_DIR", str(mappings))
    monkeypatch.setenv("DEJIRU_LEGACY_URL", legacy.url)
    ctx = Context.create(make_settings(tmp_path / "home", review_all=True))
    p2, t2 = _page("app_p2", 13)
    head = _take(ctx, "申請書.pdf", _pdf([_page("app_p1", 12)[0], p2]))
    assert ctx.store.document(head).status == DocStatus.REVIEW
    ctx.store.add_user("hanako", hash_password("kakunin-2026"), "reviewer")

    with ServerThread(create_app(ctx), free_port()) as srv:
        page = browser.new_page()
        page.goto(f"{srv.url}/login")
        page.fill("input[name=username]", "hanako")
        page.fill("input[name=password]", "kakunin-2026")
        page.click("#login")
        page.goto(f"{srv.url}/documents/{head}")
        # Both pages, each with its own zones; the second page's crops come from the second image.
        assert page.locator(".sheet").count() == 2
        assert page.eval_on_selector("#sheet-2 img", "i => i.complete && i.naturalWidth > 0")
        assert page.locator("#sheet-2 .zone[data-field=copies]").count() == 1
        assert page.locator("#sheet-1 .zone[data-field=copies]").count() == 0
        crop = page.get_attribute("#fields [aria-label=copies]", "style") or ""
        assert f"/documents/{head}/page.jpg?p=1" in crop
        assert httpx_get(page, f"{srv.url}/documents/{head}/crop/copies.png").startswith(b"\x89PNG")
        page.click("#approve")
        page.wait_for_load_state()
        page.close()
    assert ctx.store.document(head).status == DocStatus.APPROVED

    def key() -> str:
        with BotSession(load_mapping("demo_legacy"), tmp_path / "evidence") as bot:
            return key_document(ctx, head, bot)

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(key).result(timeout=120) == "done"
    (row,) = rows(legacy.db, "uketsuke")
    values = ctx.store.values(head)
    assert row["ref"] == f"DJ{head:08d}" and row["shimei"] == values["name"]
    assert (
        row["bikou"] == f"通数:{values['copies']} 理由:{values['reason'] or ''}"
    )  # the second page's values
    assert values["copies"] == t2["copies"]
    assert ctx.store.document(head).status == DocStatus.KEYED


def httpx_get(page: Any, url: str) -> bytes:
    """GET with the browser's session (its cookies), as the page itself would."""
    return page.request.get(url).body()


def test_a_further_pages_draft_continues_its_first_page_with_names_of_its_own(
    forms: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from authoring.propose import Proposed, renamed, to_yaml
    from dejiru.cli import app
    from formkit.kinds import FieldType
    from formkit.model import Box
    from formkit.registry import parse_template

    drafted = [
        Proposed("name", "氏名", FieldType("name"), Box(x=51, y=60, w=100, h=10)),
        Proposed("note", "備考", FieldType("text"), Box(x=51, y=90, w=100, h=10)),
    ]
    fields = renamed(drafted, {"name", "phone", "name_p2"}, "_p2")
    assert [f.name for f in fields] == ["name_p2_2", "note"]
    tpl = parse_template(to_yaml("app_p3", "申請書（3枚目）", "master.png", fields, continues="app_p2"))
    assert tpl.continues == "app_p2"

    blank = tmp_path / "blank.png"
    Image.new("RGB", (1240, 1754), "white").save(blank)
    res = CliRunner().invoke(
        app,
        [
            "template",
            "new",
            "app_p9",
            "--from",
            str(blank),
            "--continues",
            "nobody",
            "--out",
            str(tmp_path / "t.yaml"),
        ],
    )
    assert res.exit_code != 0 and not (tmp_path / "t.yaml").exists()


def test_a_second_page_alone_goes_to_a_person(forms: Path, ctx: Any) -> None:
    alone = _take(ctx, "2枚目だけ.pdf", _pdf([_page("app_p2", 14)[0]]))
    doc = ctx.store.document(alone)
    assert doc.form_id == "app_p2" and doc.status == DocStatus.REVIEW and doc.error_code == "pages_missing"
    assert "app_p1" in (doc.error_ja or "")
