"""Personal data never reaches Prefect's log store: a real flow run logs a 個人番号 and a traceback
quoting one, and what Prefect's API stored for the run is masked (while the flow's INFO line shows)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

SCRIPT = r"""
import asyncio, json, sys
from pathlib import Path
from dejiru import prefect_env
prefect_env.configure(Path(sys.argv[1]))
from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogHandler
import flows  # what a worker imports before a flow runs

@flow
def leaky() -> None:
    log = get_run_logger()
    log.info("受付: 個人番号 1234 5678 9018")
    try:
        raise ValueError("bad number 123456789018")
    except ValueError:
        log.exception("読み取り失敗")

state = leaky(return_state=True)
APILogHandler().flush()

async def stored():
    async with get_client() as client:
        flt = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id]))
        return [log.message for log in await client.read_logs(log_filter=flt)]

print(json.dumps(asyncio.run(stored()), ensure_ascii=False))
"""


def test_a_flow_run_s_stored_logs_are_masked(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "var")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    stored = json.loads(run.stdout.strip().splitlines()[-1])
    text = "\n".join(stored)
    assert "受付" in text, stored  # the flow's INFO line is kept
    assert "読み取り失敗" in text and "ValueError" in text, stored  # and the traceback
    assert "1234 5678 9018" not in text and "123456789018" not in text, stored
    assert text.count("********9018") >= 2, stored
    assert "1234 5678 9018" not in run.stderr and "123456789018" not in run.stderr  # the console too
