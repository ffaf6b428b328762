"""Prefect settings for running offline, set before Prefect is first imported.

Analytics would try to reach the internet; the ephemeral server's 20 s start-up default was hit on
a cold machine; each installation (and each test run) keeps its own ``PREFECT_HOME``.
"""

from __future__ import annotations

import os
from pathlib import Path


def configure(home: Path) -> None:
    os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_UI_SHOW_PROMOTIONAL_CONTENT", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
