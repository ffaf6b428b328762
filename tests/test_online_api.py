"""The online services' API over real HTTP: a token (never a login) posts an export and the files its
applications name; what it answers, what it refuses and why, and the review screen of an application
that has no scan (its submitted values, its attachments as downloads, every look audited)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from pipeline.context import Context
from records.models import Channel, DocStatus
from review import api_tokens
from review.app import create_app
from review.auth import hash_password
from tests.conftest import ServerThread, browser_login, free_port, http_login, make_settings
from tests.test_online_export import GOOD, as_csv

URL = "/api/online/exports"


@pytest.fixture
def served(tmp_path: Any) -> Iterator[tuple[Context, str, list[tuple[int, str | None]]]]:
    ctx = Context.create(make_settings(tmp_path / "home"))
    ctx.store.add_user("rev", hash_password("correct horse battery"), "reviewer")
    approvals: list[tuple[int, str | None]] = []
    app = create_app(ctx, on_approved=lambda d, target: approvals.append((d, target)))
    with ServerThread(app, free_port()) as srv:
        yield ctx, srv.url, approvals


def post(
    base: str, token: str | None, export: tuple[str, bytes], attachments: Sequence[tuple[str, bytes]] = ()
) -> Any:
    files = [("export", (export[0], export[1], "text/csv"))]
    files += [("attachments", (n, b, "application/pdf")) for n, b in attachments]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(base + URL, files=files, headers=headers, timeout=30)


def online_docs(ctx: Context) -> list[Any]:
    return [d for d in ctx.store.documents(limit=100) if d.channel == Channel.ONLINE]


def test_a_service_posts_an_export_with_its_attachments(served: Any) -> None:
    ctx, base, approvals = served
    token = api_tokens.add(ctx.settings, "denshi-shinsei")
    rows = [
        GOOD | {"添付ファイル": "本人確認.pdf"},
        GOOD | {"申請番号": "E2026-000999", "通数": "たくさん"},
    ]
    r = post(base, token, ("export.csv", as_csv(rows)), [("本人確認.pdf", b"%PDF-1.4 id")])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["form"] == "juminhyo_request" and len(body["accepted"]) == 1
    (refused,) = body["refused"]
    assert refused["line"] == 3 and refused["application_id"] == "E2026-000999"
    assert "copies" in refused["reasons_ja"] and "たくさん" not in str(refused)  # a reason, never the value
    (doc,) = online_docs(ctx)
    assert doc.status == DocStatus.APPROVED and approvals == [(doc.id, "demo_legacy")]
    (att,) = ctx.store.attachments(doc.id)
    assert att.name == "本人確認.pdf"
    events = [e for e in ctx.store.audit_events(doc.id) if e.action == "intake.online"]
    assert events and events[0].user == "api:denshi-shinsei"
    # Posting it again adds nothing.
    again = post(base, token, ("export.csv", as_csv(rows[:1])), [("本人確認.pdf", b"%PDF-1.4 id")]).json()
    assert again["accepted"] == [] and again["already"] == [doc.id]


def test_no_token_a_wrong_one_or_a_revoked_one_takes_nothing(served: Any) -> None:
    ctx, base, _ = served
    token = api_tokens.add(ctx.settings, "svc")
    export = ("export.csv", as_csv([GOOD]))
    assert post(base, None, export).status_code == 401
    assert post(base, token[:-2] + "xx", export).status_code == 401
    assert post(base, "Basic " + token, export).status_code == 401
    api_tokens.revoke(ctx.settings, "svc")
    assert post(base, token, export).status_code == 401
    assert online_docs(ctx) == []
    # A login session is no token.
    with httpx.Client(base_url=base) as client:
        http_login(client, base, "rev", "correct horse battery")
        files = {"export": ("export.csv", export[1], "text/csv")}
        assert client.post(URL, files=files).status_code == 401
    assert online_docs(ctx) == []


def test_bad_posts_are_refused_with_a_reason_and_kept(served: Any) -> None:
    ctx, base, _ = served
    token = api_tokens.add(ctx.settings, "svc")
    r = post(base, token, ("export.csv", b"\xff\xfe\xfd\x00garbage"))
    assert r.status_code == 422 and "文字コード" in r.json()["error_ja"]
    assert list((ctx.settings.quarantine / "online_export_refused").glob("*.csv"))
    assert [e.code for e in ctx.store.exceptions()] == ["online_export_refused"]
    assert post(base, token, ("export.exe", b"MZ")).status_code == 400
    # A body announced as 1 GB is refused before anything of it is read (a raw socket: clients won't lie).
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            f"POST {URL} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000000\r\n\r\n--b".encode()
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 413")
    assert online_docs(ctx) == []


def test_the_review_screen_shows_what_was_submitted_without_a_scan(served: Any) -> None:
    ctx, base, _ = served
    token = api_tokens.add(ctx.settings, "svc")
    row = GOOD | {"郵便番号": "100-0001", "添付ファイル": "本人確認.pdf"}  # another town's code: review
    post(base, token, ("export.csv", as_csv([row])), [("本人確認.pdf", b"<html><script>alert(1)</script>")])
    (doc,) = online_docs(ctx)
    assert doc.status == DocStatus.REVIEW
    with httpx.Client(base_url=base) as client:
        http_login(client, base, "rev", "correct horse battery")
        page = client.get(f"/documents/{doc.id}")
        assert page.status_code == 200
        html = page.text
        assert 'id="submitted"' in html and "申請された値" in html and "E2026-000123" in html
        assert "page.jpg" not in html and 'class="crop"' not in html
        link = re.search(r'href="(/documents/\d+/attachments/\d+)"', html)
        assert link is not None
        got = client.get(link.group(1))
        assert got.status_code == 200 and got.content.startswith(b"<html>")
        assert got.headers["content-type"] == "application/octet-stream"
        assert got.headers["content-disposition"].startswith("attachment")
        assert got.headers["x-content-type-options"] == "nosniff"
        assert client.get(f"/documents/{doc.id}/attachments/999").status_code == 404
    actions = [e.action for e in ctx.store.audit_events(doc.id)]
    assert "attachment.view" in actions


def test_an_export_is_checked_before_a_service_is_connected(tmp_path: Any) -> None:
    from dejiru.cli import app

    good = tmp_path / "export.csv"
    good.write_bytes(as_csv([GOOD, GOOD | {"申請番号": "E2", "生年月日": "きのう"}]))
    out = CliRunner().invoke(app, ["online", "check", str(good)])
    assert out.exit_code == 3 and "juminhyo_request" in out.output and "E2" in out.output


@pytest.mark.slow
def test_a_reviewer_fixes_and_approves_an_online_application_in_a_browser(served: Any, browser: Any) -> None:
    ctx, base, approvals = served
    token = api_tokens.add(ctx.settings, "svc")
    post(base, token, ("export.csv", as_csv([GOOD | {"郵便番号": "100-0001"}])))
    (doc,) = online_docs(ctx)
    assert doc.status == DocStatus.REVIEW
    page = browser_login(browser, base, "rev", "correct horse battery")
    page.goto(f"{base}/documents/{doc.id}")
    assert page.locator("#submitted").is_visible() and page.locator(".crop").count() == 0
    page.fill("input[name=f_postal_code]", "207-0015")  # what the applicant's address says
    page.click("#approve")
    page.wait_for_url("**/queue**")
    page.close()
    assert ctx.store.document(doc.id).status == DocStatus.APPROVED
    assert ctx.store.values(doc.id)["postal_code"] == "207-0015"
    assert approvals[-1][0] == doc.id
