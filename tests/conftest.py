"""Shared fixtures. Environment first: every test run gets its own DEJIRU_HOME and PREFECT_HOME,
Prefect's analytics are off, and nothing reaches outside the machine."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

SESSION_DIR = Path(tempfile.mkdtemp(prefix="dejiru-tests-"))
os.environ["DEJIRU_HOME"] = str(SESSION_DIR / "var")
os.environ["DEJIRU_INBOX"] = str(SESSION_DIR / "inbox")
os.environ["DEJIRU_THRESHOLDS"] = str(SESSION_DIR / "no-thresholds.json")
os.environ["PREFECT_HOME"] = str(SESSION_DIR / "prefect")
#: The day every test believes it is (samples are dated "today", dates may not lie in the future):
#: pinned, so that the suite gives the same result on any calendar day. Subprocesses inherit it.
TODAY = "2026-11-24"
os.environ["DEJIRU_TODAY"] = TODAY
#: No audit sampling unless a test asks for it: with the default share a random 2 % of the documents
#: that tests expect to go straight through would wait for a blind check instead (the draw depends on
#: each test home's fresh secret key). Subprocesses inherit it.
os.environ["DEJIRU_AUDIT_SHARE"] = "0"
#: No demo history seeded by `dejiru run` unless a test asks for it: its hundreds of made-up keyed
#: applications would stand beside the one document a test follows. Subprocesses inherit it.
os.environ["DEJIRU_DEMO_HISTORY"] = "0"

from dejiru import prefect_env  # noqa: E402

prefect_env.configure(SESSION_DIR / "var")

from core.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FORM = "juminhyo_request"


#: Ports handed to servers the tests start: below the kernel's ephemeral range (32768 and up), where
#: every outgoing connection (a browser, an HTTP client, PostgreSQL's) takes its own port, and in a block
#: of this pytest-xdist worker's own, so a port checked free is still free when the server binds it.
PORT_BLOCK = 2000
_port_offsets = itertools.count(os.getpid() % PORT_BLOCK)


def free_port() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    base = 20000 + (int(worker) % 6 if worker.isdigit() else 0) * PORT_BLOCK
    for _ in range(PORT_BLOCK):
        port = base + next(_port_offsets) % PORT_BLOCK
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use (another run of the suite, a server still closing)
            return port
    raise RuntimeError(f"no free port in {base}-{base + PORT_BLOCK - 1}")


def make_settings(home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "inbox": home / "inbox",
        "database_url": f"sqlite:///{home / 'dejiru.db'}",
        "review_host": "127.0.0.1",
        "review_port": free_port(),
        "legacy_url": "http://127.0.0.1:8765",
        "legacy_port": 8765,
        "review_all": False,
        "engine": None,
        "audit_share": 0.0,  # see DEJIRU_AUDIT_SHARE above
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home")


@pytest.fixture
def ctx(settings: Settings):  # type: ignore[no-untyped-def]
    from pipeline.context import Context

    return Context.create(settings)


@pytest.fixture(scope="session")
def tpl():  # type: ignore[no-untyped-def]
    from formkit.registry import load_template

    return load_template(FORM)


@lru_cache(maxsize=64)
def _sample(seed: int, font: str | None, profile: str, dpi: int) -> tuple[Any, dict[str, Any]]:
    from formkit.registry import load_template
    from synth.samples import make_sample

    img, truth = make_sample(load_template(FORM), seed, font=font, profile=profile, dpi=dpi)
    img.setflags(write=False)
    return img, truth


@pytest.fixture(scope="session")
def sample():  # type: ignore[no-untyped-def]
    """A filled sample page (RGB array) and its ground truth, cached per arguments."""

    def make(seed: int = 1, font: str | None = None, profile: str = "office", dpi: int = 300):  # type: ignore[no-untyped-def]
        return _sample(seed, font, profile, dpi)

    return make


# --- the CLI ---------------------------------------------------------------------------------------


def run_key(
    env: Mapping[str, str], *args: str, timeout: float = 600, allow_traceback: bool = False
) -> dict[str, Any]:
    """Run ``dejiru key`` (with ``args``) as a subprocess in the repository with exactly ``env``, and
    return the counts it prints last (``{"done": 3}``). Fails the test unless it exits 0, showing the
    ends of its output; and if its stderr holds a Python traceback, unless ``allow_traceback``."""
    run = subprocess.run(
        [sys.executable, "-m", "dejiru.cli", "key", *args],
        cwd=REPO,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    if not allow_traceback:
        assert "Traceback" not in run.stderr
    counts: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return counts


# --- servers ----------------------------------------------------------------------------------------


def login_token(client: Any, base: str) -> str:
    """The login form's CSRF token, as a browser gets it (the client keeps the session cookie)."""
    import re

    page = client.get(f"{base}/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    return found.group(1) if found else ""  # (a form without one is refused by the server, or an old one)


def http_login(client: Any, base: str, username: str, password: str) -> Any:
    """Log in over plain HTTP with an ``httpx.Client`` (no browser): GET the form, POST it back."""
    token = login_token(client, base)
    return client.post(f"{base}/login", data={"username": username, "password": password, "csrf": token})


def browser_login(browser: Any, url: str, user: str, password: str) -> Any:
    """A new page of ``browser`` (Playwright), logged in through the review UI's own form."""
    page = browser.new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("#login")
    return page


class ServerThread:
    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def legacy(tmp_path: Path) -> Iterator[Any]:
    """The demo legacy system on a free port, with its own database; ``legacy.db`` to inspect it."""
    from demo.legacy.app import Faults

    yield from _legacy(tmp_path, Faults())


def _legacy(tmp_path: Path, faults: Any) -> Iterator[Any]:
    from demo.legacy.app import make_app

    db = tmp_path / "legacy.db"
    with ServerThread(make_app(db, faults), free_port()) as srv:
        srv.db = db  # type: ignore[attr-defined]
        yield srv


@pytest.fixture
def legacy_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Start a legacy system with chosen faults: ``with legacy_factory(Faults(...)) as srv``."""
    from contextlib import contextmanager

    @contextmanager
    def start(faults: Any) -> Iterator[Any]:
        gen = _legacy(tmp_path / f"legacy-{time.monotonic_ns()}", faults)
        srv = next(gen)
        try:
            yield srv
        finally:
            gen.close()

    return start


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A Chromium for one test module. Not for the whole session: Playwright's sync API holds an event
    loop in the main thread while it runs, and a module that keys with a ``BotSession`` in the main
    thread (tests/test_bot.py) must find the thread free. A launch costs under a second."""
    from playwright.sync_api import sync_playwright

    from bots.browser import launch_kwargs

    with sync_playwright() as pw:
        b = pw.chromium.launch(**launch_kwargs())
        yield b
        b.close()


# --- PostgreSQL -------------------------------------------------------------------------------------


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make setup` (Debian package postgresql)")
    return found[-1].parent


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A real PostgreSQL server on 127.0.0.1, started for this test session and stopped after it."""
    bin_dir = _pg_bin()
    base = Path(tempfile.mkdtemp(prefix="dejiru-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()
    run = lambda *c: subprocess.run(_as_postgres(list(c)), check=True, capture_output=True)  # noqa: E731
    run(
        str(bin_dir / "initdb"),
        "-D",
        str(data),
        "--auth=trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    )
    run(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-w",
        "-l",
        str(base / "pg.log"),
        "-o",
        f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off",
        "start",
    )
    try:
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "dejiru_test")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/dejiru_test"
    finally:
        from records.db import dispose_all

        dispose_all()
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def clean_pg(pg_url: str) -> str:
    """The session's PostgreSQL database with an empty schema: each test starts from nothing."""
    from sqlalchemy import create_engine, text

    from records.db import dispose_all

    eng = create_engine(pg_url)
    with eng.begin() as c:
        c.execute(text("drop schema public cascade; create schema public"))
    eng.dispose()
    dispose_all()  # pooled connections of earlier tests still see the old schema
    return pg_url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store's database, once on SQLite and once on PostgreSQL (the two we support)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("clean_pg")
    return url


#: Tests that take minutes of mostly waiting (servers, outages, back-off): each starts first on a
#: worker of its own, so the suite's wall time is not one of them queued behind another.
LONG_TESTS = (
    "tests/test_keying_faults.py::",
    "tests/test_many_pcs.py::",
    "tests/test_crash.py::test_kill_and_restart",
)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Put each long test at the head of a different pytest-xdist worker's share (worksteal hands
    each worker a contiguous share of the collection, then steals from the tails). Every worker
    computes the same order, as xdist requires."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    long = [i for i in items if i.nodeid.startswith(LONG_TESTS)]
    if workers < 2 or not long:
        return
    rest = [i for i in items if not i.nodeid.startswith(LONG_TESTS)]
    share = len(items) // workers
    for k, item in enumerate(long):
        rest.insert(min((k % workers) * share, len(rest)), item)
    items[:] = rest


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    shutil.rmtree(SESSION_DIR, ignore_errors=True)
