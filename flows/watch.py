"""Intake for the many-PC setup: watch the inbox, submit each complete file as a ``process-file`` run.

Prefect has no file trigger; this watcher (watchdog events, or polling for network shares) is the
trigger. Run it as ``dejiru watch`` on one machine that sees the inbox; Prefect workers do the work.

Only entries of the inbox are submitted (the watcher lists it without following links); a symbolic
link, FIFO, socket or device found there is submitted once too, so that a worker's intake takes it
out of the inbox with a reason file, without ever following or opening it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from intake.watcher import InboxWatcher

log = logging.getLogger(__name__)
DEPLOYMENT = "process-file/process-file"


def submit(path: Path, deployment: str = DEPLOYMENT) -> None:
    from prefect.deployments import run_deployment

    run: Any = run_deployment(deployment, parameters={"path": str(path)}, timeout=0)
    log.info("submitted %s as flow run %s", path.name, run.id)


def watch(
    inbox: Path,
    deployment: str = DEPLOYMENT,
    mode: str = "events",
    settle: float = 2.0,
    stop_after: float | None = None,
    resubmit_after: float = 600.0,
) -> None:
    watcher = InboxWatcher(
        inbox,
        lambda p: submit(p, deployment),
        mode=mode,
        settle=settle,
        resubmit_after=resubmit_after,
        on_stray=lambda p: submit(p, deployment),  # once: intake moves it aside, unfollowed
    )
    watcher.start()
    started = time.monotonic()
    try:
        while stop_after is None or time.monotonic() - started < stop_after:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
