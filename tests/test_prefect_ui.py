"""The Prefect UI of ``dejiru run --prefect-port N`` calls its API on N, whatever else the environment says.

The UI asks its server's ``/ui-settings`` where the API is. Prefect 3 answers from
``PREFECT_SERVER_UI_API_URL`` before the older ``PREFECT_UI_API_URL``; with only the older one set by
dejiru, a stale new-style variable (a profile exported into a shell, an older setup's environment
file) won and the UI called port 4200: "Can't connect to Server API".
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from dejiru import prefect_env
from tests.conftest import REPO, free_port
from tests.security.test_prefect_api import (
    assert_nothing_left,
    kill_servers,
    run_env,
    spawn,
    stop,
    wait_for,
)

STALE = {
    "PREFECT_SERVER_UI_API_URL": "http://127.0.0.1:4200/api",
    "PREFECT_UI_API_URL": "http://127.0.0.1:4200/api",
}


def test_the_server_environment_wins_over_a_stale_ui_address(tmp_path: Path) -> None:
    """What Prefect itself makes of the environment ``prefect server start`` gets."""
    url = "http://127.0.0.1:4321"
    env = (
        os.environ
        | STALE
        | prefect_env.server_env(url, "dejiru:" + "x" * 24)
        | {"PREFECT_HOME": str(tmp_path)}
    )
    code = "from prefect.settings import get_current_settings as s; print(s().server.ui.api_url)"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == f"{url}/api"


@pytest.mark.slow
def test_the_ui_of_dejiru_run_calls_the_api_on_its_own_port(tmp_path: Path, browser: Any) -> None:
    """A browser logs in to the UI on a port that is not 4200 and finds the API there."""
    port, log = free_port(), tmp_path / "run.log"
    cmd = [sys.executable, "-m", "dejiru.cli", "run", "--no-keying", "--prefect-port", str(port)]
    proc = spawn(cmd, run_env(tmp_path, free_port()) | STALE, log)
    try:
        login = re.compile(r"Prefect ログイン / login\s*:\s*(\S+)")
        wait_for("dejiru run did not start", lambda: login.search(log.read_text()), proc, log, limit=400)
        match = login.search(log.read_text())
        assert match is not None
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/ui-settings", timeout=30).json()["api_url"] == f"{base}/api"
        page = browser.new_page()
        local: list[str] = []
        page.on(
            "request", lambda r: local.append(r.url) if "127.0.0.1" in r.url or "localhost" in r.url else None
        )
        page.goto(f"{base}/")
        page.locator("input[type=password]").first.fill(match[1])
        page.keyboard.press("Enter")
        page.get_by_text("Dashboard").first.wait_for(timeout=120_000)
        page.wait_for_load_state("networkidle", timeout=120_000)
        assert "Can't connect" not in page.content()
        api_calls = [u for u in local if "/api/" in u]
        assert api_calls and all(u.startswith(f"{base}/api/") for u in api_calls), local
        page.close()
        assert stop(proc) == 0
        assert_nothing_left(port)
    finally:
        stop(proc)
        kill_servers(port)
