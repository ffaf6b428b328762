"""The review UI in a real browser: login, correct a field, approve; roles, CSRF and rate limits hold."""

import io
import json

import httpx
import pytest
from PIL import Image

from pipeline.intake import intake_file
from pipeline.reading import read_document
from records.models import DocStatus
from review.app import create_app
from review.auth import hash_password
from tests.conftest import ServerThread, free_port, http_login, make_settings

pytestmark = pytest.mark.slow
PASSWORD = "kakunin-2026"


@pytest.fixture
def ui(tmp_path, sample):
    from pipeline.context import Context

    ctx = Context.create(make_settings(tmp_path / "home", review_all=True))
    img, truth = sample(301, font="ipag", dpi=200)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=88)
    ctx.settings.inbox.mkdir(parents=True, exist_ok=True)
    p = ctx.settings.inbox / "申請書.jpg"
    p.write_bytes(buf.getvalue())
    doc_id = intake_file(p, ctx).document_id
    assert read_document(doc_id, ctx) == DocStatus.REVIEW
    for name, role in [("hanako", "reviewer"), ("boss", "supervisor"), ("root", "admin")]:
        ctx.store.add_user(name, hash_password(PASSWORD), role)
    approvals: list[tuple[int, str | None]] = []  # what keying is told (dejiru run: keys it now)
    app = create_app(ctx, on_approved=lambda d, target: approvals.append((d, target)))
    with ServerThread(app, free_port()) as srv:
        srv.approvals = approvals  # type: ignore[attr-defined]
        yield srv, ctx, doc_id, truth


def login(page, url: str, user: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("#login")


def test_correct_and_approve(ui, browser) -> None:
    srv, ctx, doc_id, truth = ui
    page = browser.new_page()
    page.goto(f"{srv.url}/queue")
    assert page.url.endswith("/login")  # nothing without a session
    login(page, srv.url, "hanako")
    assert page.url.endswith("/queue") and page.locator("#queue").inner_text().count("申請書.jpg") == 1
    page.click(f"a[href='/documents/{doc_id}']")
    # The keys below are the page script's: until the page has loaded, Enter is the browser's own
    # (it sends the form as a plain save), and on a loaded CI machine the click returns before that.
    page.wait_for_url(f"**/documents/{doc_id}")
    assert page.locator("div.crop").count() == len(truth["fields"])
    phone = page.locator("input[name=f_phone]")
    assert phone.input_value() == truth["fields"]["phone"]
    phone.fill("042-999-0000")
    page.keyboard.press("Enter")  # confirms the field and moves on, does not submit
    assert page.url.endswith(f"/documents/{doc_id}")
    page.keyboard.press("Control+Enter")  # approve
    page.wait_for_url("**/queue**")
    doc = ctx.store.document(doc_id)
    assert doc.status == DocStatus.APPROVED and doc.approved_by == "hanako"
    assert srv.approvals == [(doc_id, "demo_legacy")]
    hist = ctx.store.corrections(doc_id)
    assert [(c.name, json.loads(c.old_value), json.loads(c.new_value), c.user) for c in hist] == [
        ("phone", truth["fields"]["phone"], "042-999-0000", "hanako")
    ]
    actions = [e.action for e in ctx.store.audit_events(doc_id)]
    assert {"document.view", "field.correct", "document.approved"} <= set(actions)
    page.close()


def test_invalid_correction_blocks_approval(ui, browser) -> None:
    srv, ctx, doc_id, _ = ui
    page = browser.new_page()
    login(page, srv.url, "hanako")
    page.goto(f"{srv.url}/documents/{doc_id}")
    page.fill("input[name=f_copies]", "12")
    page.click("#approve")
    assert "1〜10" in page.locator("body").inner_text()
    assert ctx.store.document(doc_id).status == DocStatus.REVIEW
    page.close()


def test_roles_and_english(ui, browser) -> None:
    srv, _, _, _ = ui
    page = browser.new_page()
    login(page, srv.url, "hanako")
    for path in ["/admin/users", "/audit"]:
        resp = page.goto(f"{srv.url}{path}")
        assert resp.status == 403
    page.goto(f"{srv.url}/lang/en")
    page.goto(f"{srv.url}/queue")
    assert "Review queue" in page.locator("h1").inner_text()
    page.close()
    boss = browser.new_page()
    login(boss, srv.url, "boss")
    assert boss.goto(f"{srv.url}/audit").status == 200
    assert "login" in boss.locator("#audit").inner_text()
    boss.close()


def test_queue_shows_a_target_system_that_is_down(ui, browser) -> None:
    """Records held back by an outage are not silently stuck: the queue says which system, since when
    and until when they wait, in Japanese and in English."""
    import datetime as dt

    from core.errors import Transient
    from pipeline.keying import wait_or_give_up
    from tests.test_keying_faults import approved

    srv, ctx, _, _ = ui
    doc_id, _ = approved(ctx.store, 0)
    down = Transient("対象システムに接続できません", "cannot reach the target system")
    at = dt.datetime(2026, 11, 30, 3, 5, tzinfo=dt.UTC)  # 12:05 in Japan
    assert wait_or_give_up(ctx, doc_id, down, dt.timedelta(hours=4), at=at)
    page = browser.new_page()
    login(page, srv.url, "hanako")
    shown = page.locator("#wait-demo_legacy").inner_text()
    assert "demo_legacy" in shown and "11/30 12:05 から登録できません" in shown and "11/30 16:05" in shown
    page.goto(f"{srv.url}/lang/en")
    page.goto(f"{srv.url}/queue")
    assert "has not taken records since 11/30 12:05" in page.locator("#wait-demo_legacy").inner_text()
    page.close()


def test_post_without_csrf_token_is_refused(ui, browser) -> None:
    srv, ctx, doc_id, _ = ui
    page = browser.new_page()
    login(page, srv.url, "hanako")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    page.close()
    r = httpx.post(f"{srv.url}/documents/{doc_id}/save", data={"action": "approve"}, cookies=cookies)
    assert r.status_code == 403
    r = httpx.post(
        f"{srv.url}/documents/{doc_id}/save", data={"action": "approve", "csrf": "forged"}, cookies=cookies
    )
    assert r.status_code == 403
    assert ctx.store.document(doc_id).status == DocStatus.REVIEW


def test_login_rate_limit_and_no_anonymous_access(ui) -> None:
    srv, _ctx, doc_id, _ = ui
    for path in [
        "/queue",
        f"/documents/{doc_id}",
        f"/documents/{doc_id}/page.jpg",
        f"/documents/{doc_id}/crop/name.png",
        "/exceptions",
    ]:
        r = httpx.get(f"{srv.url}{path}")
        assert r.status_code == 303 and r.headers["location"] == "/login", path
    with httpx.Client() as client:
        codes = [http_login(client, srv.url, "hanako", "wrong").status_code for _ in range(6)]
        assert codes[:5] == [401] * 5 and codes[5] == 429
        r = http_login(client, srv.url, "hanako", PASSWORD)
        assert r.status_code == 429  # still locked from this client, even with the right password
