"""抜き取り検査 (audit sampling): documents that would go straight through are drawn for a blind check of
every field, the outcomes become unbiased labels, the KPI page measures the silent-error rate from
them, and ``dejiru calibrate --from-store`` learns from them.

Real scans read by the real reader, a real review server spoken to over HTTP. The share is set to 1
or 0 so that the draw is known; the draw itself is checked for determinism and spread apart."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from formkit.registry import load_template
from pipeline.audit import sampled
from pipeline.calibrate import from_store
from pipeline.keying import approved_documents
from pipeline.reading import read_document
from records.models import AuditLabel, DocStatus
from records.store import FieldInput, PageInput
from tests.conftest import make_settings
from tests.security.conftest import Site, form_data, login_page, start_site
from validation.wareki import format_wareki

FORM = "inkan_request"


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', page)
    assert found
    return found.group(1)


def paper_entries(truth: dict[str, Any], **changed: Any) -> dict[str, Any]:
    """The blind form as a person fills it from the paper: dates in 和暦, ticks as ticks, blanks blank."""
    tpl = load_template(FORM)
    data: dict[str, Any] = {}
    for spec in tpl.fields:
        value = changed.get(spec.name, truth["fields"][spec.name])
        if value is None or value == [] or value is False:
            continue
        if spec.type == "date":
            value = format_wareki(dt.date.fromisoformat(value))
        data[f"f_{spec.name}"] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data


@pytest.fixture
def drawn(tmp_path: Path) -> Iterator[tuple[Site, int, dict[str, Any]]]:
    """A review server with every straight-through document drawn (share 1) and one confident reading
    (the clean 印鑑登録証明書 request that test_review_integrity uses for the ダブルチェック)."""
    for site in start_site(tmp_path / "home", review_all=False, audit_share=1.0):
        doc_id, truth = site.confident_scan(FORM, "印鑑.jpg")
        yield site, doc_id, truth


@pytest.mark.slow
def test_a_drawn_document_waits_for_a_blind_check_of_every_field(drawn) -> None:
    """Share 1: a confident reading goes to the 抜き取り検査, not to keying, and shows nothing read."""
    site, doc_id, truth = drawn
    doc = site.ctx.store.document(doc_id)
    assert doc.straight_through is True and doc.status == DocStatus.AUDIT
    assert doc_id not in approved_documents(site.ctx, "demo_legacy")
    assert site.ctx.store.review_task(doc_id).first_reviewer == "OCR"
    events = [(e.action, e.detail) for e in site.ctx.store.audit_events(doc_id)]
    assert ("document.audit_sampled", "share=1") in events
    with site.client("hanako") as c:
        assert "抜き取り検査" in c.get("/queue").text
        page = c.get(f"/documents/{doc_id}").text
    assert 'id="audit-help"' in page
    tpl = load_template(FORM)
    assert all(f'name="f_{spec.name}"' in page for spec in tpl.fields)  # every field, not only double-entry
    for value in ("前田", "マエダ", "小平市", truth["fields"]["card_number"], truth["fields"]["phone"]):
        assert value not in page  # blind: nothing the OCR read is on the page


@pytest.mark.slow
def test_a_blind_check_that_matches_is_approved_and_labelled(drawn) -> None:
    """Every entry equal to the reading: approved as read, one settled label per field."""
    site, doc_id, truth = drawn
    with site.client("hanako") as c:
        page = c.get(f"/documents/{doc_id}").text
        r = c.post(f"/documents/{doc_id}/double-check", data={"csrf": csrf_of(page)} | paper_entries(truth))
        assert r.status_code == 303, r.text
    doc = site.ctx.store.document(doc_id)
    assert doc.status == DocStatus.APPROVED and doc.approved_by == "OCR+hanako"
    assert doc_id in approved_documents(site.ctx, "demo_legacy")
    labels = site.ctx.store.audit_labels(doc_id)
    assert sorted(label.field for label in labels) == sorted(f.name for f in load_template(FORM).fields)
    assert all(label.matched and label.correct and label.settled for label in labels)
    assert all(label.user == "hanako" and label.form_id == FORM for label in labels)
    card = next(label for label in labels if label.field == "card_number")
    assert card.unchecked is False  # a double-entry field is keyed blind anyway: never a silent error


@pytest.mark.slow
def test_a_blind_check_that_differs_goes_to_review_with_the_fields_marked(drawn) -> None:
    """Entries that differ: review with those fields marked; the review decides who was right."""
    site, doc_id, truth = drawn
    with site.client("hanako") as c:
        page = c.get(f"/documents/{doc_id}").text
        entries = paper_entries(truth, phone="042-584-5555", copies=3)
        r = c.post(f"/documents/{doc_id}/double-check", data={"csrf": csrf_of(page)} | entries)
        assert r.status_code == 422 and "phone" in r.text and "copies" in r.text
    assert site.ctx.store.document(doc_id).status == DocStatus.REVIEW
    fields = {f.name: f for f in site.ctx.store.fields(doc_id)}
    assert {n for n, f in fields.items() if f.needs_review} == {"phone", "copies"}
    assert "audit_mismatch" in fields["phone"].reasons and "042-584-5555" in fields["phone"].reasons
    labels = {label.field: label for label in site.ctx.store.audit_labels(doc_id)}
    assert len(labels) == len(fields)
    for name in ("phone", "copies"):
        assert not labels[name].matched and not labels[name].correct and not labels[name].settled
        assert json.loads(labels[name].ocr_value or "null") == json.loads(fields[name].ocr_value)
    assert json.loads(labels["copies"].keyed_value or "null") == 3
    assert all(lab.matched and lab.settled for n, lab in labels.items() if n not in ("phone", "copies"))
    actions = [e.action for e in site.ctx.store.audit_events(doc_id)]
    assert "document.audit_check_mismatch" in actions

    # The reviewer looks at the paper: the phone number was read right (the blind entry slipped), the
    # number of copies was not.
    with site.client("taro") as c:
        page = c.get(f"/documents/{doc_id}").text
        data = form_data(page) | {"action": "approve", "f_phone": truth["fields"]["phone"], "f_copies": "3"}
        assert c.post(f"/documents/{doc_id}/save", data=data).status_code == 303
    labels = {label.field: label for label in site.ctx.store.audit_labels(doc_id)}
    assert labels["phone"].settled and labels["phone"].correct  # the OCR was right
    assert labels["copies"].settled and not labels["copies"].correct  # the OCR was wrong
    assert site.ctx.store.document(doc_id).status == DocStatus.DOUBLE_CHECK  # the form's own check follows


@pytest.mark.slow
def test_the_blind_form_is_keyed_from_the_keyboard(drawn, browser) -> None:
    """In a real browser: Enter moves to the next entry (a half-keyed form is never sent), Ctrl+Enter
    compares, and an entry that cannot be read comes back under its field with what was typed."""
    site, doc_id, _ = drawn
    page = login_page(browser, site.url, "hanako")
    page.goto(f"{site.url}/documents/{doc_id}")
    page.fill("input[name=f_request_date]", "令和十十年1月1日")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.name") == "f_card_number"
    assert site.ctx.store.document(doc_id).status == DocStatus.AUDIT
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#error-request_date")
    assert "数字が読めません" in page.locator("#error-request_date").inner_text()
    assert page.locator("input[name=f_request_date]").input_value() == "令和十十年1月1日"
    assert site.ctx.store.document(doc_id).status == DocStatus.AUDIT  # nothing compared
    page.close()


@pytest.mark.slow
def test_share_zero_routes_as_before(tmp_path: Path) -> None:
    """Share 0: nothing is drawn; the confident reading takes its usual way (here the ダブルチェック)."""
    for site in start_site(tmp_path / "home", review_all=False, audit_share=0.0):
        doc_id, _ = site.confident_scan(FORM, "印鑑.jpg")
        assert site.ctx.store.document(doc_id).status == DocStatus.DOUBLE_CHECK
        assert site.ctx.store.audit_labels() == []
        assert "document.audit_sampled" not in [e.action for e in site.ctx.store.audit_events(doc_id)]


@pytest.mark.slow
def test_a_reread_document_is_drawn_the_same_way(drawn) -> None:
    """The draw depends on the document and the installation's key only: reading again does not redraw."""
    site, doc_id, _ = drawn
    secret = site.ctx.settings.secret_key()
    for share in (0.3, 0.5, 0.7):
        site.ctx.store.set_status(doc_id, DocStatus.RECEIVED)
        ctx = dataclasses.replace(
            site.ctx, settings=site.ctx.settings.model_copy(update={"audit_share": share})
        )
        status = read_document(doc_id, ctx)
        sha = site.ctx.store.document(doc_id).sha256
        assert (status == DocStatus.AUDIT) == sampled(secret, sha, share)
        assert read_document(doc_id, ctx) == status  # a finished document is not read again


def test_the_draw_is_deterministic_keyed_and_near_the_share() -> None:
    """Same key and document: same draw; another key draws other documents; about share of all."""
    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(4000)]
    mine = [sampled("key-one", h, 0.1) for h in hashes]
    assert mine == [sampled("key-one", h, 0.1) for h in hashes]
    assert 0.08 < sum(mine) / len(mine) < 0.12
    theirs = [sampled("key-two", h, 0.1) for h in hashes]
    assert mine != theirs  # without the key, which document is drawn cannot be told
    assert all(sampled("k", h, 1.0) for h in hashes[:50]) and not any(
        sampled("k", h, 0.0) for h in hashes[:50]
    )


def test_the_share_setting_is_a_number_from_0_to_1(monkeypatch) -> None:
    """DEJIRU_AUDIT_SHARE: 0.02 unless set; a value outside 0–1 or not a number stops the start."""
    from core.settings import load_settings

    monkeypatch.delenv("DEJIRU_AUDIT_SHARE")
    assert load_settings().audit_share == 0.02
    monkeypatch.setenv("DEJIRU_AUDIT_SHARE", "0.5")
    assert load_settings().audit_share == 0.5
    for bad in ("2", "-0.1", "two percent", "nan"):
        monkeypatch.setenv("DEJIRU_AUDIT_SHARE", bad)
        with pytest.raises(ValueError, match="DEJIRU_AUDIT_SHARE"):
            load_settings()


@pytest.mark.slow
def test_the_kpi_page_shows_the_silent_error_rate_with_an_interval(drawn) -> None:
    """Supervisors see the measured rate per form and field type, its 95 % interval and a too-few note."""
    site, doc_id, truth = drawn
    with site.client("boss") as c:
        assert "まだ抜き取り検査の結果がありません" in c.get("/kpi").text
    with site.client("hanako") as c:
        page = c.get(f"/documents/{doc_id}").text
        entries = paper_entries(truth, phone="042-584-5555")  # one difference, not yet decided: an error
        c.post(f"/documents/{doc_id}/double-check", data={"csrf": csrf_of(page)} | entries)
    n = len(load_template(FORM).fields)
    with site.client("boss") as c:
        page = c.get("/kpi").text
        row = _row(page, "silent-all", "all")
        assert f"{100 / n:.2f}%" in row  # 1 of n fields
        low, high = re.findall(r'class="interval">([\d.]+)〜([\d.]+)%', row)[0]
        assert float(low) < 100 / n < float(high)
        assert "何とも言えません" in row  # one document: too few to say anything
        assert f"<td>1</td><td>{n}</td><td>1</td><td>1</td>" in row  # errors, fields, documents, pending
        phone = _row(page, "silent-types", "phone")
        assert "電話番号" in phone and "100.00%" in phone
        assert "印鑑登録証明書" in _row(page, "silent-forms", FORM)
        c.cookies.set("lang", "en")
        english = c.get("/kpi").text
        assert "Silent-error rate" in english and "Too few audited to say anything yet" in english


def _row(page: str, table: str, key: str) -> str:
    body = page.split(f'id="{table}"')[1].split("</table>")[0]
    found = re.search(rf'<tr data-key="{key}">(.*?)</tr>', body, re.S)
    assert found, (table, key)
    return html.unescape(found.group(1))


def _reading(store: Any, name: str, fields: list[FieldInput], status: DocStatus) -> int:
    doc, _ = store.add_document(hashlib.sha256(name.encode()).hexdigest(), name, "/dev/null", 1)
    store.save_reading(
        doc.id,
        form_id=FORM,
        form_version=1,
        engine="test",
        pages=[PageInput(0, "/dev/null")],
        fields=fields,
        status=status,
        straight_through=status != DocStatus.REVIEW,
    )
    return int(doc.id)


def _field(name: str, ftype: str, value: Any, confidence: float, doubtful: bool = False) -> FieldInput:
    reasons = [{"code": "low_confidence", "ja": "低い", "en": "low"}] if doubtful else []
    return FieldInput(name, ftype, value, str(value), confidence, [], reasons, doubtful, [0, 0, 1, 1])


def test_calibrate_from_store_learns_from_audit_labels(tmp_path: Path, monkeypatch) -> None:
    """--from-store: audit labels weighted for all sure fields, doubtful fields as decided, not the rest."""
    from core import settings as config
    from dejiru import cli
    from pipeline.context import Context

    settings = make_settings(tmp_path / "home")
    ctx = Context.create(settings)
    store = ctx.store
    runner = CliRunner()
    monkeypatch.setenv("DEJIRU_HOME", str(settings.home))
    monkeypatch.setenv("DEJIRU_DATABASE_URL", settings.database_url)
    config.settings.cache_clear()
    out = tmp_path / "thresholds.json"
    refused = runner.invoke(cli.app, ["calibrate", "--from-store", "--out", str(out)])
    assert refused.exit_code == 1 and "抜き取り検査" in refused.output  # nothing audited: nothing learnt

    # Three straight-through documents; one of them audited, its phone misread.
    sure = [
        _reading(store, f"s{i}", [_field("phone", "phone", "042-584-5554", 0.97)], DocStatus.APPROVED)
        for i in range(3)
    ]
    store.add_audit_labels(
        sure[0],
        [
            AuditLabel(document_id=sure[0], form_id=FORM, field="phone", type="phone", ocr_value='"042-584-5554"',
                       keyed_value='"042-584-5555"', confidence=0.97, matched=False, correct=False, settled=True,
                       user="hanako")
        ],
    )  # fmt: skip
    # A reviewed document: its doubtful phone decided (corrected), its sure name nobody was asked about.
    reviewed = _reading(
        store,
        "r",
        [
            _field("phone", "phone", "042-000-0000", 0.41, doubtful=True),
            _field("name", "name", "前田　智子", 0.99),
        ],
        DocStatus.REVIEW,
    )
    store.correct_field(reviewed, "phone", "042-000-0001", "taro", reasons=[], needs_review=False)
    store.close_review(reviewed, "taro", "approved", DocStatus.APPROVED)

    labels = list(from_store(ctx))
    audited = [d for d in labels if d.confidence == 0.97]
    assert len(audited) == 1 and not audited[0].correct
    assert audited[0].weight == 3.0  # stands for the three sure phone fields read
    decided = [d for d in labels if d.confidence == 0.41]
    assert len(decided) == 1 and not decided[0].correct and decided[0].weight == 1.0
    assert not any(d.type == "name" for d in labels)  # never audited: its sure field says nothing

    result = runner.invoke(cli.app, ["calibrate", "--from-store", "--target", "0.01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text(encoding="utf-8"))
    assert "1 audited fields" in written["source"] and "1 decided doubtful" in written["source"]
    # The audited misreading at 0.97 weighs three fields: accepting it would break 1 %.
    assert written["thresholds"]["phone"] > 0.97
    config.settings.cache_clear()
