"""One PC runs prefect.yaml's deployments at the times and on the events prefect.yaml gives.

The schedules are read from the repository's own prefect.yaml (what a Prefect server would schedule);
the runs are driven with a clock the test holds, and with flows of this module that only count.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from core.errors import DeploymentsError
from dejiru.local_runs import LocalRuns
from flows.events import APPROVED, listen
from flows.schedule import Deployment, Schedule, deployments

JST = dt.timezone(dt.timedelta(hours=9))
calls: dict[str, list[dict]] = {}
ran = threading.Condition()


def probe(**params: object) -> None:
    """A flow stand-in: records its parameters and wakes the test."""
    with ran:
        calls.setdefault(str(params.get("name")), []).append(dict(params))
        ran.notify_all()


def wait_calls(name: str, n: int, timeout: float = 30) -> int:
    with ran:
        ran.wait_for(lambda: len(calls.get(name, [])) >= n, timeout)
        return len(calls.get(name, []))


def test_the_repository_prefect_yaml_says_when_each_flow_runs() -> None:
    deps = {d.name: d for d in deployments()}
    assert {"process-file", "process-document", "sweep", "key-approved", "daily-summary"} <= set(deps)
    at = dt.datetime(2026, 11, 30, 7, 59, 30, tzinfo=JST)
    assert deps["sweep"].next_after(at) == at + dt.timedelta(minutes=2)
    assert deps["key-approved"].next_after(at) == at + dt.timedelta(minutes=1)
    assert APPROVED in deps["key-approved"].events
    assert deps["key-approved"].parameters == {"target": "demo_legacy"}
    # The daily summary: 08:00 Japan time, today if not yet passed, else tomorrow; any day of the year.
    assert deps["daily-summary"].next_after(at) == dt.datetime(2026, 11, 30, 8, 0, tzinfo=JST)
    assert deps["daily-summary"].next_after(at + dt.timedelta(minutes=1)) == dt.datetime(
        2026, 12, 1, 8, 0, tzinfo=JST
    )
    assert deps["daily-summary"].next_after(dt.datetime(2026, 12, 31, 22, 0, tzinfo=dt.UTC)) == dt.datetime(
        2027, 1, 1, 8, 0, tzinfo=JST
    )
    # Started by their caller, never by a clock: the watcher's file, the sweep.
    assert deps["process-file"].next_after(at) is None and not deps["process-document"].events
    from flows.keying import key_approved
    from flows.summary import daily_summary

    assert deps["key-approved"].flow() is key_approved and deps["daily-summary"].flow() is daily_summary


def test_a_deployment_whose_flow_is_gone_stops_the_start_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "prefect.yaml").write_text(
        "deployments:\n  - name: old-report\n    entrypoint: flows/gone.py:report\n"
        "    schedules:\n      - interval: 60\n",
        encoding="utf-8",
    )
    runs = LocalRuns(deployments(tmp_path / "prefect.yaml"))
    with pytest.raises(DeploymentsError, match="old-report"):
        runs.start()
    (tmp_path / "prefect.yaml").write_text("deployments: [", encoding="utf-8")
    with pytest.raises(DeploymentsError):
        deployments(tmp_path / "prefect.yaml")


def test_runs_come_at_start_on_their_event_and_on_their_schedule() -> None:
    calls.clear()
    entry = f"{Path(__file__).relative_to(Path(__file__).parents[1]).as_posix()}:probe"
    now = [dt.datetime(2026, 11, 30, 9, 0, tzinfo=JST)]
    keying = Deployment(
        "keying",
        entry,
        {"name": "keying"},
        (Schedule(interval=dt.timedelta(hours=1)),),
        (APPROVED,),
    )
    daily = Deployment(
        "daily", entry, {"name": "daily"}, (Schedule(cron="0 8 * * *", timezone="Asia/Tokyo"),)
    )
    manual = Deployment("manual", entry, {"name": "manual"})  # no schedule, no trigger: not run here
    runs = LocalRuns([keying, daily, manual], at_start=lambda d: d.name == "keying", now=lambda: now[0])
    assert [d.name for d in runs.deployments] == ["keying", "daily"]
    unlisten = listen(runs.fire)
    runs.start()
    try:
        assert wait_calls("keying", 1) == 1  # at start: work left by the last stop
        from flows.events import announce_approved

        announce_approved(1, "demo_legacy")  # a reviewer's approval, as the review UI says it
        assert wait_calls("keying", 2) == 2
        runs.fire("dejiru.something.else")
        assert calls.get("daily") is None and len(calls["keying"]) == 2  # no other event starts it
    finally:
        unlisten()
        runs.stop()
    assert all(not t.is_alive() for t in runs.threads)
    assert calls["keying"][0] == {"name": "keying"}


def test_an_interval_deployment_runs_again_when_its_time_comes() -> None:
    calls.clear()
    entry = f"{Path(__file__).relative_to(Path(__file__).parents[1]).as_posix()}:probe"
    sweep = Deployment("sweep", entry, {"name": "sweep"}, (Schedule(interval=dt.timedelta(seconds=0.05)),))
    runs = LocalRuns([sweep])
    runs.start()
    try:
        assert wait_calls("sweep", 3) >= 3
    finally:
        runs.stop()
