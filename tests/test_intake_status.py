"""受付状況 in a real browser, per role: staff who only drop scans see what became of each file (received,
waiting for a person, registered, not accepted with the reason) and the form it was read as, search by
file name and day, and never a value; reviewers get a link into the document; nobody signed out gets in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from pipeline.context import Context
from pipeline.intake import intake_file
from records.models import DocStatus
from review.app import create_app
from review.auth import hash_password
from tests.conftest import ServerThread, browser_login, free_port, http_login, make_settings
from tests.test_online_export import GOOD, as_csv

PASSWORD = "correct horse battery"
PNG_HEAD = b"\x89PNG\r\n\x1a\n"


def drop(ctx: Context, name: str, data: bytes) -> Any:
    path = ctx.settings.inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return intake_file(path, ctx)


@pytest.fixture
def served(tmp_path: Any) -> Iterator[tuple[Context, str]]:
    ctx = Context.create(make_settings(tmp_path / "home"))
    # An online export: one application straight through (then keyed), one for review, one refused row.
    rows = [
        GOOD,
        GOOD | {"申請番号": "E2", "郵便番号": "100-0001"},
        GOOD | {"申請番号": "E3", "生年月日": "x"},
    ]
    drop(ctx, "電子申請_1124.csv", as_csv(rows))
    approved = [d for d in ctx.store.documents(limit=10) if d.status == DocStatus.APPROVED]
    ctx.store.set_status(approved[0].id, DocStatus.KEYED)
    drop(ctx, "壊れたスキャン.png", PNG_HEAD + b"not really a png")  # refused: no document at all
    for name, role in [("uketsuke", "staff"), ("rev", "reviewer")]:
        ctx.store.add_user(name, hash_password(PASSWORD), role)
    with ServerThread(create_app(ctx), free_port()) as srv:
        yield ctx, srv.url


def login(browser: Any, url: str, user: str) -> Any:
    return browser_login(browser, url, user, PASSWORD)


@pytest.mark.slow
def test_staff_see_every_files_fate_and_no_value(served: Any, browser: Any) -> None:
    ctx, url = served
    page = login(browser, url, "uketsuke")
    page.wait_for_url(f"{url}/intake")  # where a staff login lands
    table = page.inner_text("#fates")
    assert "登録済み" in table and "確認待ち" in table and "受付できません" in table
    assert "住民票" in table  # the form it was read as
    assert "壊れたスキャン.png" in table and "電子申請_1124.csv" in table
    assert "E3" in table  # the refused row's reason names the application, not its values
    for value in ("山田", "花子", "1985", "042-561"):
        assert value not in page.content()
    assert page.locator("#fates a").count() == 0  # no way into a document for staff
    # Search by part of the file name.
    page.fill("input[name=q]", "壊れた")
    page.click("#intake-filter button")
    page.wait_for_url("**/intake?q=*")
    rows = page.locator("#fates tr.fate-refused")
    expect(rows).to_have_count(1)  # waits for the filtered page, not the one it replaces
    assert "壊れたスキャン.png" in rows.inner_text()
    # Another day shows nothing of today's.
    page.goto(f"{url}/intake?day=2026-01-05")
    assert "電子申請_1124.csv" not in page.inner_text("#fates")
    # English.
    page.goto(f"{url}/lang/en")
    page.goto(f"{url}/intake")
    assert "Not accepted" in page.inner_text("#fates") and "Registered" in page.inner_text("#fates")
    # Reviewers' pages stay closed to staff.
    assert page.goto(f"{url}/queue").status == 403
    doc = ctx.store.documents(limit=1)[0]
    assert page.goto(f"{url}/documents/{doc.id}").status == 403
    page.close()


@pytest.mark.slow
def test_a_reviewer_gets_links_into_the_documents(served: Any, browser: Any) -> None:
    _, url = served
    page = login(browser, url, "rev")
    page.goto(f"{url}/intake")
    links = page.locator("#fates a")
    assert links.count() == 2  # the two applications that became documents
    links.first.click()
    page.wait_for_url(f"{url}/documents/*")
    page.close()


def test_nobody_signed_out_and_no_hostile_search_gets_anything(served: Any) -> None:
    _, url = served
    r = httpx.get(f"{url}/intake", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    with httpx.Client(base_url=url) as client:
        http_login(client, url, "uketsuke", PASSWORD)
        for q in ("%", "_", "\\", "' OR 1=1 --", "<script>alert(1)</script>", "x" * 10_000):
            r = client.get("/intake", params={"q": q, "day": "not-a-date", "days": "-5"})
            assert r.status_code == 200
            assert "<script>alert(1)" not in r.text
        r = client.get("/intake", params={"q": "%"})
        assert "電子申請_1124.csv" not in r.text  # a % is a character, not a wildcard


def test_the_admin_menu_links_a_document_to_its_flow_runs(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4321/api")
    ctx = Context.create(make_settings(tmp_path / "home"))
    drop(ctx, "e.csv", as_csv([GOOD | {"郵便番号": "100-0001"}]))
    doc = ctx.store.documents(limit=1)[0]
    run = "0b7e6c1e-33b5-4c4c-9d1e-6b2f1b1f4a10"
    ctx.store.audit("dejiru", "flow.run", doc.id, detail=f"process-file {run}")
    ctx.store.audit("dejiru", "flow.run", doc.id, detail="process-file javascript:alert(1)")  # not a run ID
    for name, role in [("boss", "supervisor"), ("rev", "reviewer")]:
        ctx.store.add_user(name, hash_password(PASSWORD), role)
    with ServerThread(create_app(ctx), free_port()) as srv, httpx.Client(base_url=srv.url) as client:
        http_login(client, srv.url, "boss", PASSWORD)
        html = client.get(f"/documents/{doc.id}").text
        assert f'href="http://127.0.0.1:4321/runs/flow-run/{run}"' in html and "javascript:" not in html
        client.post("/logout", data={"csrf": ""})
    with ServerThread(create_app(ctx), free_port()) as srv, httpx.Client(base_url=srv.url) as client:
        http_login(client, srv.url, "rev", PASSWORD)
        assert "flow-run" not in client.get(f"/documents/{doc.id}").text  # the admin menu only


def test_every_role_sees_the_page_and_only_reviewers_get_links(served: Any) -> None:
    ctx, url = served
    for name, role in [("c", "counter"), ("s", "supervisor"), ("a", "author"), ("root", "admin")]:
        ctx.store.add_user(name, hash_password(PASSWORD), role)
    for name, links in [
        ("uketsuke", False),
        ("c", False),
        ("a", False),
        ("rev", True),
        ("s", True),
        ("root", True),
    ]:
        with httpx.Client(base_url=url) as client:
            http_login(client, url, name, PASSWORD)
            r = client.get("/intake")
            assert r.status_code == 200 and "電子申請_1124.csv" in r.text, name
            assert ('href="/documents/' in r.text) is links, name
