"""Who is logged in is decided on the server, on every request: sessions end when they should, passwords
are not guessable, one-time passwords are changed, and nobody can lock a reviewer out from elsewhere."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from review.auth import LoginLimiter, WeakPassword, check_password
from tests.conftest import REPO, free_port, http_login, login_token
from tests.security.conftest import PASSWORD, Site

pytestmark = pytest.mark.slow


def stolen(c: httpx.Client) -> dict[str, str]:
    """A copy of a browser's cookies, as someone who read them off the PC would have it."""
    return dict(c.cookies.items())


def replay(site: Site, cookies: dict[str, str], path: str = "/queue") -> int:
    with httpx.Client(base_url=site.url, cookies=cookies) as c:
        return c.get(path).status_code


def cli(site: Site, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DEJIRU_HOME": str(site.home), "DEJIRU_DATABASE_URL": site.ctx.settings.database_url}
    return subprocess.run(
        [sys.executable, "-m", "dejiru.cli", *args],
        input=stdin,
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_logout_ends_the_session_on_the_server(site: Site) -> None:
    """Session replay: a cookie copied before logout does not work after it."""
    c = site.client("hanako")
    assert c.get("/queue").status_code == 200
    copy = stolen(c)
    page = c.get("/queue").text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    assert c.post("/logout", data={"csrf": csrf}).status_code == 303
    assert replay(site, copy) == 303  # back to the login page
    assert site.ctx.store.sessions("hanako") == []


def test_a_password_change_ends_every_other_session(site: Site) -> None:
    """Session replay: a password changed because it leaked ends the sessions opened with it."""
    office, elsewhere = site.client("hanako"), site.client("hanako")
    form = office.get("/account/password").text
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    new = "aozora-minami-2027"
    r = office.post("/account/password", data={"csrf": csrf, "current": PASSWORD, "new": new, "again": new})
    assert r.status_code == 303
    assert office.get("/queue").status_code == 200  # the PC that changed it stays logged in
    assert elsewhere.get("/queue").status_code == 303
    assert http_login(site.client(), site.url, "hanako", PASSWORD).status_code == 401


def test_a_disabled_account_is_out_at_once(site: Site) -> None:
    """A leaving employee: `dejiru user disable` ends her open sessions and refuses her login."""
    c = site.client("taro")
    assert c.get("/queue").status_code == 200
    done = cli(site, "user", "disable", "taro")
    assert done.returncode == 0, done.stderr
    assert c.get("/queue").status_code == 303
    assert http_login(site.client(), site.url, "taro", PASSWORD).status_code == 401
    assert cli(site, "user", "enable", "taro").returncode == 0
    assert http_login(site.client(), site.url, "taro", PASSWORD).status_code == 303


def test_a_demotion_applies_to_open_sessions(site: Site) -> None:
    """A supervisor made a reviewer again keeps no supervisor rights in a session opened before."""
    c = site.client("boss")
    assert c.get("/kpi").status_code == 200
    copy = stolen(c)
    done = cli(site, "user", "add", "boss", "--role", "reviewer", "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert c.get("/kpi").status_code in (303, 403)
    assert replay(site, copy, "/kpi") in (303, 403)


def test_sessions_expire_on_the_server(site: Site) -> None:
    """An unattended PC: a session idle too long, or past its lifetime, opens nothing."""
    store = site.ctx.store
    token = store.start_session("hanako", dt.timedelta(hours=8))
    assert store.session_user(token, idle=dt.timedelta(hours=1)) is not None
    assert store.session_user(token, idle=dt.timedelta(0)) is None  # idle too long: gone for good
    assert store.session_user(token, idle=dt.timedelta(hours=1)) is None
    old = store.start_session("hanako", dt.timedelta(0))
    assert store.session_user(old, idle=dt.timedelta(hours=1)) is None


@pytest.mark.parametrize("weak", ["password", "12345678901", "hanako2026xx", "aaaaaaaaaaaa", "dejiru-admin"])
def test_guessable_passwords_are_refused(site: Site, weak: str) -> None:
    """Password guessing: short, common, repeated or name-based passwords are refused everywhere."""
    with pytest.raises(WeakPassword):
        check_password(weak, "hanako")
    done = cli(site, "user", "add", "hanako", "--password-stdin", stdin=weak + "\n")
    assert done.returncode != 0 and "パスワード" in done.stderr
    c = site.client("hanako")
    csrf = c.get("/account/password").text.split('name="csrf" value="')[1].split('"')[0]
    r = c.post("/account/password", data={"csrf": csrf, "current": PASSWORD, "new": weak, "again": weak})
    assert r.status_code == 422
    assert http_login(site.client(), site.url, "hanako", PASSWORD).status_code == 303  # unchanged


def test_one_time_passwords_must_be_changed(site: Site) -> None:
    """The first admin password printed in a terminal opens nothing but the page to replace it."""
    from dejiru.runner import ensure_admin
    from pipeline.context import Context
    from tests.conftest import make_settings

    fresh = Context.create(make_settings(site.home.parent / "fresh"))
    once = ensure_admin(fresh)
    assert once and fresh.store.user("admin").must_change_password
    reset = cli(site, "user", "add", "aki", "--role", "author", "--one-time")
    assert reset.returncode == 0
    temporary = reset.stdout.split("one-time password: ")[1].split()[0]
    c = site.client("aki", temporary)
    for path in ("/templates", "/queue", "/"):
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/account/password", path
    csrf = c.get("/account/password").text.split('name="csrf" value="')[1].split('"')[0]
    new = "hidamari-kita-2027"
    r = c.post("/account/password", data={"csrf": csrf, "current": temporary, "new": new, "again": new})
    assert r.status_code == 303
    assert c.get("/templates").status_code == 200


def test_login_needs_the_form_token(site: Site) -> None:
    """Login CSRF: a login posted from another site (without this browser's form token) is refused."""
    with httpx.Client(base_url=site.url) as c:
        r = c.post("/login", data={"username": "hanako", "password": PASSWORD})
        assert r.status_code == 403
        other = httpx.Client(base_url=site.url)
        forged = login_token(other, site.url)  # a token from the attacker's own visit
        r = c.post("/login", data={"username": "hanako", "password": PASSWORD, "csrf": forged})
        assert r.status_code == 403
        assert "dejiru_session" not in c.cookies or c.get("/queue").status_code == 303


def test_a_stranger_cannot_lock_a_reviewer_out(site: Site) -> None:
    """Lockout: thirty wrong passwords for hanako from another browser do not keep her out of her own."""
    mine = site.client("hanako")  # her PC: logged in before, holds a device cookie
    csrf = mine.get("/queue").text.split('name="csrf" value="')[1].split('"')[0]
    mine.post("/logout", data={"csrf": csrf})
    stranger = httpx.Client(base_url=site.url)
    codes = [http_login(stranger, site.url, "hanako", f"guess-{i}").status_code for i in range(35)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    assert http_login(mine, site.url, "hanako", PASSWORD).status_code == 303


def test_the_login_limiter_is_bounded_and_fair() -> None:
    """Limiter abuse: counts per user and client, guessing across clients bounded, memory bounded."""
    lim = LoginLimiter(attempts=5, user_attempts=30, max_keys=1000)
    for _ in range(5):
        lim.failed("hanako", "10.0.0.9")
    assert lim.blocked("hanako", "10.0.0.9")
    assert not lim.blocked("hanako", "10.0.0.10")  # another PC behind the same desk is not blocked
    assert not lim.blocked("taro", "10.0.0.9")  # nor another user on that PC
    for i in range(30):
        lim.failed("hanako", f"192.0.2.{i}")
    assert lim.blocked("hanako", "10.0.0.11")  # guessing from many addresses is bounded
    assert not lim.blocked("hanako", "10.0.0.11", device="her-pc")  # her own browser still may
    for i in range(100_000):
        lim.failed(f"user{i}", "198.51.100.1")
    assert len(lim) <= 1000


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_gives_secure_cookies_and_hsts(site: Site, tmp_path: Path) -> None:
    """Session theft on the wire: `dejiru serve --cert/--key` serves HTTPS, cookies only over TLS, HSTS."""
    cert, key = _certificate(tmp_path)
    port = free_port()
    env = os.environ | {"DEJIRU_HOME": str(site.home), "DEJIRU_DATABASE_URL": site.ctx.settings.database_url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dejiru.cli",
            "serve",
            "--port",
            str(port),
            "--cert",
            str(cert),
            "--key",
            str(key),
        ],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/health", verify=False)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None, "dejiru serve did not start"
                time.sleep(0.3)
        with httpx.Client(verify=False) as c:
            form = c.get(f"{base}/login")
            assert form.headers["strict-transport-security"].startswith("max-age=")
            assert "secure" in form.headers["set-cookie"].lower()
            r = http_login(c, base, "hanako", PASSWORD)
            assert r.status_code == 303
            assert all("secure" in h.lower() for h in r.headers.get_list("set-cookie"))
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/login")  # no plain-HTTP answer on the TLS port
    finally:
        proc.terminate()
        proc.wait(timeout=20)
