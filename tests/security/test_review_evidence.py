"""Files from outside (a citizen's upload, a legacy system's page) never run in the review UI's origin,
and every page of the review UI carries headers that keep it its own."""

from __future__ import annotations

import json
import os

import pytest

from records.models import DocStatus
from tests.security.conftest import Site, login_page

pytestmark = pytest.mark.slow

XSS_NAME = "申請書<img src=x onerror=alert(1)>.html"


def payload(doc_id: int) -> bytes:
    """A page that, run as the reviewer, reads her CSRF token and saves a changed address."""
    return f"""<!doctype html><html><body><h1>申請書</h1><script>
alert("xss");
fetch("/documents/{doc_id}").then(r => r.text()).then(html => {{
  const csrf = html.match(/name="csrf" value="([^"]+)"/)[1];
  const revision = html.match(/name="revision" value="([^"]+)"/);
  const body = new URLSearchParams({{csrf, action: "save", f_address: "攻撃者の住所1-1-1",
                                     revision: revision ? revision[1] : "0"}});
  return fetch("/documents/{doc_id}/save", {{method: "POST", body}});
}});
</script></body></html>""".encode()


SVG = b"""<svg xmlns="http://www.w3.org/2000/svg"><script>alert("svg")</script><rect width="9" height="9"/></svg>"""


@pytest.fixture
def planted(site: Site):
    """A document under review, and an inbox that received an HTML page and an SVG with scripts."""
    doc_id, _ = site.scan("juminhyo_request", 301, "本物の申請書.jpg")
    assert site.ctx.store.document(doc_id).status == DocStatus.REVIEW
    for name, data in [(XSS_NAME, payload(doc_id)), ("地図.svg", SVG)]:
        assert site.drop(name, data).outcome == "quarantined"
    items = {e.source_name: e for e in site.ctx.store.exceptions()}
    return site, doc_id, items


def test_quarantined_html_never_runs_in_the_review_origin(planted, browser) -> None:
    """Stored XSS: an HTML file named with markup, dropped in the inbox, opened by a reviewer from the exception queue."""
    site, doc_id, items = planted
    before = site.ctx.store.values(doc_id)
    page = login_page(browser, site.url, "hanako")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{site.url}/exceptions")
    assert XSS_NAME in page.locator("#exceptions").inner_text()  # shown as text, not markup
    assert page.locator("#exceptions img").count() == 0
    for item in (items[XSS_NAME], items["地図.svg"]):
        with page.expect_download() as dl:
            page.click(f"a[href='/exceptions/{item.id}/evidence/quarantine']")
        name = dl.value.suggested_filename
        assert not name.endswith((".html", ".svg", ".htm")) and "<" not in name
    page.wait_for_timeout(500)  # time for a script that did run to finish its fetches
    assert dialogs == []
    assert site.ctx.store.values(doc_id) == before
    assert not [e for e in site.ctx.store.audit_events(doc_id) if e.action == "field.correct"]
    page.close()


def test_evidence_is_an_attachment_with_a_sniffed_type(planted) -> None:
    """Stored XSS: the quarantined page fetched directly must not be text/html in the app's origin."""
    site, _doc_id, items = planted
    with site.client("hanako") as c:
        for item in (items[XSS_NAME], items["地図.svg"]):
            r = c.get(f"/exceptions/{item.id}/evidence/quarantine")
            assert r.status_code == 200
            assert r.headers["content-type"] == "application/octet-stream"
            assert r.headers["content-disposition"].startswith("attachment;")
            assert r.headers["content-security-policy"] == "sandbox"
            assert r.headers["x-content-type-options"] == "nosniff"
            r = c.get(f"/exceptions/{item.id}/evidence/reason")
            assert r.headers["content-type"].startswith("text/plain")
            assert r.headers["content-disposition"].startswith("attachment;")


def _bot_failure(site: Site, doc_id: int):
    """Evidence as a failed keying leaves it: a screenshot, the legacy page's HTML (with a script of its
    own) and a Playwright trace."""
    folder = site.ctx.settings.evidence / "DJ00000001"
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "screenshot": folder / "x.png",
        "html": folder / "x.html",
        "trace": folder / "x.trace.zip",
    }
    files["screenshot"].write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    files["html"].write_bytes(b"<html><script>alert('legacy')</script></html>")
    files["trace"].write_bytes(b"PK\x03\x04" + b"\0" * 64)
    site.ctx.store.add_exception(
        code="business_rule",
        ja="対象システムが登録を受け付けませんでした",
        en="rejected",
        document_id=doc_id,
        evidence={k: str(v) for k, v in files.items()},
    )
    return next(e for e in site.ctx.store.exceptions() if e.code == "business_rule")


def test_legacy_page_and_trace_are_for_those_who_fix_bots(planted) -> None:
    """Evidence by role: a reviewer cannot pull the legacy page's HTML or the trace of every keyed value."""
    site, doc_id, _ = planted
    item = _bot_failure(site, doc_id)
    with site.client("hanako") as c:
        assert c.get(f"/exceptions/{item.id}/evidence/screenshot").headers["content-type"] == "image/png"
        for kind in ("html", "trace"):
            assert c.get(f"/exceptions/{item.id}/evidence/{kind}").status_code == 403
        listing = c.get("/exceptions").text
        assert f"/exceptions/{item.id}/evidence/screenshot" in listing
        assert f"/exceptions/{item.id}/evidence/trace" not in listing
    with site.client("boss") as c:
        html = c.get(f"/exceptions/{item.id}/evidence/html")
        assert html.status_code == 200 and html.headers["content-type"] == "application/octet-stream"
        assert html.headers["content-security-policy"] == "sandbox"
        trace = c.get(f"/exceptions/{item.id}/evidence/trace")
        assert trace.headers["content-type"] == "application/zip"
        assert trace.headers["content-disposition"].startswith("attachment;")
    views = [e for e in site.ctx.store.audit_events() if e.action == "evidence.view"]
    assert {e.user for e in views} == {"hanako", "boss"}


def test_a_link_planted_in_quarantine_is_not_followed(planted, tmp_path) -> None:
    """Evidence path traversal: a symbolic link in quarantine pointing at a secret outside is not served."""
    site, _doc_id, items = planted
    secret = tmp_path / "secret.txt"
    secret.write_text("役所の秘密")
    item = items["地図.svg"]
    stored = json.loads(item.evidence)["quarantine"]
    os.replace(stored, stored + ".moved")
    os.symlink(secret, stored)
    with site.client("hanako") as c:
        r = c.get(f"/exceptions/{item.id}/evidence/quarantine")
        assert r.status_code == 404 and "役所の秘密" not in r.text
        assert c.get(f"/exceptions/{item.id}/evidence/../../../etc/passwd").status_code == 404
        assert c.get(f"/exceptions/{item.id}/evidence/nonsense").status_code == 404


PAGES = ["/login", "/queue", "/exceptions", "/search", "/kpi", "/audit", "/templates", "/admin/users"]


def test_every_page_carries_the_security_headers(site: Site) -> None:
    """Clickjacking, content sniffing, referrer leaks and injected scripts: every page states its policy."""
    doc_id, _ = site.scan("juminhyo_request", 302, "申請書.jpg")
    with site.client("root") as c:
        for path in [*PAGES, f"/documents/{doc_id}", f"/documents/{doc_id}/page.jpg", "/static/style.css"]:
            r = c.get(path)
            assert r.status_code in (200, 303), path
            csp = r.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
            assert (
                "script-src 'self'" in csp
                and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
            )
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "same-origin"
            assert "strict-transport-security" not in r.headers  # plain HTTP: no HSTS promise


def test_pages_work_under_the_policy(site: Site, browser) -> None:
    """Policy breakage: the security policy blocks nothing the UI needs (a real browser reports no violation)."""
    doc_id, _ = site.scan("juminhyo_request", 303, "申請書.jpg")
    page = login_page(browser, site.url, "root")
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    for path in [*PAGES, f"/documents/{doc_id}", "/templates/juminhyo_request/edit"]:
        page.goto(f"{site.url}{path}")
        page.wait_for_load_state("networkidle")
    assert violations == []
    page.close()
