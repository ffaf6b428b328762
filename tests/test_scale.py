"""The many-PC setup on one machine: a Prefect server, PostgreSQL and two process workers on loopback.

Two ``dejiru watch`` processes watch the same inbox (two PCs seeing one scanner share), so files are
submitted twice; every file must become exactly one document, read once, with nothing lost. The
server is started as the README says (``dejiru prefect-server``) and locked with an auth string that
every client, worker and watcher holds in ``PREFECT_API_AUTH_STRING``, as on real PCs.
"""

import io
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from records.models import DocStatus
from records.store import Store
from tests.conftest import REPO, free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
FILES = 6


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd, env=env, cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGINT, signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def test_server_postgres_two_workers(tmp_path, clean_pg, sample) -> None:
    pg_url = clean_pg

    port = free_port()
    bin_dir = Path(sys.executable).parent
    env = os.environ | {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_API_AUTH_STRING": f"dejiru:{secrets.token_urlsafe(24)}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DEJIRU_DATABASE_URL": pg_url,
        "DEJIRU_HOME": str(tmp_path / "shared"),
        "DEJIRU_INBOX": str(tmp_path / "inbox"),
        "DEJIRU_REPO": str(REPO),
    }
    procs = [
        start(
            [
                sys.executable,
                "-m",
                "dejiru.cli",
                "prefect-server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env,
            tmp_path / "server.log",
        )
    ]
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()[-2000:]
            time.sleep(0.5)
        # The lock is on: without the auth string the API answers 401, even on loopback.
        assert httpx.post(f"http://127.0.0.1:{port}/api/deployments/filter", json={}).status_code == 401
        prefect = [str(bin_dir / "prefect"), "--no-prompt"]
        subprocess.run(
            [*prefect, "work-pool", "create", "dejiru-pool", "--type", "process"],
            env=env,
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        dep = subprocess.run(
            [*prefect, "deploy", "--name", "process-file"], env=env, cwd=REPO, capture_output=True, text=True
        )
        assert dep.returncode == 0, dep.stdout[-2000:] + dep.stderr[-2000:]
        for i in range(2):
            procs.append(
                start(
                    [*prefect, "worker", "start", "--pool", "dejiru-pool", "--limit", "1"],
                    env,
                    tmp_path / f"worker{i}.log",
                )
            )

        inbox = tmp_path / "inbox"
        inbox.mkdir()
        watch_env = env | {"DEJIRU_WATCH_SETTLE": "1", "DEJIRU_WATCH_MODE": "poll"}
        for i in range(2):
            procs.append(
                start([sys.executable, "-m", "dejiru.cli", "watch"], watch_env, tmp_path / f"watch{i}.log")
            )
        files = []
        for i in range(FILES):
            img, _ = sample(700 + i, font="ipag", dpi=150)
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, "JPEG", quality=85)
            p = inbox / f"scan_{i}.jpg"
            tmp = inbox / f".scan_{i}.jpg.part"  # written, then renamed, as scanners do
            tmp.write_bytes(buf.getvalue())
            tmp.rename(p)
            files.append(p)
        store = Store(pg_url)
        deadline = time.monotonic() + 420
        while True:
            docs = store.documents() if _migrated(pg_url) else []
            done = [d for d in docs if d.status not in (DocStatus.RECEIVED, DocStatus.READING)]
            if len(done) >= FILES and not any(inbox.iterdir()) and _runs_finished(env):
                break
            assert time.monotonic() < deadline, "\n".join(
                (tmp_path / f"worker{i}.log").read_text()[-1500:] for i in range(2)
            )
            time.sleep(2)
    finally:
        for p in reversed(procs):
            stop(p)

    docs = store.documents()
    assert len(docs) == FILES
    assert sorted(d.original_name for d in docs) == sorted(p.name for p in files)
    assert all(d.status in (DocStatus.REVIEW, DocStatus.APPROVED) for d in docs)
    accepted = [e for e in store.audit_events(limit=1000) if e.action == "intake.accept"]
    assert len(accepted) == FILES  # each file taken exactly once, though submitted twice
    archived = [f for f in (tmp_path / "shared" / "archive").rglob("*") if f.is_file()]
    assert len([f for f in archived if "duplicates" not in f.parts]) == FILES
    submitted = "".join((tmp_path / f"watch{i}.log").read_text() for i in range(2)).count("submitted")
    assert submitted >= FILES


def _migrated(url: str) -> bool:
    from sqlalchemy import create_engine, inspect

    eng = create_engine(url)
    try:
        return inspect(eng).has_table("document")
    finally:
        eng.dispose()


def _runs_finished(env: dict[str, str]) -> bool:
    """Every flow run submitted so far has ended (none scheduled, pending or running)."""
    code = (
        "from prefect.client.orchestration import get_client\n"
        "with get_client(sync_client=True) as c:\n"
        "    runs = c.read_flow_runs()\n"
        "    print(len(runs), sum(1 for r in runs if not (r.state and r.state.is_final())))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        return False
    total, unfinished = map(int, out.stdout.split())
    return total > 0 and unfinished == 0
