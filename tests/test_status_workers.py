"""The many-PC workers in ``dejiru status``: a real Prefect server (``dejiru prefect-server``, locked with
an auth string, as tests/test_many_pcs.py starts it), a work pool, and workers that report to it the
way ``prefect worker start`` does (the heartbeat endpoint): one that keeps beating and one that stopped.

Whether a worker still beats is judged at an instant the caller gives, so "its heartbeat is old" needs
no waiting in the status logic; the CLI, which judges at its own now, is run after the stopped
worker's 3 missed beats (3 s at a 1 s interval) have certainly passed.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dejiru import prefect_workers
from dejiru.prefect_workers import judge
from dejiru.runner import stop_process, wait_http
from pipeline.context import Context
from tests.conftest import REPO, free_port, make_settings

NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
POOL = "dejiru-pool"


def test_a_worker_beats_until_it_has_missed_three_heartbeats() -> None:
    assert judge(NOW, 30, NOW + dt.timedelta(seconds=90)) == "online"
    assert judge(NOW, 30, NOW + dt.timedelta(seconds=91)) == "stale"
    assert judge(NOW, None, NOW + dt.timedelta(seconds=91)) == "stale"  # Prefect's 30 s when none given
    assert judge(NOW.replace(tzinfo=None), 1, NOW + dt.timedelta(seconds=2)) == "online"
    assert judge(None, 30, NOW) == "never"


@pytest.fixture(scope="module")
def prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A locked Prefect server with one work pool; its URL and the environment its clients load."""
    tmp = tmp_path_factory.mktemp("prefect-status")
    port = free_port()
    auth = f"dejiru:{secrets.token_urlsafe(24)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")} | {
        "PREFECT_HOME": str(tmp / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_API_AUTH_STRING": auth,
    }
    log = tmp / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dejiru.cli", "prefect-server", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert wait_http(f"http://127.0.0.1:{port}/api/health", 300, proc), log.read_text()[-3000:]
        api = httpx.Client(
            base_url=env["PREFECT_API_URL"],
            headers={"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()},
            timeout=60,
        )
        api.post("/work_pools/", json={"name": POOL, "type": "process"}).raise_for_status()
        yield {"env": env, "api": api}
    finally:
        stop_process(proc)


def beat(prefect: dict[str, Any], name: str, interval_s: int) -> None:
    """What a running worker sends to the server every ``interval_s`` seconds."""
    r = prefect["api"].post(
        f"/work_pools/{POOL}/workers/heartbeat", json={"name": name, "heartbeat_interval_seconds": interval_s}
    )
    r.raise_for_status()


@pytest.mark.slow
def test_workers_and_their_heartbeats_from_the_prefect_api(
    prefect: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in prefect["env"].items():
        if k.startswith("PREFECT_API_"):
            monkeypatch.setenv(k, v)
    beat(prefect, "pc-kita", 600)
    beat(prefect, "pc-minami", 1)
    now = dt.datetime.now(dt.UTC)
    later = prefect_workers.workers(now + dt.timedelta(seconds=10))  # an instant the test chooses
    assert later.reach == "ok" and [p.name for p in later.pools] == [POOL]
    beats = {w.name: w.beat for w in later.pools[0].workers}
    assert beats == {"pc-kita": "online", "pc-minami": "stale"}
    assert [p.code for p in later.problems] == ["worker_stale"]
    assert "pc-minami" in later.problems[0].ja and "pc-minami" in later.problems[0].en
    # Both stopped: nothing is read or keyed any more.
    gone = prefect_workers.workers(now + dt.timedelta(hours=1))
    assert {p.code for p in gone.problems} == {"no_workers", "worker_stale"}

    # The CLI, judging at its own now: pc-minami's three 1 s beats have passed before it starts.
    time.sleep(4)
    beat(prefect, "pc-kita", 600)
    ctx = Context.create(make_settings(tmp_path / "home"))
    out = status(ctx, prefect["env"], "--json")
    got = json.loads(out.stdout)
    assert got["workers"]["prefect"] == "ok"
    [pool] = got["workers"]["pools"]
    states = {w["name"]: w["state"] for w in pool["workers"]}
    assert states == {"pc-kita": "online", "pc-minami": "stale"}
    assert all(w["last_heartbeat"] for w in pool["workers"])
    assert "worker_stale" in {p["code"] for p in got["problems"]} and out.returncode == 1
    text = status(ctx, prefect["env"])
    assert "pc-minami: 応答なし / stopped?" in text.stdout and "pc-kita: 動作中 / running" in text.stdout
    # A wrong auth string is told as such, not as a crash.
    wrong = status(ctx, prefect["env"] | {"PREFECT_API_AUTH_STRING": "dejiru:wrong-wrong-wrong"}, "--json")
    assert json.loads(wrong.stdout)["workers"]["prefect"] == "refused" and "Traceback" not in wrong.stderr


def status(ctx: Context, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cfg = ctx.settings
    env = {k: v for k, v in env.items() if not k.startswith("DEJIRU_")} | {
        "DEJIRU_HOME": str(cfg.home),
        "DEJIRU_INBOX": str(cfg.inbox),
        "DEJIRU_TODAY": os.environ["DEJIRU_TODAY"],
    }
    return subprocess.run(
        [sys.executable, "-m", "dejiru.cli", "status", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
