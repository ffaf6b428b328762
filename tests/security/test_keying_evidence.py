"""Keying evidence (screenshot, HTML, Playwright trace) holds no credential of the target system.

Reviewers could download the evidence of an exception (``/exceptions/N/evidence/trace``). The
attack: read the legacy system's password or the bot's session cookie out of it, and log in to the
legacy system as the bot. The browser tests run a real ``BotSession`` in Debian's Chromium against
the real demo legacy system, with credentials only the test knows, make a record fail after the
login, then open every evidence file (every zip member decompressed, the HTML, the PNG bytes) and
look for the password and for every cookie value the legacy server issued (seen on the wire, from
outside the browser). The unit tests feed hand-made traces to the scrubber, no browser.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import random
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from bots.mapping import Mapping, Step, load_mapping
from bots.redact import (
    MARKER,
    Redactor,
    harvest_cookie_values,
    redact_text,
    scrub_trace,
    scrub_trace_bytes,
    write_atomic,
)
from bots.runner import BotSession
from core.errors import BusinessRuleRejected, SessionExpired, TargetScreenChanged
from demo.legacy import app as legacy_app
from demo.legacy.app import Faults, make_app
from tests.conftest import ServerThread, free_port
from tests.test_bot import VALUES

USER = "kagi01"
#: Only this test knows it. ``&`` and ``!`` change under URL and HTML escaping; 鍵 under Shift_JIS.
PASSWORD = "Himitsu&鍵-7!"
SENSITIVE = ("cookie", "set-cookie", "authorization", "proxy-authorization")


# --- the attacker's tools ----------------------------------------------------------------------------


def spellings(secret: str) -> set[bytes]:
    """How an attacker greps for a secret: as typed, URL-encoded, HTML-escaped, UTF-8 or Shift_JIS."""
    out: set[bytes] = set()
    for text in {secret, html.escape(secret), html.escape(secret, quote=False), json.dumps(secret)[1:-1]}:
        for encoding in ("utf-8", "cp932"):
            out.add(text.encode(encoding))
    for encoding in ("utf-8", "cp932"):
        raw = secret.encode(encoding)
        out |= {quote(raw, safe="").encode(), quote_plus(raw, safe="").encode()}
    return out


def evidence_blobs(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` as a reviewer would get it; a zip also member by member, unpacked."""
    blobs: dict[str, bytes] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        blobs[str(path)] = data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                for name in z.namelist():
                    blobs[f"{path}!{name}"] = z.read(name)
    return blobs


def assert_nothing_leaks(root: Path, secrets: set[str]) -> dict[str, bytes]:
    blobs = evidence_blobs(root)
    assert blobs, f"no evidence under {root}"
    leaks = [
        (name, secret)
        for secret in secrets
        for name, data in blobs.items()
        if any(sp in data for sp in spellings(secret))
    ]
    assert not leaks, f"secrets found in evidence: {leaks}"
    return blobs


def trace_events(trace: Path, member: str) -> list[dict[str, Any]]:
    with zipfile.ZipFile(trace) as z:
        return [json.loads(line) for line in z.read(member).decode().splitlines() if line.strip()]


def assert_headers_blanked(trace: Path) -> list[dict[str, Any]]:
    """No credential header or HAR cookie keeps a value in the trace's network log."""
    entries = trace_events(trace, "trace.network")
    for entry in entries:
        snapshot = entry["snapshot"]
        for side in ("request", "response"):
            for header in snapshot[side]["headers"]:
                if header["name"].lower() in SENSITIVE:
                    assert header["value"] in ("", MARKER), header
            for cookie in snapshot[side].get("cookies", []):
                assert cookie.get("value") in (None, "", MARKER), cookie
    return entries


def assert_trace_shows(trace: Path, method: str, needle: str) -> None:
    """The trace is still a trace, it shows the action that failed, and no login."""
    with zipfile.ZipFile(trace) as z:
        assert z.testzip() is None
        assert {"trace.trace", "trace.network"} <= set(z.namelist())
    calls = [
        (e["method"], json.dumps(e["params"], ensure_ascii=False))
        for e in trace_events(trace, "trace.trace")
        if e["type"] == "before"
    ]
    assert any(method == m and needle in params for m, params in calls), calls
    assert not any("input[name=password]" in params for _, params in calls), "the login was traced"


class IssuedCookies:
    """The demo legacy app as is, with a tap on its answers: every cookie value it issues."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.values: set[str] = set()
        self.url = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def tap(message: Any) -> None:
            if message["type"] == "http.response.start":
                for name, value in message.get("headers", []):
                    if name.lower() == b"set-cookie":
                        self.values.add(value.decode("latin-1").split(";", 1)[0].split("=", 1)[1])
            await send(message)

        await self.app(scope, receive, tap)


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Start the real demo legacy system with an account only this test knows: ``with target(faults)``."""
    monkeypatch.setitem(legacy_app.USERS, USER, PASSWORD)
    monkeypatch.setenv("DEJIRU_LEGACY_USER", USER)
    monkeypatch.setenv("DEJIRU_LEGACY_PASSWORD", PASSWORD)

    @contextmanager
    def start(faults: Faults | None = None) -> Iterator[IssuedCookies]:
        issued = IssuedCookies(make_app(tmp_path / "legacy.db", faults or Faults()))
        with ServerThread(issued, free_port()) as srv:
            issued.url = srv.url
            monkeypatch.setenv("DEJIRU_LEGACY_URL", srv.url)
            yield issued

    return start


def mapping(**changes: Any) -> Mapping:
    return load_mapping("demo_legacy").model_copy(deep=True, update=changes)


#: The session under test, for the ``python:`` steps below (they get the page, not the session).
CURRENT: dict[str, BotSession] = {}


def log_in_again(target: Any, record: dict[str, Any], value: Any) -> None:
    """A custom step that logs in again in the middle of a record (as a re-login after an expiry would)."""
    CURRENT["bot"].login()


def print_session_id(target: Any, record: dict[str, Any], value: Any) -> None:
    """What old Java systems do (URL rewriting): print the session id into the page and its links."""
    sid = next(c["value"] for c in target.context.cookies() if c["name"] == "JSESSIONID")
    target.evaluate(
        """sid => document.body.insertAdjacentHTML('afterbegin',
            `<p id="sid" style="font-size:24px">セッション番号 ${sid}</p>` +
            `<a href="/menu;jsessionid=${sid}">メニュー</a>`)""",
        sid,
    )


# --- the attacks, for real -------------------------------------------------------------------------


@pytest.mark.slow
def test_rejected_record_evidence_holds_no_password_or_session_cookie(
    target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reviewer downloads the evidence of a rejected record to read the legacy password and session cookie."""
    private = tmp_path / "private-tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    with target() as issued, BotSession(mapping(), tmp_path / "evidence") as bot:
        assert not bot.key("juminhyo_request", VALUES, "DJ00000001").existed
        with pytest.raises(BusinessRuleRejected) as err:
            bot.key("juminhyo_request", VALUES | {"copies": 11}, "DJ00000002")
        held = {c["value"] for c in bot.page.context.cookies()}
    evidence = err.value.evidence  # type: ignore[attr-defined]
    assert {"screenshot", "html", "trace"} <= set(evidence)
    assert issued.values and held <= issued.values
    assert_nothing_leaks(tmp_path / "evidence", {PASSWORD, *issued.values})
    trace = Path(evidence["trace"])
    entries = assert_headers_blanked(trace)
    assert_trace_shows(trace, "click", "input[name=register]")
    urls = [e["snapshot"]["request"]["url"] for e in entries]
    assert not any(u.endswith("/login") for u in urls), urls
    # The trace is this record's alone: not the previous applicant's screens.
    assert not any("DJ00000001" in u for u in urls) and any("DJ00000002" in u for u in urls), urls
    assert "請求通数" in Path(evidence["html"]).read_text(encoding="utf-8")
    # Written whole, by rename: no temporary or unscrubbed trace is left anywhere.
    assert sorted(p.name for p in (tmp_path / "evidence" / "DJ00000002").iterdir()) == sorted(
        Path(p).name for p in evidence.values()
    )
    assert list(private.iterdir()) == []


@pytest.mark.slow
def test_relogin_after_session_expiry_inside_the_failing_record(target, tmp_path: Path) -> None:
    """The session expires mid-record, the bot logs in again for that same record, and that login lands in its evidence."""
    with target() as issued, BotSession(mapping(), tmp_path / "evidence") as bot:
        bot.key("juminhyo_request", VALUES, "DJ00000001")
        bot.page.goto(f"{issued.url}/logout")  # the legacy system drops the session (a timeout, a restart)
        with pytest.raises(SessionExpired) as expired:
            bot.key("juminhyo_request", VALUES | {"copies": 11}, "DJ00000003")
        # What pipeline.keying does with the same record: a fresh context, a new login, again.
        bot.restart()
        with pytest.raises(BusinessRuleRejected) as rejected:
            bot.key("juminhyo_request", VALUES | {"copies": 11}, "DJ00000003")
    assert len(issued.values) == 2  # the first session and the one of the re-login
    assert_nothing_leaks(tmp_path / "evidence", {PASSWORD, *issued.values})
    first = Path(expired.value.evidence["trace"])  # type: ignore[attr-defined]
    assert_headers_blanked(first)
    assert_trace_shows(first, "goto", "/juminhyo/search?ref=DJ00000003")
    second = Path(rejected.value.evidence["trace"])  # type: ignore[attr-defined]
    assert_headers_blanked(second)
    assert_trace_shows(second, "click", "input[name=register]")


@pytest.mark.slow
def test_login_in_the_middle_of_a_traced_record_is_not_recorded(
    target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login made while a record's trace is recording (a step logging in again) puts the password in that trace."""
    m = mapping()
    search = m.forms["juminhyo_request"].search
    search.steps = [
        Step(python="tests.security.test_keying_evidence:log_in_again"),
        Step(goto="/juminhyo/search?ref={reference}"),
    ]
    with target() as issued, BotSession(m, tmp_path / "evidence") as bot:
        monkeypatch.setitem(CURRENT, "bot", bot)
        with pytest.raises(BusinessRuleRejected) as err:
            bot.key("juminhyo_request", VALUES | {"copies": 11}, "DJ00000004")
    assert len(issued.values) == 2
    assert_nothing_leaks(tmp_path / "evidence", {PASSWORD, *issued.values})
    trace = Path(err.value.evidence["trace"])  # type: ignore[attr-defined]
    entries = assert_headers_blanked(trace)
    assert not any(e["snapshot"]["request"]["url"].endswith("/login") for e in entries)
    assert_trace_shows(trace, "click", "input[name=register]")


@pytest.mark.slow
def test_screen_printing_its_session_id_leaks_nothing(target, tmp_path: Path) -> None:
    """A legacy screen that prints its session id (URL rewriting) hands it over in the HTML, the DOM snapshots and the screenshot."""
    from PIL import Image

    m = mapping(action_timeout_ms=1500)
    steps = m.forms["juminhyo_request"].create.steps
    steps[-1:] = [
        Step(python="tests.security.test_keying_evidence:print_session_id"),
        Step(wait="#confirm-screen"),  # a screen that never comes: the record fails here
    ]
    with (
        target() as issued,
        BotSession(m, tmp_path / "evidence") as bot,
        pytest.raises(TargetScreenChanged) as err,
    ):
        bot.key("juminhyo_request", VALUES, "DJ00000005")
    evidence = err.value.evidence  # type: ignore[attr-defined]
    assert_nothing_leaks(tmp_path / "evidence", {PASSWORD, *issued.values})
    page = Path(evidence["html"]).read_text(encoding="utf-8")
    assert f"セッション番号 {MARKER}" in page and f";jsessionid={MARKER}" in page
    trace = Path(evidence["trace"])
    assert_headers_blanked(trace)
    assert_trace_shows(trace, "waitForSelector", "#confirm-screen")
    # The printed session id is masked on the screenshot (Playwright's mask colour, #FF00FF).
    shot = Image.open(evidence["screenshot"]).convert("RGB")
    assert (255, 0, 255) in {colour for _, colour in shot.getcolors(maxcolors=1 << 20) or []}
    assert not any(sid in str(err.value) for sid in issued.values)


@pytest.mark.slow
def test_bot_check_on_a_changed_screen_leaks_nothing(target, tmp_path: Path) -> None:
    """``dejiru bot check`` on a screen a vendor update changed hands the password to whoever reads its evidence."""
    from formkit.registry import load_template
    from synth.samples import sample_values

    values, _ = sample_values(load_template("inkan_request"), random.Random(1), dt.date(2026, 11, 20))
    changed = BotSession(mapping(action_timeout_ms=1500), tmp_path / "chk")
    with target(Faults(layout="v2")) as issued, changed as bot:
        with pytest.raises(TargetScreenChanged) as err:
            bot.dry_run("juminhyo_request", VALUES, "CHECK000100")
        bot.restart()  # as dejiru bot check does after an NG
        run = bot.dry_run("inkan_request", values, "CHECK000101")
    assert Path(run.screenshot).stat().st_size > 0
    assert_nothing_leaks(tmp_path / "chk", {PASSWORD, *issued.values})
    trace = Path(err.value.evidence["trace"])  # type: ignore[attr-defined]
    assert_headers_blanked(trace)
    assert_trace_shows(trace, "fill", "input[name=ref]")


# --- the scrubber, on hand-made traces ---------------------------------------------------------------

SID = "0f3c9a7d2b8e4c61a5d09e7f3b2c1a44"
OLD_SID = "77aa11bb22cc33dd44ee55ff66009988"  # a session the browser has since replaced


def header(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value}


def resource(method: str, url: str, *, request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    base_req: dict[str, Any] = {"method": method, "url": url, "cookies": [], "headers": [], "queryString": []}
    base_resp: dict[str, Any] = {"status": 200, "cookies": [], "headers": [], "content": {}}
    return {
        "type": "resource-snapshot",
        "snapshot": {"request": base_req | request, "response": base_resp | response, "_monotonicTime": 1.5},
    }


def lines(*events: dict[str, Any]) -> bytes:
    return "\n".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in events).encode()


LOGIN_BODY = b"userid=kagi01&password=" + quote_plus(PASSWORD.encode("cp932")).lower().encode() + b"&login=x"


def hand_made_trace(field: str = "password") -> bytes:
    """A trace shaped like Playwright's: a traced login, its post, its cookie, a failing click."""
    network = lines(
        resource(
            "POST",
            "http://legacy/login",
            request={
                "headers": [header("Content-Type", "application/x-www-form-urlencoded")],
                "postData": {
                    "mimeType": "application/x-www-form-urlencoded",
                    "text": "",
                    "params": [{"name": "userid", "value": USER}, {"name": field, "value": PASSWORD}],
                    "_file": "resources/login.dat",
                },
            },
            response={
                "status": 303,
                "headers": [header("set-cookie", f"JSESSIONID={OLD_SID}; HttpOnly; Path=/")],
                "cookies": [{"name": "JSESSIONID", "value": OLD_SID, "httpOnly": True}],
            },
        ),
        resource(
            "POST",
            "http://legacy/api/keep",
            request={
                "headers": [
                    header("Authorization", "Basic a2FnaTAxOnNlY3JldA=="),
                    header("Cookie", f"JSESSIONID={SID}"),
                ],
                "cookies": [{"name": "JSESSIONID", "value": SID}],
                "postData": {"mimeType": "application/json", "text": '{"keep": true}'},
            },
            response={"headers": [header("Proxy-Authorization", "Bearer xyz")]},
        ),
        resource(
            "POST",
            "http://legacy/juminhyo/create",
            request={
                "headers": [header("Cookie", f"lang=ja; JSESSIONID={SID}")],
                "postData": {
                    "mimeType": "application/x-www-form-urlencoded",
                    "text": "ref=DJ00000002&copies=11",
                },
            },
            response={"content": {"_file": "resources/page.html"}},
        ),
    )
    trace = lines(
        {"type": "context-options", "monotonicTime": 1.0, "options": {"viewport": {"width": 1280}}},
        {
            "type": "before",
            "callId": "c1",
            "method": "fill",
            "params": {"selector": "input[name=password]", "value": PASSWORD},
        },
        {"type": "log", "callId": "c1", "time": 12.25, "message": f'  fill("{PASSWORD}")'},
        {
            "type": "frame-snapshot",
            "snapshot": {
                "frameUrl": f"http://legacy/menu;jsessionid={OLD_SID}?x=1",
                "html": [
                    "BODY",
                    {},
                    ["P", {}, f"セッション番号 {OLD_SID}"],
                    ["INPUT", {"__playwright_value_": PASSWORD, "type": "password", "name": "password"}],
                ],
            },
        },
        {"type": "before", "callId": "c2", "method": "click", "params": {"selector": "input[name=register]"}},
    )
    page = f'<a href="/next?token={SID}&amp;p={html.escape(PASSWORD)}">次へ</a>'.encode("cp932")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("trace.trace", trace)
        z.writestr("trace.network", network)
        z.writestr("resources/login.dat", LOGIN_BODY)
        z.writestr("resources/page.html", page)
        z.writestr("trace.stacks", json.dumps({"files": ["/srv/bots/runner.py"], "stacks": []}))
    return out.getvalue()


def unpack(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_trace_network_log_keeps_no_cookie_or_authorization_header() -> None:
    """A reviewer reads the session cookie or a Basic/Bearer credential from the headers in a trace's network log."""
    clean = unpack(scrub_trace_bytes(hand_made_trace(), {PASSWORD, SID}))
    entries = [json.loads(line) for line in clean["trace.network"].splitlines()]
    for entry in entries:
        for side in ("request", "response"):
            for h in entry["snapshot"][side]["headers"]:
                if h["name"].lower() in SENSITIVE:
                    assert h["value"] == MARKER
            assert all(c["value"] == MARKER for c in entry["snapshot"][side]["cookies"])
    assert [h["name"] for h in entries[1]["snapshot"]["request"]["headers"]] == ["Authorization", "Cookie"]
    # Harmless content stays: a reviewer still sees what was keyed and how the system answered.
    assert entries[2]["snapshot"]["request"]["postData"]["text"] == "ref=DJ00000002&copies=11"
    assert entries[0]["snapshot"]["response"]["status"] == 303


def test_login_post_body_is_dropped_from_the_trace() -> None:
    """A reviewer reads the password from a traced login form post (its parsed fields or its Shift_JIS body file)."""
    clean = unpack(scrub_trace_bytes(hand_made_trace(), {PASSWORD}))
    login, keep, create = (json.loads(line) for line in clean["trace.network"].splitlines())
    assert login["snapshot"]["request"]["postData"] == {
        "mimeType": "application/x-www-form-urlencoded",
        "text": MARKER,
    }
    assert clean["resources/login.dat"] == MARKER.encode()
    # A request that sent an Authorization header loses its body too; an ordinary post keeps it.
    assert keep["snapshot"]["request"]["postData"]["text"] == MARKER
    assert "copies=11" in create["snapshot"]["request"]["postData"]["text"]
    # A password-like field goes even when its value is not a secret we were told of.
    unknown = unpack(scrub_trace_bytes(hand_made_trace(field="pwd"), set()))
    assert b"Himitsu" not in unknown["trace.network"] and unknown["resources/login.dat"] == MARKER.encode()


def test_secret_is_replaced_in_every_member_and_spelling() -> None:
    """A reviewer greps a trace's call parameters, DOM snapshots and resources for the password in any spelling."""
    raw = hand_made_trace()
    assert any(
        sp in b"".join(unpack(raw).values()) for sp in spellings(PASSWORD)
    )  # the attack works unscrubbed
    clean = unpack(scrub_trace_bytes(raw, {PASSWORD, SID}))
    for name, data in clean.items():
        for secret in (PASSWORD, SID, OLD_SID):
            assert not any(sp in data for sp in spellings(secret)), (name, secret)
    calls = [json.loads(line) for line in clean["trace.trace"].splitlines()]
    assert calls[1]["params"] == {"selector": "input[name=password]", "value": MARKER}
    assert calls[2]["message"] == f'  fill("{MARKER}")'
    assert calls[3]["snapshot"]["html"][3][1]["__playwright_value_"] == MARKER
    assert calls[4] == {
        "type": "before",
        "callId": "c2",
        "method": "click",
        "params": {"selector": "input[name=register]"},
    }
    assert (
        clean["resources/page.html"].decode("cp932")
        == f'<a href="/next?token={MARKER}&amp;p={MARKER}">次へ</a>'
    )


def test_cookie_seen_only_in_the_network_log_is_redacted_everywhere() -> None:
    """A session id the browser has since replaced, still in the trace's network log, is read from a URL in a DOM snapshot."""
    clean = unpack(scrub_trace_bytes(hand_made_trace(), set()))  # the caller knows of no cookie at all
    snapshot = json.loads(clean["trace.trace"].splitlines()[3])["snapshot"]
    assert snapshot["html"][2] == ["P", {}, f"セッション番号 {MARKER}"]
    assert snapshot["frameUrl"] == f"http://legacy/menu;jsessionid={MARKER}?x=1"
    assert not any(OLD_SID.encode() in data or SID.encode() in data for data in clean.values())
    # A short cookie value is a flag, not a session id: it is not hunted everywhere (its header still goes).
    create = json.loads(unpack(hand_made_trace())["trace.network"].splitlines()[2])
    assert harvest_cookie_values(create) == {SID}
    assert b"lang=ja" not in clean["trace.network"]


def test_scrubbed_trace_stays_a_loadable_trace() -> None:
    """Scrubbing that breaks the trace (lost members, broken JSON) would hide what the bot did from the reviewer."""
    raw = hand_made_trace()
    clean_zip = scrub_trace_bytes(raw, {PASSWORD, "1"})  # a one-character secret, inside numbers too
    with zipfile.ZipFile(io.BytesIO(clean_zip)) as z, zipfile.ZipFile(io.BytesIO(raw)) as before:
        assert z.testzip() is None
        assert z.namelist() == before.namelist()
        for name in ("trace.trace", "trace.network"):
            events = [json.loads(line) for line in z.read(name).splitlines()]  # every line still JSON
            assert len(events) == len(before.read(name).splitlines())
        log = json.loads(z.read("trace.trace").splitlines()[2])
        assert log["time"] == 12.25  # numbers are not strings: untouched
        json.loads(z.read("trace.stacks"))


def test_html_dump_and_urls_keep_no_session_or_password() -> None:
    """The page's HTML dump shows the session id in a rewritten URL or the password in a value attribute."""
    page = (
        f'<form action="/save;jsessionid={SID}"><input type="hidden" name="pw" value="{html.escape(PASSWORD)}">'
        f'<a href="menu.jsp?PHPSESSID=abc123&amp;sid=zz9">x</a><a href="search?ref=DJ00000002">y</a></form>'
    )
    clean = redact_text(page, {PASSWORD, SID})
    assert clean == (
        f'<form action="/save;jsessionid={MARKER}"><input type="hidden" name="pw" value="{MARKER}">'
        f'<a href="menu.jsp?PHPSESSID={MARKER}&amp;sid={MARKER}">x</a><a href="search?ref=DJ00000002">y</a></form>'
    )
    assert Redactor({PASSWORD}).text(quote(PASSWORD.encode("cp932")).lower()) == MARKER


def test_failed_scrub_leaves_no_trace_on_disk(tmp_path: Path) -> None:
    """A reviewer finds the unscrubbed trace, or half of a scrubbed one, left on disk after scrubbing failed."""
    private, evidence = tmp_path / "private", tmp_path / "evidence"
    private.mkdir()
    evidence.mkdir()
    broken = private / "raw.trace.zip"
    broken.write_bytes(hand_made_trace()[:200])  # the browser died while writing it
    with pytest.raises(zipfile.BadZipFile):
        scrub_trace(broken, evidence / "x.trace.zip", {PASSWORD})
    assert list(private.iterdir()) == [] and list(evidence.iterdir()) == []

    raw = private / "raw.trace.zip"
    raw.write_bytes(hand_made_trace())
    scrub_trace(raw, evidence / "x.trace.zip", {PASSWORD})
    assert list(private.iterdir()) == []
    assert [p.name for p in evidence.iterdir()] == ["x.trace.zip"]

    class Boom(Exception):
        pass

    def exploding() -> None:
        raise Boom

    target = evidence / "page.html"
    with pytest.raises(Boom), pytest.MonkeyPatch.context() as mp:
        mp.setattr("os.replace", lambda *a: exploding())
        write_atomic(target, b"<html>")
    assert not target.exists() and [p.name for p in evidence.iterdir()] == ["x.trace.zip"]
