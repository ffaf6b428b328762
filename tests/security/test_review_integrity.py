"""What a reviewer sees and changes stays honest: two readings where the form asks for two, 個人番号
masked everywhere, every look at a scan audited, no lost update, no 500 for a made-up ID, and no
template edit that unmasks personal data."""

from __future__ import annotations

import json
import re
import shutil

import httpx
import pytest

from pipeline.keying import approved_documents
from records.models import DocStatus
from tests.conftest import REPO
from tests.security.conftest import Site, start_site

pytestmark = pytest.mark.slow


def csrf_of(html: str) -> str:
    return html.split('name="csrf" value="')[1].split('"')[0]


def revision_of(html: str) -> str:
    found = re.search(r'name="revision" value="([^"]*)"', html)
    return found.group(1) if found else ""


def test_a_confident_reading_does_not_skip_the_double_check(tmp_path) -> None:
    """ダブルチェック skipped: a form with double-entry fields read confidently is not keyed on one reading."""
    for s in start_site(tmp_path / "home", review_all=False):
        # A clean printed 印鑑登録証明書 request that the reader takes with full confidence.
        doc_id, truth = s.confident_scan("inkan_request", "印鑑.jpg")
        doc = s.ctx.store.document(doc_id)
        assert doc.straight_through is True
        assert doc.status == DocStatus.DOUBLE_CHECK
        assert doc_id not in approved_documents(s.ctx, "demo_legacy")
        with s.client("hanako") as c:
            page = c.get(f"/documents/{doc_id}").text
            assert truth["fields"]["card_number"] not in page  # blind: the OCR's value is not shown
            c.post(
                f"/documents/{doc_id}/double-check",
                data={"csrf": csrf_of(page), "f_card_number": truth["fields"]["card_number"]},
            )
        doc = s.ctx.store.document(doc_id)
        assert doc.status == DocStatus.APPROVED and doc.approved_by == "OCR+hanako"


def test_the_audit_view_does_not_reveal_the_first_entry(site: Site) -> None:
    """ダブルチェック seen: during the check a supervisor's audit view does not show the first value."""
    doc_id, truth = site.scan("inkan_request", 51, "印鑑.jpg")
    number = truth["fields"]["card_number"]
    other = str((int(number) + 1) % 10**8).zfill(len(number))
    with site.client("hanako") as c:
        page = c.get(f"/documents/{doc_id}").text
        values = {k: v for k, v in site.ctx.store.values(doc_id).items()}
        data = {
            "csrf": csrf_of(page),
            "revision": revision_of(page),
            "action": "save",
            "f_card_number": other,
        }
        c.post(f"/documents/{doc_id}/save", data=data)
        assert site.ctx.store.values(doc_id)["card_number"] == other != values["card_number"]
        site.ctx.store.first_approval(doc_id, "hanako")
    with site.client("boss") as c:
        for path in (f"/documents/{doc_id}/audit", "/audit", f"/documents/{doc_id}"):
            html = c.get(path).text
            assert other not in html and number not in html, path


def test_mynumber_stays_masked_after_a_correction(site: Site) -> None:
    """個人番号 leak: the OCR's original shown beside a corrected value is masked like the value."""
    doc_id, truth = site.scan("hihokensha_shikaku_shutoku", 7, "資格取得届.jpg")
    mine = truth["fields"]["individual_number"]
    with site.client("hanako") as c:
        page = c.get(f"/documents/{doc_id}").text
        assert mine not in page
        typed = mine[:-1] + str((int(mine[-1]) + 3) % 10)  # a slip: corrected, then shown again
        data = {
            "csrf": csrf_of(page),
            "revision": revision_of(page),
            "action": "save",
            "f_individual_number": typed,
        }
        after = c.post(f"/documents/{doc_id}/save", data=data).text
        digits = set(re.findall(r"\d{12}", after))
        assert mine not in digits and typed not in digits
        assert "✎ OCR: ****" in after
    with site.client("boss") as c:
        audit = c.get(f"/documents/{doc_id}/audit").text
        assert mine not in audit and typed not in audit


def test_every_look_at_a_scan_is_audited(site: Site) -> None:
    """Scans pulled unseen: page images and field crops fetched by ID each leave an audit entry."""
    doc_id, _ = site.scan("juminhyo_request", 311, "申請書.jpg")
    with site.client("taro") as c:
        assert c.get(f"/documents/{doc_id}/page.jpg").status_code == 200
        assert c.get(f"/documents/{doc_id}/crop/name.png").status_code == 200
    seen = [(e.user, e.action, e.detail) for e in site.ctx.store.audit_events(doc_id)]
    assert ("taro", "page.view", None) in seen and ("taro", "crop.view", "name") in seen


def test_a_later_save_does_not_undo_an_earlier_one(site: Site) -> None:
    """Lost update: two reviewers save the same document; the second, based on an old screen, is refused."""
    doc_id, _ = site.scan("juminhyo_request", 312, "申請書.jpg")
    first, second = site.client("hanako"), site.client("taro")
    page1, page2 = first.get(f"/documents/{doc_id}").text, second.get(f"/documents/{doc_id}").text
    save = {"action": "save", "f_phone": "042-111-2222"}
    r1 = first.post(
        f"/documents/{doc_id}/save", data=save | {"csrf": csrf_of(page1), "revision": revision_of(page1)}
    )
    assert r1.status_code == 200
    r2 = second.post(
        f"/documents/{doc_id}/save",
        data=save | {"f_phone": "03-9999-9999", "csrf": csrf_of(page2), "revision": revision_of(page2)},
    )
    assert r2.status_code == 409 and "先に保存" in r2.text
    assert site.ctx.store.values(doc_id)["phone"] == "042-111-2222"


def test_unknown_ids_are_not_found_not_errors(site: Site) -> None:
    """Probing IDs: a made-up document, exception or field answers 404, never a 500 with a traceback."""
    with site.client("root") as c:
        csrf = csrf_of(c.get("/queue").text)
        for path in [
            "/documents/987654",
            "/documents/987654/page.jpg",
            "/documents/987654/crop/name.png",
            "/documents/987654/audit",
            "/exceptions/987654/evidence/quarantine",
        ]:
            assert c.get(path).status_code == 404, path
        for path in ["/documents/987654/save", "/documents/987654/reject", "/documents/987654/double-check"]:
            assert c.post(path, data={"csrf": csrf, "reason": "x"}).status_code == 404, path
        assert c.get("/documents/not-a-number").status_code in (404, 422)


@pytest.fixture
def editor_site(tmp_path, monkeypatch):
    from formkit.registry import clear_cache

    templates = tmp_path / "form_templates"
    shutil.copytree(REPO / "form_templates", templates, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    monkeypatch.setenv("DEJIRU_TEMPLATES_DIR", str(templates))
    clear_cache()
    yield from start_site(tmp_path / "home")
    clear_cache()


FORM = "hihokensha_shikaku_shutoku"


def _editor_state(c: httpx.Client) -> tuple[list[dict], str, str]:
    html = c.get(f"/templates/{FORM}/edit").text
    data = json.loads(html.split('id="tpl-data">')[1].split("</script>")[0])
    return data["fields"], data["base"], data["csrf"]


def test_an_author_cannot_unmask_the_mynumber_field(editor_site: Site, tmp_path) -> None:
    """Unmasking 個人番号: an author deletes the field and adds it back without `sensitive`."""
    path = tmp_path / "form_templates" / FORM / "template.yaml"
    before = path.read_bytes()
    with editor_site.client("aki") as c:
        fields, base, csrf = _editor_state(c)
        spec = next(f for f in fields if f["name"] == "individual_number")
        again = {k: v for k, v in spec.items() if k not in ("orig", "sensitive")} | {"rules": []}
        posted = [f for f in fields if f["name"] != "individual_number"] + [again]
        r = c.post(
            f"/templates/{FORM}/save", json={"fields": posted, "base": base}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 403 and not r.json()["ok"]
    assert path.read_bytes() == before


def test_a_template_save_keeps_the_authors_comments(editor_site: Site, tmp_path) -> None:
    """Silent loss: saving a template (with or without a change) keeps every comment line of the file."""
    path = tmp_path / "form_templates" / FORM / "template.yaml"
    comments = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if "#" in line]
    with editor_site.client("aki") as c:
        fields, base, csrf = _editor_state(c)
        r = c.post(
            f"/templates/{FORM}/save", json={"fields": fields, "base": base}, headers={"X-CSRF-Token": csrf}
        )
        assert r.json()["ok"]
        fields[0]["label"] += "（変更）"
        r = c.post(
            f"/templates/{FORM}/save",
            json={"fields": fields, "base": r.json()["base"]},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.json()["ok"]
    after = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if "#" in line]
    assert [x for x in comments if x.startswith("#")] == [x for x in after if x.startswith("#")]


def test_a_mynumber_field_is_masked_whatever_the_file_says() -> None:
    """Unmasking 個人番号 by hand: a field checked as a 個人番号 is sensitive even if the YAML says false."""
    from formkit.model import FieldSpec

    spec = FieldSpec.model_validate(
        {"name": "mn", "label": "個人番号", "type": "digits", "box": [0, 0, 50, 8], "cells": 12,
         "rules": ["mynumber"], "sensitive": False}
    )  # fmt: skip
    assert spec.sensitive
