"""`dejiru run` starts the bundled demo legacy system only when a template keys into it.

A city's own installation has no template targeting the demo: its port must stay untouched and no
``DEJIRU_LEGACY_URL`` may be set for it (a copied mapping reading that variable would key into the demo).
"""

from __future__ import annotations

import re
import shutil
import socket
import sys
from pathlib import Path

import pytest

from form_templates import TEMPLATES_DIR
from tests.conftest import free_port
from tests.security.test_prefect_api import clean_env, spawn, stop, wait_for

pytestmark = pytest.mark.slow


def test_no_demo_when_no_template_targets_it(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR / "health_check_hiring", templates / "health_check_hiring")  # no target
    legacy_port, log = free_port(), tmp_path / "run.log"
    env = clean_env(
        tmp_path,
        DEJIRU_INBOX=str(tmp_path / "inbox"),
        DEJIRU_TEMPLATES_DIR=str(templates),
        DEJIRU_REVIEW_PORT=str(free_port()),
        DEJIRU_LEGACY_PORT=str(legacy_port),
    )
    # Someone else's program holds the demo's port: it is none of this installation's business.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", legacy_port))
        squatter.listen()
        cmd = [sys.executable, "-m", "dejiru.cli", "run", "--no-keying", "--no-prefect-server"]
        proc = spawn(cmd, env, log)
        try:
            wait_for(
                "dejiru run did not start", lambda: "dejiru が動いています" in log.read_text(), proc, log
            )
            banner = log.read_text()
            assert "legacy demo" not in banner
            assert not re.search(rf":{legacy_port}\b", banner)
        finally:
            assert stop(proc) == 0, log.read_text()[-2000:]
