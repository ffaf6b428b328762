"""The Prefect API starts no flow for a caller without the auth string, answers no
other origin's web page, never listens beyond loopback unlocked, and no failed start leaves it running.

Each test performs the attack for real, over real HTTP, against real Prefect servers: the many-PC
server started by ``dejiru prefect-server`` (one for the module) and the one-PC server of ``dejiru run``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dejiru.runner import port_free
from tests.conftest import REPO, free_port

pytestmark = pytest.mark.slow

EVIL = "http://evil.example"
#: Whatever a caller might hold, short of the auth string.
WITHOUT_AUTH = {
    "no header": {},
    "wrong password": {"Authorization": "Basic " + base64.b64encode(b"dejiru:guess").decode()},
    "bearer token": {"Authorization": "Bearer dejiru"},
}
AUTH_VARS = ("PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING")


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The test session's environment, without any Prefect server or auth string of its own."""
    env = {k: v for k, v in os.environ.items() if k not in (*AUTH_VARS, "PREFECT_API_URL")}
    env.pop("DEJIRU_LEGACY_URL", None)
    return env | {"PREFECT_HOME": str(tmp / "prefect"), "DEJIRU_HOME": str(tmp / "var")} | extra


def server_pids(port: int) -> list[int]:
    """Live processes started with ``--port PORT``: a Prefect server on that port, orphaned or not."""
    needle = b"\0--port\0" + str(port).encode() + b"\0"
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError):
                if needle in b"\0" + (d / "cmdline").read_bytes():
                    pids.append(int(d.name))
    return pids


def kill_servers(port: int) -> None:
    """Clean up after old code that left a server behind (so one failing test does not leak it)."""
    for pid in server_pids(port):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def spawn(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd, env=env, cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen[bytes]) -> int:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            return proc.wait(timeout=60)
    return proc.wait()


def wait_for(what: str, ready: Any, proc: subprocess.Popen[bytes], log: Path, limit: float = 180) -> None:
    """Wait until ``ready()`` is true; fail with the log if the process ends or the guard runs out."""
    deadline = time.monotonic() + limit
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} (exit {proc.poll()}):\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def basic(auth: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}


def assert_nothing_left(port: int) -> None:
    assert server_pids(port) == [], "a Prefect server was left running"
    assert port_free("127.0.0.1", port), f"port {port} is still held"


# --- the many-PC server: `dejiru prefect-server` -------------------------------------------------------


def ready_post(client: httpx.Client, path: str, body: dict[str, Any], limit: float = 120) -> Any:
    """POST, waiting out the 503s a freshly started Prefect server answers while its database is still
    busy with start-up (its health check answers before writes do; more often on a loaded machine)."""
    deadline = time.monotonic() + limit
    while True:
        r = client.post(path, json=body)
        if r.status_code != 503 or time.monotonic() > deadline:
            return r.raise_for_status().json()
        time.sleep(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`dejiru prefect-server` on loopback with an auth string, holding a `process-file` deployment."""
    tmp = tmp_path_factory.mktemp("prefect-server")
    port, auth = free_port(), f"dejiru:{secrets.token_urlsafe(24)}"
    url = f"http://127.0.0.1:{port}"
    log = tmp / "server.log"
    env = clean_env(tmp, PREFECT_API_AUTH_STRING=auth)
    proc = spawn(
        [sys.executable, "-m", "dejiru.cli", "prefect-server", "--host", "127.0.0.1", "--port", str(port)],
        env,
        log,
    )
    try:
        wait_for("the Prefect server did not start", lambda: answers(f"{url}/api/health"), proc, log)
        with httpx.Client(base_url=f"{url}/api", headers=basic(auth), timeout=30) as c:
            flow = ready_post(c, "/flows/", {"name": "process-file"})
            deployment = ready_post(c, "/deployments/", {"name": "process-file", "flow_id": flow["id"]})["id"]
        yield {"url": url, "auth": auth, "flow": flow["id"], "deployment": deployment, "env": env}
    finally:
        stop(proc)
        kill_servers(port)


def flow_runs(server: dict[str, Any]) -> list[dict[str, Any]]:
    r = httpx.post(
        f"{server['url']}/api/flow_runs/filter", json={}, headers=basic(server["auth"]), timeout=30
    )
    return list(r.raise_for_status().json())


@pytest.mark.parametrize("headers", WITHOUT_AUTH.values(), ids=WITHOUT_AUTH.keys())
def test_start_process_file_without_auth(server: dict[str, Any], headers: dict[str, str]) -> None:
    """Attack: start `process-file` on a path outside the inbox through the API without the auth string."""
    api = f"{server['url']}/api"
    listed = httpx.post(f"{api}/deployments/filter", json={}, headers=headers, timeout=30)
    assert listed.status_code == 401
    started = httpx.post(
        f"{api}/deployments/{server['deployment']}/create_flow_run",
        json={"parameters": {"path": "/etc/shadow"}},
        headers=headers,
        timeout=30,
    )
    assert started.status_code == 401
    made = httpx.post(f"{api}/flow_runs/", json={"flow_id": server["flow"]}, headers=headers, timeout=30)
    assert made.status_code == 401
    assert not [r for r in flow_runs(server) if r["parameters"].get("path") == "/etc/shadow"]


def test_worker_with_auth_string_gets_in(server: dict[str, Any]) -> None:
    """Attack: the lock itself as denial of service: a worker holding the auth string must still get in."""
    code = (
        "from prefect.client.orchestration import get_client\n"
        "with get_client(sync_client=True) as c:\n"
        "    deps = c.read_deployments()\n"
        "    run = c.create_flow_run_from_deployment(deps[0].id, parameters={'path': 'inbox/a.pdf'})\n"
        "    print(len(deps), run.id)\n"
    )
    env = server["env"] | {"PREFECT_API_URL": f"{server['url']}/api"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[0] == "1"
    ui = httpx.get(f"{server['url']}/ui-settings", timeout=30).json()
    assert ui["auth"] == "BASIC"  # the UI asks for the auth string before it calls the API
    assert ui["api_url"] == f"{server['url']}/api"


def test_cross_origin_page_calls_api(server: dict[str, Any]) -> None:
    """Attack: a web page on another origin calls the API from a reviewer's browser (CORS preflight)."""
    preflight = httpx.options(
        f"{server['url']}/api/deployments/filter",
        headers={
            "Origin": EVIL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=30,
    )
    assert preflight.headers.get("access-control-allow-origin") not in ("*", EVIL)
    simple = httpx.get(f"{server['url']}/api/health", headers={"Origin": EVIL}, timeout=30)
    assert simple.headers.get("access-control-allow-origin") not in ("*", EVIL)
    own = httpx.options(
        f"{server['url']}/api/deployments/filter",
        headers={"Origin": server["url"], "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert own.headers.get("access-control-allow-origin") == server["url"]


@pytest.mark.parametrize(
    ("host", "auth"),
    [("0.0.0.0", None), ("::", None), ("prefect-server.city.local", None), ("0.0.0.0", "dejiru:short")],
    ids=["any-ipv4", "any-ipv6", "a-name", "short-auth"],
)
def test_expose_api_without_auth(tmp_path: Path, host: str, auth: str | None) -> None:
    """Attack: serve the API on `--host 0.0.0.0` (README step 3 as it was) with no or a short auth string."""
    port = free_port()
    env = clean_env(tmp_path) | ({"PREFECT_API_AUTH_STRING": auth} if auth else {})
    try:
        out = subprocess.run(
            [sys.executable, "-m", "dejiru.cli", "prefect-server", "--host", host, "--port", str(port)],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode != 0
        assert out.stderr.startswith("エラー: "), out.stderr
        assert "認証文字列" in out.stderr and "auth string" in out.stderr
        assert_nothing_left(port)
    finally:
        kill_servers(port)


# --- the one-PC server: `dejiru run` ---------------------------------------------------------------------


def run_env(tmp: Path, review_port: int) -> dict[str, str]:
    return clean_env(
        tmp,
        DEJIRU_INBOX=str(tmp / "inbox"),
        DEJIRU_REVIEW_PORT=str(review_port),
        DEJIRU_LEGACY_PORT=str(free_port()),
    )


def dejiru_run(prefect_port: int) -> list[str]:
    return [sys.executable, "-m", "dejiru.cli", "run", "--no-keying", "--prefect-port", str(prefect_port)]


def test_local_run_api_without_auth(tmp_path: Path) -> None:
    """Attack: another account or a rebinding web page calls `dejiru run`'s local Prefect API on loopback."""
    port, log = free_port(), tmp_path / "run.log"
    proc = spawn(dejiru_run(port), run_env(tmp_path, free_port()), log)
    try:
        login = re.compile(r"Prefect ログイン / login\s*:\s*(\S+)")
        wait_for("dejiru run did not start", lambda: login.search(log.read_text()), proc, log)
        match = login.search(log.read_text())
        assert match is not None
        api = f"http://127.0.0.1:{port}/api"
        for headers in WITHOUT_AUTH.values():
            assert httpx.post(f"{api}/deployments/filter", json={}, headers=headers).status_code == 401
        assert httpx.post(f"{api}/deployments/filter", json={}, headers=basic(match[1])).status_code == 200
        preflight = httpx.options(
            f"{api}/flow_runs/",
            headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers.get("access-control-allow-origin") not in ("*", EVIL)
        assert stop(proc) == 0  # SIGTERM: a clean stop, its Prefect server included
        assert_nothing_left(port)
    finally:
        stop(proc)
        kill_servers(port)


def test_busy_review_port_orphans_prefect(tmp_path: Path) -> None:
    """Attack: hold the review UI's port so that `dejiru run` fails and leaves an orphan Prefect server."""
    port, review_port, log = free_port(), free_port(), tmp_path / "run.log"
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", review_port))
        squatter.listen()
        proc = spawn(dejiru_run(port), run_env(tmp_path, review_port), log)
        try:
            code = proc.wait(timeout=300)
            out = log.read_text()
            assert code != 0, out[-2000:]
            assert "エラー: 確認画面のポート" in out and "DEJIRU_REVIEW_PORT" in out, out[-2000:]
            assert_nothing_left(port)
        finally:
            stop(proc)
            kill_servers(port)


def test_failing_startup_orphans_prefect(tmp_path: Path) -> None:
    """Attack: make a start-up step after the Prefect server fail (legacy folder unusable): no orphan."""
    port, log = free_port(), tmp_path / "run.log"
    env = run_env(tmp_path, free_port())
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "legacy").write_text("not a folder")
    proc = spawn(dejiru_run(port), env, log)
    try:
        code = proc.wait(timeout=300)
        assert code != 0, log.read_text()[-2000:]
        # the Prefect server had been started (its log exists), and is gone now
        assert (tmp_path / "var" / "prefect-server.log").exists()
        assert_nothing_left(port)
    finally:
        stop(proc)
        kill_servers(port)
