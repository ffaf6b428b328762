"""prefect.yaml's deployments, run by ``dejiru run`` in its own process at the times they say.

On many PCs Prefect's server schedules the deployments of prefect.yaml and process workers run them.
On one PC ``dejiru run`` runs the *same* deployments — every one with a schedule or a trigger, those a
DX leader added with ``dejiru flow new`` included — with the same schedules and trigger events, each
as a real flow run on the local Prefect API (seen in its UI), so one file says when everything runs.

Why not Prefect's ``serve()``: its runner starts a new Python process for every flow run, which loads
Prefect, the OCR models and a Chromium each time; here the runs share one process, so the reading
models and the keying bot's logged-in browser stay warm between runs (a record approved is keyed in
seconds). Each deployment runs in a thread of its own, one run at a time, as a deployment with one
worker would; a trigger event that arrives during a run starts the next run right after it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from core.clock import now as utc_now
from flows.schedule import Deployment

log = logging.getLogger("dejiru.run")


T = TypeVar("T")


def run_here(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a flow in this process without Prefect's heartbeat thread.

    Heartbeats tell a Prefect server that a worker's run is alive, so that a killed worker's run is
    marked crashed; a run of ``dejiru run`` dies with the process that would report it, and the next
    start recovers its work. The heartbeat thread costs each run up to a second at its end (the run
    waits for the thread's one-second sleep): 1.1 s → 0.3 s per flow run, measured on 2 cores.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        return fn(*args, **kwargs)


class LocalRuns:
    """Run ``deployments`` in this process until :meth:`stop`: each at its schedule's times, at once
    on one of its trigger events (:meth:`fire`), and at start if ``at_start`` says so."""

    def __init__(
        self,
        deployments: list[Deployment],
        *,
        at_start: Callable[[Deployment], bool] = lambda _d: False,
        on_thread_end: Callable[[], None] = lambda: None,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.deployments = [d for d in deployments if d.schedules or d.events]
        self.at_start = at_start
        self.on_thread_end = on_thread_end
        self.now = now
        self.stopping = threading.Event()
        self.wake = {d.name: threading.Event() for d in self.deployments}
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for dep in self.deployments:
            flow = dep.flow()  # an entrypoint that does not load stops the start, with its name
            t = threading.Thread(target=self._loop, args=(dep, flow), name=f"deploy-{dep.name}", daemon=True)
            self.threads.append(t)
        for t in self.threads:
            t.start()

    def fire(self, event: str) -> None:
        """An event happened: start every deployment whose trigger expects it."""
        for dep in self.deployments:
            if event in dep.events:
                self.wake[dep.name].set()

    def stop(self, timeout: float = 60) -> None:
        """Stop after the runs in progress (a keying batch finishes its record, a read its page)."""
        self.stopping.set()
        for ev in self.wake.values():
            ev.set()
        for t in self.threads:
            t.join(timeout=timeout)

    def _loop(self, dep: Deployment, flow: Any) -> None:
        wake = self.wake[dep.name]
        if self.at_start(dep):
            wake.set()
        try:
            next_at = dep.next_after(self.now())
            while not self.stopping.is_set():
                wait = None if next_at is None else max((next_at - self.now()).total_seconds(), 0)
                wake.wait(wait)
                if self.stopping.is_set():
                    break
                wake.clear()
                try:
                    run_here(flow, **dep.parameters)
                except Exception as exc:  # the run is marked failed in Prefect; the next one comes
                    log.error("%s failed: %s", dep.name, exc)
                next_at = dep.next_after(self.now())
        finally:
            self.on_thread_end()
