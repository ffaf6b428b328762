"""Review UI beyond the basics, in a real browser: ダブルチェック, search, KPIs, F2 = unreadable."""

import io

import pytest
from PIL import Image

from formkit.registry import load_template
from pipeline.intake import intake_file
from pipeline.reading import read_document
from records.models import DocStatus
from review.app import create_app
from review.auth import hash_password
from synth.samples import make_sample
from tests.conftest import ServerThread, browser_login, free_port, make_settings

pytestmark = pytest.mark.slow
PASSWORD = "kakunin-2026"


@pytest.fixture
def inkan(tmp_path):
    from pipeline.context import Context

    ctx = Context.create(make_settings(tmp_path / "home", review_all=True))
    tpl = load_template("inkan_request")
    img, truth = make_sample(tpl, 51, font="ipag", profile="office", dpi=200)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=90)
    ctx.settings.inbox.mkdir(parents=True, exist_ok=True)
    p = ctx.settings.inbox / "印鑑.jpg"
    p.write_bytes(buf.getvalue())
    doc_id = intake_file(p, ctx).document_id
    assert read_document(doc_id, ctx) == DocStatus.REVIEW
    for name, role in [("hanako", "reviewer"), ("taro", "reviewer"), ("boss", "supervisor")]:
        ctx.store.add_user(name, hash_password(PASSWORD), role)
    approvals: list[tuple[int, str | None]] = []  # what keying is told (dejiru run: keys it now)
    app = create_app(ctx, on_approved=lambda d, target: approvals.append((d, target)))
    with ServerThread(app, free_port()) as srv:
        srv.approvals = approvals  # type: ignore[attr-defined]
        yield srv, ctx, doc_id, truth


def login(browser, url: str, user: str):
    return browser_login(browser, url, user, PASSWORD)


def fix_all(page, ctx, doc_id, truth) -> None:
    """As a reviewer: type what the paper says into every doubtful text field."""
    tpl = load_template("inkan_request")
    for f in ctx.store.fields(doc_id):
        if f.needs_review and tpl.field(f.name).type in (
            "digits",
            "name",
            "kana",
            "address",
            "phone",
            "text",
        ):
            page.fill(f"input[name=f_{f.name}]", truth["fields"][f.name] or "")


def test_double_check(inkan, browser) -> None:
    srv, ctx, doc_id, truth = inkan
    number = truth["fields"]["card_number"]
    first = login(browser, srv.url, "hanako")
    first.goto(f"{srv.url}/documents/{doc_id}")
    fix_all(first, ctx, doc_id, truth)
    first.click("#approve")
    first.wait_for_url("**/queue**")
    assert ctx.store.document(doc_id).status == DocStatus.DOUBLE_CHECK
    assert srv.approvals == []  # not approved yet: nothing to key

    first.goto(f"{srv.url}/documents/{doc_id}")
    assert first.locator("input[name=f_card_number]").input_value() == ""  # blind: the first value is hidden
    first.fill("input[name=f_card_number]", number)
    first.click("#double-submit")
    assert "別の人" in first.locator("#error").inner_text()  # not by the same person
    first.close()

    second = login(browser, srv.url, "taro")
    second.goto(f"{srv.url}/documents/{doc_id}")
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    second.fill("input[name=f_card_number]", wrong)
    second.click("#double-submit")
    assert ctx.store.document(doc_id).status == DocStatus.REVIEW  # mismatch: back to review
    reasons = next(f for f in ctx.store.fields(doc_id) if f.name == "card_number").reasons
    assert "double_entry_mismatch" in reasons and wrong not in reasons

    second.goto(f"{srv.url}/documents/{doc_id}")
    second.click("#approve")  # taro approves this time; hanako does the double check
    second.wait_for_url("**/queue**")
    second.close()
    again = login(browser, srv.url, "hanako")
    again.goto(f"{srv.url}/documents/{doc_id}")
    again.fill("input[name=f_card_number]", number)
    again.click("#double-submit")
    again.wait_for_url("**/queue**")
    doc = ctx.store.document(doc_id)
    assert doc.status == DocStatus.APPROVED and doc.approved_by == "taro+hanako"
    assert srv.approvals == [(doc_id, "demo_legacy")]  # told once, when it became approved
    again.close()


def test_search_kpi_and_unreadable(inkan, browser) -> None:
    srv, ctx, doc_id, _ = inkan
    page = login(browser, srv.url, "hanako")
    received = ctx.store.document(doc_id).received_at.date().isoformat()
    page.goto(f"{srv.url}/search?q={received}")
    assert page.locator("#results").inner_text().count("印鑑.jpg") == 1
    assert page.goto(f"{srv.url}/kpi").status == 403  # reviewers do not see the figures
    page.goto(f"{srv.url}/documents/{doc_id}")
    page.focus("input[name=f_name]")
    page.keyboard.press("F2")
    assert page.locator("input[name=unreadable_name]").is_checked()
    page.click("#save")
    assert next(f for f in ctx.store.fields(doc_id) if f.name == "name").unreadable
    page.close()
    boss = login(browser, srv.url, "boss")
    assert boss.goto(f"{srv.url}/kpi").status == 200
    assert boss.locator("#kpi-docs").inner_text() == "1"
    assert boss.locator("#chart-days rect").count() == 1
    boss.close()
