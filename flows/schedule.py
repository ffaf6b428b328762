"""prefect.yaml's deployments, read for ``dejiru run``: which flow, with which parameters, when.

On many PCs Prefect's server reads prefect.yaml (``prefect deploy``) and its scheduler and triggers
start the runs. On one PC ``dejiru run`` runs the same deployments in its own process (see
``dejiru/local_runs.py`` for why not ``serve()``), at the times the same schedules give and on the same
trigger events: one file says when everything runs, whatever the setup.

Only what a deployment entry says about *when* is read here: ``schedules`` (``interval`` in seconds,
or ``cron`` with ``timezone``; ``active: false`` skipped) and the event names its ``triggers`` expect.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import DeploymentsError

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Schedule:
    interval: dt.timedelta | None = None
    cron: str | None = None
    timezone: str = "UTC"

    def next_after(self, at: dt.datetime) -> dt.datetime:
        """The first time strictly after ``at`` this schedule fires (an interval counts from ``at``)."""
        if self.interval is not None:
            return at + self.interval
        from prefect.server.schemas.schedules import CronSchedule

        assert self.cron is not None
        dates = asyncio.run(
            CronSchedule(cron=self.cron, timezone=self.timezone).get_dates(
                n=1, start=at + dt.timedelta(seconds=1)
            )
        )
        return dates[0]


@dataclass(frozen=True)
class Deployment:
    name: str
    entrypoint: str
    parameters: dict[str, Any] = field(default_factory=dict)
    schedules: tuple[Schedule, ...] = ()
    #: Event names its triggers expect (``dejiru.document.approved`` for key-approved).
    events: tuple[str, ...] = ()

    def next_after(self, at: dt.datetime) -> dt.datetime | None:
        times = [s.next_after(at) for s in self.schedules]
        return min(times) if times else None

    def flow(self) -> Any:
        """The flow object, imported as a module of this checkout (``flows/keying.py:key_approved`` →
        ``flows.keying.key_approved``) so it shares this process's caches (store, browsers)."""
        path, _, attr = self.entrypoint.partition(":")
        module = Path(path).with_suffix("").as_posix().replace("/", ".")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise DeploymentsError(
                f"prefect.yaml のデプロイ {self.name} の entrypoint {self.entrypoint} が読み込めません: {exc}",
                f"deployment {self.name}: cannot load its entrypoint {self.entrypoint}: {exc}",
            ) from exc


def _schedule(entry: dict[str, Any]) -> Schedule | None:
    if not entry.get("active", True):
        return None
    if "interval" in entry:
        return Schedule(interval=dt.timedelta(seconds=float(entry["interval"])))
    if "cron" in entry:
        return Schedule(cron=str(entry["cron"]), timezone=str(entry.get("timezone") or "UTC"))
    return None


def deployments(path: Path | None = None) -> list[Deployment]:
    """Every deployment of ``prefect.yaml`` (this checkout's unless ``path``), in file order."""
    path = path or REPO / "prefect.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DeploymentsError(f"{path} が読めません: {exc}", f"cannot read {path}: {exc}") from exc
    out = []
    for entry in data.get("deployments") or []:
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("entrypoint"):
            continue
        schedules = [_schedule(s) for s in entry.get("schedules") or [] if isinstance(s, dict)]
        events = [
            str(name)
            for trig in entry.get("triggers") or []
            if isinstance(trig, dict) and trig.get("enabled", True)
            for name in trig.get("expect") or []
        ]
        out.append(
            Deployment(
                name=str(entry["name"]),
                entrypoint=str(entry["entrypoint"]),
                parameters=dict(entry.get("parameters") or {}),
                schedules=tuple(s for s in schedules if s is not None),
                events=tuple(events),
            )
        )
    return out
