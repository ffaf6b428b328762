"""Is the pipeline healthy: ``dejiru status`` (and ``--json``), the review server's ``/healthz``,
``/readyz`` and ``/metrics``.

Facts are planted with their own times and judged at an instant the test gives (no clock in any
assertion); the CLI runs as a real process and the endpoints behind a real HTTP server. The slow test
keys through a real outage of the demo legacy system with ``dejiru key``, then through its recovery.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from intake.backlog import backlog
from pipeline import health
from pipeline.context import Context
from records.db import dispose_all, get_engine
from records.models import (
    AuditEvent,
    DocStatus,
    Document,
    ExceptionItem,
    FieldValue,
    KeyingJob,
    KeyStatus,
    ReviewTask,
)
from records.store import Store, reference
from review.app import create_app
from review.routes import health as health_routes
from review.routes.account import PUBLIC
from tests.conftest import REPO, ServerThread, free_port, make_settings, run_key
from tests.legacy_rows import rows
from tests.test_keying_faults import approved

T0 = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)  # 12:00 in Japan
MIN = dt.timedelta(minutes=1)
#: What a resident wrote, planted where a careless view would show it: no health view may.
SECRET_NAME = "山田太郎"
SECRET_NUMBER = "123456789012"


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context.create(make_settings(tmp_path / "home"))


@pytest.fixture(autouse=True)
def fresh_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every /metrics request computes anew (in service an answer is reused for a few seconds)."""
    monkeypatch.setattr(health_routes, "FRESH_S", 0.0)


def doc(i: int, status: DocStatus, received: dt.datetime, updated: dt.datetime | None = None) -> Document:
    return Document(
        sha256=f"{i:064x}",
        original_name=f"{SECRET_NAME}.pdf",
        archive_path=f"/archive/{i}.pdf",
        size_bytes=1,
        status=status,
        form_id="juminhyo_request",
        received_at=received,
        updated_at=updated or received,
    )


def plant(store: Store) -> dict[str, int]:
    """A store in mid-afternoon: queues of every kind, a target down since 12:00, exceptions."""
    d = {
        "review_old": doc(1, DocStatus.REVIEW, T0 - 300 * MIN, T0 - 5 * MIN),  # a reviewer saved just now
        "review_new": doc(2, DocStatus.REVIEW, T0 - 20 * MIN),
        "double": doc(3, DocStatus.DOUBLE_CHECK, T0 - 90 * MIN, T0 - 2 * MIN),
        "approved": doc(4, DocStatus.APPROVED, T0 - 70 * MIN, T0 - 60 * MIN),
        "waiting": doc(5, DocStatus.APPROVED, T0 - 200 * MIN, T0 - 190 * MIN),
        "exception": doc(6, DocStatus.EXCEPTION, T0 - 500 * MIN, T0 - 45 * MIN),
        "reading": doc(7, DocStatus.READING, T0 - 40 * MIN, T0 - 30 * MIN),  # a dead reader's claim
        "keyed": doc(8, DocStatus.KEYED, T0 - 600 * MIN, T0 - 100 * MIN),
        "quarantined": doc(9, DocStatus.QUARANTINED, T0 - 50 * MIN),
    }
    d["keyed"].straight_through = True
    d["review_new"].straight_through = False
    store.add_rows(list(d.values()))
    ids = {k: v.id for k, v in d.items() if v.id is not None}
    store.add_rows(
        [
            ReviewTask(document_id=ids["review_old"], created_at=T0 - 240 * MIN),
            ReviewTask(document_id=ids["review_new"], created_at=T0 - 15 * MIN),
            ReviewTask(document_id=ids["double"], created_at=T0 - 80 * MIN, first_approved_at=T0 - 10 * MIN),
            FieldValue(
                document_id=ids["review_old"],
                name="name",
                type="name",
                value=json.dumps(SECRET_NAME),
                ocr_value="null",
            ),
            KeyingJob(
                document_id=ids["keyed"],
                target="demo_legacy",
                reference=reference(ids["keyed"]),
                status=KeyStatus.DONE,
                receipt="R-1",
                finished_at=T0 - 100 * MIN,
            ),
            KeyingJob(
                document_id=ids["waiting"],
                target="demo_legacy",
                reference=reference(ids["waiting"]),
                status=KeyStatus.PENDING,
                attempts=3,
                waiting_since=T0 - 180 * MIN,  # 09:00 in Japan
                last_error="keying_transient",
            ),
            KeyingJob(
                document_id=ids["approved"],
                target="demo_legacy",
                reference=reference(ids["approved"]),
                status=KeyStatus.PENDING,
                waiting_since=T0 - 60 * MIN,
                last_error="keying_slot_busy",
            ),
            KeyingJob(
                document_id=ids["exception"],
                target="demo_legacy",
                reference=reference(ids["exception"]),
                status=KeyStatus.FAILED,
                last_error="keying_rejected",
                finished_at=T0 - 45 * MIN,
            ),
            ExceptionItem(
                document_id=ids["exception"],
                code="keying_rejected",
                message_ja="請求通数は10通までです",
                message_en="at most 10 copies",
                detail=f"個人番号 {SECRET_NUMBER} の申請",
                source_name=f"{SECRET_NAME}.pdf",
                created_at=T0 - 45 * MIN,
            ),
            ExceptionItem(
                code="unknown_form",
                message_ja="様式が分かりません",
                message_en="unknown form",
                source_name=f"{SECRET_NAME}.jpg",
                created_at=T0 - 30 * 60 * MIN,  # open, but not of the last day
            ),
            ExceptionItem(
                code="duplicate",
                message_ja="重複",
                message_en="duplicate",
                created_at=T0 - 10 * MIN,
                resolved_at=T0 - 5 * MIN,
                resolved_by="suzuki",
            ),
            AuditEvent(
                user="suzuki", action="document.approved", document_id=ids["keyed"], at=T0 - 110 * MIN
            ),
        ]
    )
    return ids


def test_facts_and_problems_of_a_store_in_mid_afternoon(db_url: str, tmp_path: Path) -> None:
    """On SQLite and on PostgreSQL: the queries are plain aggregates either speaks."""
    ctx = Context.create(make_settings(tmp_path / "pg-home", database_url=db_url))
    ids = plant(ctx.store)
    h = health.gather(ctx, at=T0)
    f = h.facts
    assert f is not None
    q = {x.state: x for x in f.queues}
    # A reviewer's save does not make a document new in its queue: the task's own stamp counts.
    assert (q["review"].count, q["review"].oldest_since, q["review"].oldest_id) == (
        2,
        T0 - 240 * MIN,
        ids["review_old"],
    )
    assert (q["double_check"].oldest_since, q["double_check"].oldest_id) == (T0 - 10 * MIN, ids["double"])
    assert (q["approved"].count, q["approved"].oldest_id) == (2, ids["waiting"])
    assert (q["exception"].oldest_since, q["reading"].oldest_since) == (T0 - 45 * MIN, T0 - 30 * MIN)
    assert q["audit_check"].count == 0 and q["audit_check"].oldest_since is None
    assert f.reads == {"straight_through": 1, "review": 1}
    assert [(e.code, e.count) for e in f.open_exceptions] == [("keying_rejected", 1), ("unknown_form", 1)]
    assert f.recent_exceptions == {"duplicate": 1, "keying_rejected": 1}

    [legacy] = h.targets
    k = legacy.keying
    assert k.records == {"done": 1, "pending": 2, "failed": 1}
    assert (k.last_done_at, k.last_failed_at) == (T0 - 100 * MIN, T0 - 45 * MIN)
    # Down since the earliest waiting record met the outage, with the error that record met; its
    # records go to a person when the mapping's window (240 min) has passed since then.
    assert (k.met_outage, k.waiting_since, k.last_error) == (2, T0 - 180 * MIN, "keying_transient")
    assert legacy.to_key == 2
    assert legacy.until == T0 + 60 * MIN

    codes = {p.code for p in h.problems} - {"disk_low"}  # the test machine's disk is not ours to judge
    # A claim older than the read lease (15 min) is a dead reader; the approved records are the
    # outage's, not keying's fault; people's queues are work, not faults.
    assert codes == {"target_down", "reader_stale"}
    down = next(p for p in h.problems if p.code == "target_down")
    assert "demo_legacy" in down.ja and "09:00" in down.ja and "13:00" in down.ja
    assert "since 11/30 09:00" in down.en and "2 records waiting" in down.en


def test_approved_records_nobody_keys_are_a_problem_when_no_target_is_down(ctx: Context) -> None:
    ctx.store.add_rows([doc(1, DocStatus.APPROVED, T0 - 50 * MIN, T0 - 40 * MIN)])
    assert {p.code for p in health.gather(ctx, at=T0 - 15 * MIN).problems} - {"disk_low"} == set()
    late = [p for p in health.gather(ctx, at=T0).problems if p.code == "not_keyed"]
    assert len(late) == 1 and "40分" in late[0].ja and "40 min" in late[0].en


def test_status_json_and_text_from_the_cli(ctx: Context, tmp_path: Path) -> None:
    ids = plant(ctx.store)
    (ctx.settings.inbox / "scan_1.pdf").write_bytes(b"%PDF-1.4")
    out = status_cli(ctx, "--json")
    assert out.returncode == 1, out.stderr  # a target down: something to fix
    got = json.loads(out.stdout)
    assert got["ok"] is False and got["database"] == {"ok": True}
    assert {p["code"] for p in got["problems"]} >= {"target_down", "reader_stale"}
    assert all(p["ja"] and p["en"] for p in got["problems"])
    assert got["documents"]["by_state"]["review"] == 2
    review = next(q for q in got["queues"] if q["state"] == "review")
    assert review["waits_for"] == "person" and review["oldest_document"] == ids["review_old"]
    assert review["oldest_since"] == (T0 - 240 * MIN).isoformat() and review["ja"] == "確認待ち"
    [legacy] = got["keying"]
    assert legacy["down"] is True and legacy["to_key"] == 2 and legacy["last_error"] == "keying_transient"
    assert legacy["down_since"] == (T0 - 180 * MIN).isoformat()
    assert legacy["last_success"] == (T0 - 100 * MIN).isoformat() and legacy["failed"] == 1
    assert got["inbox"]["files"] == 1 and got["inbox"]["present"] is True
    assert got["disk"]["free_bytes"] > 0
    assert got["exceptions"]["open"][0] == {
        "code": "keying_rejected",
        "count": 1,
        "oldest": (T0 - 45 * MIN).isoformat(),
    }
    assert got["workers"]["prefect"] == "not_configured"

    text = status_cli(ctx)
    assert text.returncode == 1
    assert "要対応 / needs attention" in text.stdout and "demo_legacy" in text.stdout
    assert "停止中 / down since 11/30 09:00" in text.stdout
    assert "確認待ち / waiting for review" in text.stdout and "keying_rejected: 1" in text.stdout
    for shown in (out.stdout, text.stdout):
        assert SECRET_NAME not in shown and SECRET_NUMBER not in shown and "suzuki" not in shown


def status_cli(ctx: Context, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    cfg = ctx.settings
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API_", "DEJIRU_"))}
    base |= {
        "DEJIRU_HOME": str(cfg.home),
        "DEJIRU_INBOX": str(cfg.inbox),
        "DEJIRU_DATABASE_URL": cfg.database_url,
        "DEJIRU_TODAY": os.environ["DEJIRU_TODAY"],
        "PREFECT_HOME": os.environ["PREFECT_HOME"],
    }
    return subprocess.run(
        [sys.executable, "-m", "dejiru.cli", "status", *args],
        cwd=REPO,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def metrics(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = httpx.get(f"{url}/metrics", timeout=60)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    out = {}
    for family in text_string_to_metric_families(r.text):  # the format parses strictly
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture
def server(ctx: Context) -> Iterator[ServerThread]:
    with ServerThread(create_app(ctx), free_port()) as srv:
        yield srv


def test_metrics_say_counts_and_ages_only_and_need_no_login(ctx: Context, server: ServerThread) -> None:
    plant(ctx.store)
    m = metrics(server.url)
    assert m[("dejiru_documents", (("state", "review"),))] == 2
    assert m[("dejiru_documents", (("state", "rejected"),))] == 0  # every state, even when empty
    assert m[("dejiru_keying_target_down", (("target", "demo_legacy"),))] == 1
    assert m[("dejiru_keying_to_key_documents", (("target", "demo_legacy"),))] == 2
    assert m[("dejiru_keying_records", (("status", "failed"), ("target", "demo_legacy")))] == 1
    assert (
        m[("dejiru_keying_down_since_timestamp_seconds", (("target", "demo_legacy"),))]
        == (T0 - 180 * MIN).timestamp()
    )
    assert (
        m[("dejiru_keying_last_success_timestamp_seconds", (("target", "demo_legacy"),))]
        == (T0 - 100 * MIN).timestamp()
    )
    assert m[("dejiru_queue_oldest_age_seconds", (("state", "review"),))] > 0
    assert m[("dejiru_queue_oldest_age_seconds", (("state", "audit_check"),))] == 0
    assert m[("dejiru_exceptions_open", (("code", "unknown_form"),))] == 1
    assert m[("dejiru_problems", (("code", "target_down"),))] == 1
    assert m[("dejiru_healthy", ())] == 0 and m[("dejiru_database_up", ())] == 1
    assert m[("dejiru_documents_read", (("route", "straight_through"),))] == 1
    text = httpx.get(f"{server.url}/metrics").text
    for secret in (SECRET_NAME, SECRET_NUMBER, "suzuki", ".pdf", str(ctx.settings.home)):
        assert secret not in text
    assert "set-cookie" not in httpx.get(f"{server.url}/metrics").headers


def test_the_monitoring_routes_are_the_public_ones() -> None:
    """Listed as public, so tests/test_review_routes.py holds them to needing no session."""
    assert health_routes.HEALTH_ROUTES <= PUBLIC


def test_readyz_answers_503_while_the_database_is_gone(ctx: Context, server: ServerThread) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"ok": True}
    assert httpx.get(f"{server.url}/readyz").json() == {"ok": True}
    db = ctx.settings.home / "dejiru.db"
    aside = ctx.settings.home / "moved"
    aside.mkdir()
    dispose_all()
    for f in ctx.settings.home.glob("dejiru.db*"):
        f.rename(aside / f.name)
    db.mkdir()  # the file is gone and nothing can make it again: a lost mount, a deleted file
    try:
        r = httpx.get(f"{server.url}/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["code"] == "database_unavailable" and body["error_ja"] and body["error_en"]
        assert str(ctx.settings.home) not in r.text
        assert httpx.get(f"{server.url}/healthz").status_code == 200  # alive, just not ready
        m = metrics(server.url)
        assert (
            m[("dejiru_database_up", ())] == 0
            and m[("dejiru_problems", (("code", "database_unavailable"),))] == 1
        )
        out = status_cli(ctx, "--json")
        assert out.returncode == 1, out.stderr
        got = json.loads(out.stdout)
        assert got["database"] == {"ok": False} and "database_unavailable" in {
            p["code"] for p in got["problems"]
        }
        assert "Traceback" not in out.stderr
    finally:
        db.rmdir()
        dispose_all()
        for f in aside.iterdir():
            f.rename(ctx.settings.home / f.name)
    assert httpx.get(f"{server.url}/readyz").status_code == 200


def test_a_hanging_database_holds_one_thread_and_every_request_gets_an_answer(
    ctx: Context, server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hostile timing: a database that stops answering mid-query. Each request is answered 503 within
    the limit; one check and one computation run at a time, however many requests come."""
    monkeypatch.setattr(health_routes, "TIMEOUT_S", 0.3)
    release = threading.Event()
    started: list[str] = []

    def hang(what: str) -> Any:
        def stuck(*args: Any) -> Any:
            started.append(what)
            release.wait(120)
            return "# late\n"

        return stuck

    monkeypatch.setattr(ctx.store, "ping", hang("ping"))
    monkeypatch.setattr(health_routes, "gather", hang("gather"))
    monkeypatch.setattr(health_routes, "exposition", lambda text: text)
    try:
        first = httpx.get(f"{server.url}/readyz", timeout=30)
        assert first.status_code == 503 and first.json()["code"] == "database_timeout"
        again = httpx.get(f"{server.url}/readyz", timeout=30)
        assert again.status_code == 503 and again.json()["code"] == "ready_check_busy"
        for _ in range(3):
            assert httpx.get(f"{server.url}/metrics", timeout=30).status_code == 503
        assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200
        assert eventually(lambda: len(started) == 2)
        assert sorted(started) == ["gather", "ping"]  # one of each, not one per request
    finally:
        release.set()
    # The database answers again: so do both routes (once the stuck jobs have ended).
    assert eventually(lambda: httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200)
    assert eventually(lambda: httpx.get(f"{server.url}/metrics", timeout=30).text == "# late\n")


def eventually(cond: Any, limit: float = 60) -> bool:
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_metrics_cost_the_same_few_queries_for_a_large_store(ctx: Context, server: ServerThread) -> None:
    """Hostile volume: aggregates, not rows. The number of statements a scrape runs does not grow
    with the documents, jobs and exceptions the store holds."""
    plant(ctx.store)
    small = statements(ctx, server)
    ctx.store.add_rows(
        [doc(1000 + i, DocStatus.KEYED if i % 3 else DocStatus.REVIEW, T0 - i * MIN) for i in range(3000)]
    )
    ctx.store.add_rows(
        [
            ExceptionItem(code=f"code_{i % 7}", message_ja="x", message_en="x", created_at=T0 - i * MIN)
            for i in range(2000)
        ]
    )
    assert statements(ctx, server) == small
    assert metrics(server.url)[("dejiru_documents", (("state", "review"),))] == 2 + 1000


def statements(ctx: Context, server: ServerThread) -> int:
    engine = get_engine(ctx.settings.database_url)
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        httpx.get(f"{server.url}/metrics", timeout=60).raise_for_status()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert seen
    return len(seen)


def test_inbox_backlog_counts_what_the_watcher_would_take_and_follows_nothing(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    old = inbox / "sub" / "old.pdf"
    old.write_bytes(b"x")
    os.utime(old, (T0.timestamp(), T0.timestamp()))
    (inbox / "new.jpg").write_bytes(b"x")
    for ignored in (".hidden.pdf", "scan.pdf.part", "scan.tmp", "old.pdf.reason.txt"):
        (inbox / ignored).write_bytes(b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    for i in range(5):
        (outside / f"{i}.pdf").write_bytes(b"x")
    (inbox / "link").symlink_to(outside)  # a link to a folder full of files: not entered
    got = backlog(inbox)
    assert (got.present, got.files, got.strays, got.oldest, got.truncated) == (True, 2, 1, T0, False)
    assert backlog(inbox, limit=3).truncated
    assert not backlog(tmp_path / "missing").present
    assert not backlog(old).present  # a file where the folder should be


def test_status_says_when_the_prefect_server_cannot_be_reached(ctx: Context) -> None:
    port = free_port()  # nothing listens there
    out = status_cli(ctx, "--json", PREFECT_API_URL=f"http://127.0.0.1:{port}/api")
    got = json.loads(out.stdout)
    assert got["workers"]["prefect"] == "unreachable"
    assert [p["code"] for p in got["problems"] if p["code"].startswith("prefect")] == ["prefect_unreachable"]
    assert out.returncode == 1 and "Traceback" not in out.stderr
    text = status_cli(ctx, PREFECT_API_URL=f"http://dejiru:secret@127.0.0.1:{port}/api")
    assert "接続できません / unreachable" in text.stdout and "secret" not in text.stdout


@pytest.mark.slow
def test_status_and_metrics_through_an_outage_of_the_legacy_system(legacy: Any, tmp_path: Path) -> None:
    """A running pipeline: records approved, ``dejiru key`` against the demo legacy system while it is
    down (they wait, visibly), then again once it is back (they are keyed)."""
    cfg = make_settings(tmp_path / "var", inbox=tmp_path / "inbox")
    ctx = Context.create(cfg)
    docs = [approved(ctx.store, i)[0] for i in (0, 1, 2)]
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING")}
    env |= {
        "DEJIRU_HOME": str(cfg.home),
        "DEJIRU_INBOX": str(cfg.inbox),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "DEJIRU_KEYING_RETRY_DELAYS": "0.2,0.2",
        "DEJIRU_LEGACY_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens: the system is down
    }
    assert run_key(env) == {"waiting": 3}
    since = ctx.store.keying_jobs(docs[0])[0].waiting_since
    assert since is not None
    with ServerThread(create_app(ctx), free_port()) as srv:
        assert httpx.get(f"{srv.url}/healthz").status_code == 200
        assert httpx.get(f"{srv.url}/readyz").status_code == 200
        m = metrics(srv.url)
        assert m[("dejiru_keying_target_down", (("target", "demo_legacy"),))] == 1
        assert m[("dejiru_keying_to_key_documents", (("target", "demo_legacy"),))] == 3
        assert m[("dejiru_documents", (("state", "approved"),))] == 3
        assert m[("dejiru_problems", (("code", "target_down"),))] == 1
        out = status_cli(ctx, "--json")
        got = json.loads(out.stdout)
        assert out.returncode == 1
        [legacy_status] = got["keying"]
        assert legacy_status["down"] and legacy_status["to_key"] == 3
        assert legacy_status["last_error"] == "keying_transient" and legacy_status["last_success"] is None
        assert "target_down" in {p["code"] for p in got["problems"]}

        env["DEJIRU_LEGACY_URL"] = legacy.url  # the system is back
        assert run_key(env) == {"done": 3}
        assert len(rows(legacy.db)) + len(rows(legacy.db, "inkan")) == 3
        m = metrics(srv.url)
        assert m[("dejiru_keying_target_down", (("target", "demo_legacy"),))] == 0
        assert m[("dejiru_keying_records", (("status", "done"), ("target", "demo_legacy")))] == 3
        assert ("dejiru_keying_last_success_timestamp_seconds", (("target", "demo_legacy"),)) in m
        assert m[("dejiru_documents", (("state", "keyed"),))] == 3
        out = status_cli(ctx, "--json")
        got = json.loads(out.stdout)
        codes = {p["code"] for p in got["problems"]}
        assert codes <= {"disk_low"} and out.returncode == (1 if codes else 0)
        [legacy_status] = got["keying"]
        assert not legacy_status["down"] and legacy_status["last_success"] is not None
        text = status_cli(ctx)
        assert "demo_legacy: 最終成功 / last success" in text.stdout and "停止中" not in text.stdout
    shutil.rmtree(tmp_path / "prefect", ignore_errors=True)
