"""書かない窓口 in a real Chromium: a 住民票 request entered with the keyboard only, printed, and its
QR read back from the printed page to exactly the values typed; live checks, the postal code's
address and values carried to the visit's next procedure.

The keystrokes the entry took are counted and printed (``-s`` shows them); bench/counter.py turns such
counts into staff seconds. No assertion here depends on how fast this machine is."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pytest
from playwright.sync_api import expect

from core import clock
from formkit.registry import load_template
from formkit.seal import read_seal, seal_key
from pipeline.counter_entry import check_entries, procedures, staff_fields
from review.app import create_app
from review.auth import hash_password
from tests.conftest import ServerThread, free_port, make_settings
from validation import normalize
from validation.address import postal_places
from validation.wareki import from_wareki, to_wareki

pytestmark = pytest.mark.slow
PASSWORD = "madoguchi-2026"
FORM = "juminhyo_request"


@pytest.fixture
def counter(tmp_path: Any) -> Iterator[tuple[ServerThread, Any]]:
    from pipeline.context import Context

    ctx = Context.create(make_settings(tmp_path / "home"))
    ctx.store.add_user("madoka", hash_password(PASSWORD), "counter")
    with ServerThread(create_app(ctx), free_port()) as srv:
        yield srv, ctx


class Keys:
    """The page's keyboard, counting keystrokes: a key pressed is one, a text typed one per character
    (what a clerk's fingers do, an IME's conversions aside: bench/counter.py models those)."""

    def __init__(self, page: Any) -> None:
        self.page, self.count = page, 0

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)
            self.count += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.count += len(text)


def visitor() -> dict[str, str]:
    """A made-up visitor (the sample forms' applicants) whose postal code names one town, so the
    screen can fill in the address up to the block numbers."""
    from synth.samples import sample_values

    tpl = load_template(FORM)
    for seed in range(1, 200):
        v, _ = sample_values(tpl, random.Random(seed), clock.today())
        places = postal_places(v["postal_code"])
        if len({(p.prefecture, p.city, p.town) for p in places}) == 1:
            p = places[0]
            if v["address"].startswith(p.name) and v["address"] != p.name:
                return v
    raise AssertionError("no made-up visitor with a postal code of one town")


def login(page: Any, url: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "madoka")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login")
    page.wait_for_url("**/counter")


def start_visit(page: Any, keys: Keys, forms: list[str], number: str) -> None:
    """On the start screen, from the first procedure (focused): tick ``forms``, keep the first
    identity document offered but one (the arrow), type its number, Enter."""
    offered = [t.id for t in procedures()]
    at = 0
    for form_id in forms:
        keys.press("Tab", offered.index(form_id) - at)
        keys.press("Space")
        at = offered.index(form_id)
    keys.press("Tab", len(offered) - at)  # to the identity documents
    keys.press("ArrowRight")
    keys.press("Tab")
    keys.type(number)
    keys.press("Enter")
    page.wait_for_url("**/counter/visits/**")
    # The page script puts the cursor on the first field still empty once it has loaded.
    expect(page.locator("tr.field input:focus")).to_have_count(1, timeout=30_000)


def focused(page: Any) -> str:
    return str(page.evaluate("document.activeElement.name"))


def test_a_juminhyo_request_with_the_keyboard_only(counter: Any, browser: Any) -> None:
    srv, ctx = counter
    v = visitor()
    today = clock.today()
    era, year = to_wareki(today)
    page = browser.new_page()
    login(page, srv.url)
    keys = Keys(page)
    start_visit(page, keys, [FORM], "AB12345678")
    f = f"{FORM}:"
    # The request is today's: the form starts there, the cursor on the first box still empty.
    expect(page.locator(f"input[name='{f}request_date']")).to_have_value(
        f"{era}{year}年{today.month}月{today.day}日"
    )
    assert focused(page) == f"{f}kana"
    keys.type(normalize.hiragana(v["kana"]))  # left in hiragana: the form wants katakana
    keys.press("Enter")
    keys.type(v["name"])
    keys.press("Enter")
    keys.type("昭和50.5.3")
    keys.press("Enter")
    keys.type(v["postal_code"].replace("-", ""))
    keys.press("Enter")
    assert focused(page) == f + "phone"  # the same row of the paper, to the right
    keys.type(v["phone"])
    keys.press("Enter")
    assert focused(page) == f + "address"
    address = page.locator(f"input[name='{f}address']")
    expect(address).not_to_have_value("", timeout=60_000)  # the server's answer, however busy
    filled = address.input_value()
    assert v["address"].startswith(filled) and filled.endswith(postal_places(v["postal_code"])[0].town)
    keys.type(v["address"][len(filled) :])
    keys.press("Enter")
    keys.press("Space")  # 窓口に来た人: the first option, 本人
    keys.press("Enter")
    keys.type("1")  # 通
    keys.press("Enter")
    keys.press("Space")  # 範囲: 世帯全員
    keys.press("Enter")
    keys.type("2")  # 本籍: option 2, 不要
    keys.press("Enter")
    keys.type("2")  # 続柄: 不要
    keys.press("Enter")
    keys.press("Space")  # 使いみち: 就職
    keys.press("Enter")
    assert focused(page) == f + "purpose_other"
    keys.press("Enter", 2)  # その他の内容, 代理人氏名: empty
    typed = {
        spec.name: page.locator(f"input[name='{f}{spec.name}']").input_value()
        for spec in staff_fields(load_template(FORM))
        if spec.kind.entry(spec) == "text"
    }
    served: list[Any] = []

    def keep(route: Any) -> None:  # the server's own answer, passed on untouched and kept
        served.append(route.fetch())
        route.fulfill(response=served[-1])

    page.route("**/print", keep)
    keys.press("Enter")  # at the last field: print
    page.wait_for_selector("#open-pdf:not([hidden])", timeout=120_000)
    (response,) = served
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    pdf = pdfium.PdfDocument(response.body())
    assert len(pdf) == 1
    print(f"\n住民票 request at the counter: {keys.count} keystrokes (login aside)")

    from ocr.qr import find_seal_texts

    image = np.asarray(pdf[0].render(scale=300 / 72).to_pil().convert("RGB"))
    texts = [t for t in find_seal_texts(image) if t.startswith("DJ1:")]
    assert len(texts) == 1
    tpl = load_template(FORM)
    sealed = read_seal(texts[0], seal_key(ctx.settings.secret_key()), tpl=tpl)
    entries = typed | {"visitor": "self", "copies": "1", "scope": "all", "honseki": "no", "relation": "no"}
    entries["purpose"] = ["employment"]
    assert sealed.values == check_entries(tpl, entries).values
    assert sealed.values["birth_date"] == from_wareki("昭和", 50, 5, 3).isoformat()
    assert sealed.values["request_date"] == today.isoformat()
    assert sealed.values["kana"] == normalize.katakana(v["kana"]) and sealed.values["address"] == v["address"]
    assert "signature" not in sealed.values
    (slip,) = ctx.store.counter_slips(ctx.store.counter_slip(sealed.nonce).visit_id)
    assert slip.form_id == FORM and slip.issued_by == "madoka" and sealed.issued == today.isoformat()
    assert slip.staff_seconds is not None and slip.staff_seconds >= 0
    print(f"measured in this browser: {slip.staff_seconds} s from the first keystroke to the print")
    page.close()


def test_live_checks_the_postal_code_and_carry_over(counter: Any, browser: Any) -> None:
    srv, ctx = counter
    other = next((t.id for t in procedures() if t.id != FORM), None)
    if other is None:
        pytest.skip("one printable form only")
    v = visitor()
    page = browser.new_page()
    login(page, srv.url)
    keys = Keys(page)
    start_visit(page, keys, sorted([FORM, other], key=[t.id for t in procedures()].index), "")
    first = page.locator("section.procedure").first.get_attribute("data-form")
    second = other if first == FORM else FORM
    keys.press("Shift+Tab")  # back to the request date, which starts at today's
    page.keyboard.press("Control+a")
    keys.type("R8.13.40")  # no 13th month
    keys.press("Enter")
    reasons = page.locator(f"#reasons-{first}-request_date .reason")
    reasons.first.wait_for()
    assert "日付" in reasons.first.inner_text() or "13" in reasons.first.inner_text()
    assert page.locator(f"#row-{first}-request_date").get_attribute("class") == "field bad"
    keys.press("Shift+Tab")
    page.keyboard.press("Control+a")
    keys.type("<script>window.pwned=1</script>")
    keys.press("Enter")
    expect(page.locator(f"#reasons-{first}-request_date")).to_contain_text("script", timeout=30_000)
    assert page.evaluate("window.pwned === undefined")  # shown as text, never run
    assert page.locator(f"#reasons-{first}-request_date script").count() == 0
    while not focused(page).endswith(":name"):  # what comes before the name on this form's paper
        name = focused(page).split(":")[-1]
        keys.type(
            normalize.hiragana(v["kana"]) if name == "kana" else "12345678" if name == "card_number" else ""
        )
        keys.press("Enter")
    keys.type(v["name"])
    keys.press("Enter")
    carried = page.locator(f"input[name='{second}:name']")
    expect(carried).not_to_have_value("", timeout=60_000)
    assert carried.input_value() == v["name"]
    assert "carried" in (page.locator(f"#row-{second}-name").get_attribute("class") or "")
    # Not carried: what belongs to one procedure (the number of copies).
    assert page.locator(f"input[name='{second}:copies']").input_value() == ""
    # Printing with fields still wrong or empty prints nothing and says so.
    keys.press("Control+Enter")
    page.wait_for_selector("#fix-first:not([hidden])")
    assert ctx.store.counter_slips(int(page.url.split("/")[-1].split("?")[0])) == []
    page.goto(f"{srv.url}/lang/en", referer=page.url)
    assert "Visit" in page.locator("h1").inner_text()
    keys.press("Control+Enter")
    page.wait_for_selector("#fix-first:not([hidden])")
    assert "required" in page.locator(f"#reasons-{first}-name").inner_text()
    page.close()
