"""書かない窓口 over real HTTP: who may use the counter, CSRF, other clerks' visits, hostile values, and
the identity document's number, which must never be seen whole again (page, database, audit, log).

The browser side (keyboard-only entry, live checks, carry-over, the printed QR) is in
tests/test_counter_ui.py."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pypdfium2 as pdfium
import pytest

from formkit.registry import load_template
from pipeline.counter_entry import check_entries, procedures, staff_fields
from records.models import CounterSlip
from review.app import create_app
from review.auth import hash_password
from tests.conftest import ServerThread, free_port, http_login, make_settings

pytestmark = pytest.mark.slow
PASSWORD = "madoguchi-2026"
FORM = "juminhyo_request"
#: A number shaped like a driver's licence's (12 digits), made up for the test.
ID_NUMBER = "3021 4455 6789"


@pytest.fixture
def server(tmp_path: Any) -> Iterator[tuple[ServerThread, Any]]:
    from pipeline.context import Context

    ctx = Context.create(make_settings(tmp_path / "home"))
    for name, role in [
        ("madoka", "counter"),
        ("sora", "counter"),
        ("hanako", "reviewer"),
        ("boss", "supervisor"),
    ]:
        ctx.store.add_user(name, hash_password(PASSWORD), role)
    with ServerThread(create_app(ctx), free_port()) as srv:
        yield srv, ctx


@contextmanager
def client(srv: ServerThread, user: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, follow_redirects=False, timeout=60) as c:
        assert http_login(c, srv.url, user, PASSWORD).status_code == 303
        yield c


def csrf(c: httpx.Client, path: str = "/counter") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', c.get(path).text)
    assert found
    return found.group(1)


def open_visit(c: httpx.Client, *forms: str, number: str = ID_NUMBER) -> tuple[int, str]:
    token = csrf(c)
    r = c.post(
        "/counter/visits",
        data={
            "csrf": token,
            "procedure": list(forms or [FORM]),
            "id_document": "driver_license",
            "id_number": number,
        },
    )
    assert r.status_code == 303, r.text[-500:]
    found = re.match(r"/counter/visits/(\d+)\?", r.headers["location"])
    assert found
    return int(found.group(1)), r.headers["location"]


def typed_like_staff(form_id: str, seed: int) -> dict[str, Any]:
    """A made-up visitor's answers for one procedure (the applicants the sample forms use), written
    the way staff type them: dates in 和暦, numbers as text, ticks as lists."""
    import random

    from core import clock
    from synth.samples import sample_values
    from validation.display import for_input

    tpl = load_template(form_id)
    values, _ = sample_values(tpl, random.Random(seed), clock.today())
    typed: dict[str, Any] = {}
    for spec in staff_fields(tpl):
        v = values.get(spec.name)
        typed[spec.name] = (v or []) if isinstance(v, list) or v is None else str(for_input(spec, v))
    return typed


def answers(ctx: Any, form_id: str = FORM) -> dict[str, Any]:
    """The first made-up visitor whose answers pass every check of the form (so a refusal in a test
    is the test's doing, not the sample's)."""
    tpl = load_template(form_id)
    for seed in range(100, 200):
        typed = typed_like_staff(form_id, seed)
        if check_entries(tpl, typed).ok:
            return typed
    raise AssertionError(f"no made-up visitor passes the checks of {form_id}")


def post_form(token: str, forms: dict[str, dict[str, Any]], **extra: str) -> dict[str, Any]:
    data: dict[str, Any] = {"csrf": token, "procedure": list(forms), **extra}
    for form_id, typed in forms.items():
        for name, v in typed.items():
            data[f"{form_id}:{name}"] = v
    return data


# --- who may ---------------------------------------------------------------------------------------


def test_counter_staff_land_on_the_counter_and_reviewer_pages_stay_closed(server: Any) -> None:
    srv, _ = server
    with httpx.Client(base_url=srv.url, follow_redirects=False, timeout=60) as c:
        assert http_login(c, srv.url, "madoka", PASSWORD).headers["location"] == "/counter"
        assert c.get("/counter").status_code == 200
        for path in ["/queue", "/exceptions", "/search", "/documents/1", "/kpi", "/audit"]:
            assert c.get(path).status_code == 403, path
        assert 'href="/queue"' not in c.get("/counter").text  # no link to what would be refused


def test_a_reviewer_may_not_use_the_counter(server: Any) -> None:
    srv, ctx = server
    with client(srv, "hanako") as c:
        token = csrf(c, "/queue")
        assert c.get("/counter").status_code == 403
        data = {"csrf": token, "procedure": FORM, "id_document": "passport", "id_number": "TZ1234567"}
        assert c.post("/counter/visits", data=data).status_code == 403
        assert c.post("/counter/check", data={"csrf": token, "form": FORM}).status_code == 403
    with client(srv, "madoka") as staff:
        visit, _ = open_visit(staff)
    with client(srv, "hanako") as c:
        assert c.get(f"/counter/visits/{visit}?p={FORM}").status_code == 403
        r = c.post(f"/counter/visits/{visit}/print", data=post_form(csrf(c, "/queue"), {FORM: answers(ctx)}))
        assert r.status_code == 403
    assert ctx.store.counter_slips(visit) == []
    with client(srv, "boss") as c:  # supervisors stand in at the counter
        assert c.get("/counter").status_code == 200


def test_posts_without_the_csrf_token_are_refused(server: Any) -> None:
    srv, ctx = server
    with client(srv, "madoka") as c:
        data = {"procedure": FORM, "id_document": "passport", "id_number": "TZ1234567"}
        assert c.post("/counter/visits", data=data).status_code == 403
        assert c.post("/counter/visits", data=data | {"csrf": "forged"}).status_code == 403
        assert c.post("/counter/check", data={"form": FORM, f"{FORM}:kana": "ヤマダ"}).status_code == 403
        visit, _ = open_visit(c)
        typed = post_form("", {FORM: answers(ctx)})
        typed.pop("csrf")
        assert c.post(f"/counter/visits/{visit}/print", data=typed).status_code == 403
    assert ctx.store.counter_slips(visit) == []
    assert [e.action for e in ctx.store.audit_events()].count("counter.visit_opened") == 1


def test_another_clerks_visit_is_not_found(server: Any) -> None:
    srv, ctx = server
    with client(srv, "madoka") as c:
        visit, url = open_visit(c)
        assert c.get(url).status_code == 200
    with client(srv, "sora") as other:
        token = csrf(other)
        assert other.get(url).status_code == 404
        r = other.post(f"/counter/visits/{visit}/print", data=post_form(token, {FORM: answers(ctx)}))
        assert r.status_code == 404
        assert other.get(f"/counter/visits/{visit + 1000}?p={FORM}").status_code == 404
    assert ctx.store.counter_slips(visit) == []


def test_only_redesigned_forms_are_offered_and_accepted(server: Any) -> None:
    """A legacy form (no seal can be printed on a form dejiru did not design), an unknown ID or a path
    are refused wherever a form ID comes in: the start, the page, the checks and the print."""
    srv, ctx = server
    printable = {t.id for t in procedures()}
    assert FORM in printable and all(load_template(f).code is not None for f in printable)
    with client(srv, "madoka") as c:
        page = c.get("/counter").text
        offered = set(re.findall(r'name="procedure" value="([^"]+)"', page))
        assert offered == printable
        token = csrf(c)
        for bad in ["inu_touroku", "../../etc/passwd", "nope"]:
            r = c.post("/counter/visits", data={"csrf": token, "procedure": bad, "id_document": "passport"})
            assert r.status_code == 422 and "/counter/visits/" not in r.headers.get("location", "")
            assert c.post("/counter/check", data={"csrf": token, "form": bad}).status_code == 404
        visit, _ = open_visit(c)
        assert c.get(f"/counter/visits/{visit}?p=inu_touroku").status_code == 404
        r = c.post(f"/counter/visits/{visit}/print", data=post_form(token, {"inu_touroku": {}}))
        assert r.status_code == 404
    assert ctx.store.counter_slips(visit) == []


# --- the identity check ----------------------------------------------------------------------------


def test_the_identity_number_is_never_seen_whole_again(server: Any, caplog: pytest.LogCaptureFixture) -> None:
    srv, ctx = server
    caplog.set_level(logging.DEBUG)
    digits = ID_NUMBER.replace(" ", "")
    with client(srv, "madoka") as c:
        visit, url = open_visit(c, number=ID_NUMBER)
        seen = c.get(url).text
        printed = c.post(f"/counter/visits/{visit}/print", data=post_form(csrf(c), {FORM: answers(ctx)}))
        assert printed.status_code == 200, printed.text[-800:]
    row = ctx.store.counter_visit(visit)
    assert row.id_number_masked == "****" + digits[-4:] and row.checked_by == "madoka"
    assert row.id_document == "driver_license"
    assert "****" + digits[-4:] in seen
    events = ctx.store.audit_events()
    assert {"counter.visit_opened", "counter.identity_checked", "counter.slip_printed"} <= {
        e.action for e in events
    }
    shown_parts = [digits, digits[:8], ID_NUMBER, digits[:-4]]
    db = (ctx.settings.home / "dejiru.db").read_bytes()
    for text in [
        seen,
        printed.content.decode("latin-1"),
        caplog.text,
        " ".join(str(e.detail) for e in events),
    ]:
        assert not any(p in text for p in shown_parts)
    assert not any(p.encode() in db for p in shown_parts)


def test_an_identity_check_is_one_of_the_list(server: Any) -> None:
    srv, ctx = server
    with client(srv, "madoka") as c:
        token = csrf(c)
        for document, number in [
            ("library_card", "1"),
            ("passport", "<script>alert(1)</script>"),
            ("passport", "9" * 500),
        ]:
            r = c.post(
                "/counter/visits",
                data={"csrf": token, "procedure": FORM, "id_document": document, "id_number": number},
            )
            assert r.status_code == 422
            assert "<script>alert(1)" not in r.text and "9" * 50 not in r.text
    assert "counter.visit_opened" not in {e.action for e in ctx.store.audit_events()}


# --- values ----------------------------------------------------------------------------------------


def test_live_checks_answer_per_field_in_the_users_language(server: Any) -> None:
    srv, _ = server
    with client(srv, "madoka") as c:
        token = csrf(c)
        data = {"csrf": token, "form": FORM, f"{FORM}:birth_date": "昭和50.5.3", f"{FORM}:copies": "99"}
        ja = c.post("/counter/check", data=data).json()
        c.get("/lang/en", headers={"referer": f"{srv.url}/counter"})
        en = c.post("/counter/check", data=data).json()
    assert ja["fields"]["birth_date"]["reasons"] == [] and ja["fields"]["birth_date"]["shown"].startswith(
        "昭和50年"
    )
    assert ja["fields"]["copies"]["reasons"] and en["fields"]["copies"]["reasons"]
    assert ja["fields"]["copies"]["reasons"] != en["fields"]["copies"]["reasons"]
    assert all(r.isascii() for r in en["fields"]["copies"]["reasons"])
    assert "signature" not in ja["fields"]  # the visitor's, on paper


def test_a_postal_code_says_the_address(server: Any) -> None:
    """The applicant's postal code fills the address not typed yet; an agent's address (no postal
    code on the form) typed as a postal code alone becomes that code's place; a code of several
    cities, or none, fills nothing."""
    from pipeline.counter_entry import place_of
    from validation.address import postal_places

    srv, ctx = server
    code = next(v["postal_code"] for v in [answers(ctx)] if postal_places(v["postal_code"]))
    place = place_of(code)
    assert place and place.startswith(postal_places(code)[0].prefecture)
    with client(srv, "madoka") as c:
        token = csrf(c)
        ask = {"csrf": token, "form": FORM, f"{FORM}:postal_code": code}
        assert c.post("/counter/check", data=ask).json()["fill"] == {"address": place}
        typed = c.post("/counter/check", data=ask | {f"{FORM}:address": place + "1-1"}).json()
        assert typed["fill"] == {}  # typed already: left alone
        agent = c.post("/counter/check", data=ask | {f"{FORM}:agent_address": "〒" + code}).json()
        assert agent["fill"]["agent_address"] == place
        nothing = c.post(
            "/counter/check", data={"csrf": token, "form": FORM, f"{FORM}:postal_code": "0000000"}
        )
        assert nothing.json()["fill"] == {}


def test_hostile_values_are_escaped_or_refused(server: Any) -> None:
    """Script in a value, a 100 000-character paste, a control character, an option not offered, a
    file posted for a field: each is a reason under its field (422), nothing is printed, and the page
    shows the entry back escaped and cut short."""
    srv, ctx = server
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    hostile = {
        "name": script,
        "birth_date": script,
        "address": "あ" * 100_000,
        "phone": "042\x00555",
        "visitor": "root",
        "purpose": ["employment", "<b>"],
    }
    with client(srv, "madoka") as c:
        visit, _ = open_visit(c)
        token = csrf(c)
        checked = c.post(
            "/counter/check", data=post_form(token, {FORM: answers(ctx) | hostile}) | {"form": FORM}
        )
        assert checked.status_code == 200
        fields = checked.json()["fields"]
        for name in ["birth_date", "address", "phone", "visitor", "purpose"]:
            assert fields[name]["reasons"], name
        r = c.post(f"/counter/visits/{visit}/print", data=post_form(token, {FORM: answers(ctx) | hostile}))
        assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
        assert "<script>alert" not in r.text and "<img src=x" not in r.text  # no element made of a value
        assert "&lt;script&gt;" in r.text and "あ" * 201 not in r.text
        files = {f"{FORM}:name": ("x.html", b"<script>", "text/html")}
        no_name = {k: v for k, v in answers(ctx).items() if k != "name"}
        fake = c.post(f"/counter/visits/{visit}/print", data=post_form(token, {FORM: no_name}), files=files)
        assert fake.status_code == 422
    assert ctx.store.counter_slips(visit) == []


def test_a_print_is_one_pdf_a_page_per_procedure_each_with_its_own_slip(server: Any) -> None:
    srv, ctx = server
    other = next((t.id for t in procedures() if t.id != FORM), None)
    if other is None:
        pytest.skip("one printable form only")
    typed = answers(ctx)
    second = {k: v for k, v in typed.items() if k in {s.name for s in staff_fields(load_template(other))}}
    second |= _fill_missing(other, second)
    second["purpose_other"] = answers(None, other).get("purpose_other")  # purposes differ by form
    second["purpose"] = answers(None, other).get("purpose")
    with client(srv, "madoka") as c:
        visit, _ = open_visit(c, FORM, other)
        data = post_form(
            csrf(c), {FORM: typed, other: second}, **{f"seconds:{FORM}": "41.25", f"seconds:{other}": "nan"}
        )
        r = c.post(f"/counter/visits/{visit}/print", data=data)
        assert r.status_code == 200, re.findall(r'input-error">([^<]+)', r.text)
        assert r.headers["content-type"] == "application/pdf"
    pdf = pdfium.PdfDocument(r.content)
    assert len(pdf) == 2
    slips: list[CounterSlip] = ctx.store.counter_slips(visit)
    assert [s.form_id for s in slips] == [FORM, other]
    assert len({s.nonce for s in slips}) == 2 and all(re.fullmatch(r"[0-9a-f]{16}", s.nonce) for s in slips)
    assert [s.staff_seconds for s in slips] == [41.2, None] or [s.staff_seconds for s in slips] == [
        41.3,
        None,
    ]
    assert all(s.issued_by == "madoka" and s.form_version == load_template(s.form_id).version for s in slips)
    assert ctx.store.counter_slip(slips[0].nonce) == slips[0]
    printed = [e for e in ctx.store.audit_events() if e.action == "counter.slip_printed"]
    assert len(printed) == 2 and all(str(s.id) in " ".join(str(e.detail) for e in printed) for s in slips)


def _fill_missing(form_id: str, have: dict[str, Any]) -> dict[str, Any]:
    """Values for the fields of ``form_id`` the other procedure did not ask (a card number, its own
    purposes), from a made-up visitor whose answers pass that form's checks."""
    own = answers(None, form_id)
    return {k: v for k, v in own.items() if k not in have}


def test_a_procedure_starts_at_the_day_of_the_visit() -> None:
    # The request date (marked ``today`` in the template) is the visit's day, as staff would type it;
    # nothing else is filled in before the visitor says it.
    import datetime as dt

    from pipeline.counter_entry import starting_values

    for tpl in procedures():
        start = starting_values(tpl, dt.date(2026, 11, 24))
        assert start == {"request_date": "令和8年11月24日"}, tpl.id
        assert check_entries(tpl, start).values["request_date"] == "2026-11-24"
