"""The calendar day is injected: the suite gives the same result on any day it runs."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from core import clock
from tests.conftest import REPO, TODAY


def test_the_suite_runs_on_a_pinned_day() -> None:
    assert clock.today() == dt.date.fromisoformat(TODAY)


def test_pinned_day_is_read_each_time(monkeypatch) -> None:
    monkeypatch.setenv("DEJIRU_TODAY", "2031-02-03")
    assert clock.today() == dt.date(2031, 2, 3)
    monkeypatch.delenv("DEJIRU_TODAY")
    assert clock.pinned_today() is None
    assert abs((clock.today() - dt.datetime.now(dt.UTC).date()).days) <= 1  # Japan's day, not UTC's


def test_a_bad_pinned_day_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("DEJIRU_TODAY", "tomorrow")
    with pytest.raises(clock.ClockSettingError, match="DEJIRU_TODAY"):
        clock.today()


def test_samples_follow_the_pinned_day(monkeypatch, tpl) -> None:
    from synth.samples import make_sample

    _, truth = make_sample(tpl, 11, font="ipag", dpi=100)
    _, same = make_sample(tpl, 11, font="ipag", dpi=100, today=dt.date.fromisoformat(TODAY))
    assert truth["fields"] == same["fields"]
    monkeypatch.setenv("DEJIRU_TODAY", "2027-05-05")
    _, later = make_sample(tpl, 11, font="ipag", dpi=100)
    assert later["fields"]["request_date"] != truth["fields"]["request_date"]


#: Reading the real calendar anywhere but ``core/clock.py`` makes a result depend on the day.
REAL_CLOCK = re.compile(r"\bdate\.today\(\)|\bdatetime\.now\(\)|\bdatetime\.today\(\)")


def test_only_the_clock_module_reads_the_calendar() -> None:
    offenders = []
    for path in sorted(REPO.glob("*/**/*.py")):
        rel = path.relative_to(REPO)
        if rel.parts[0] in (".venv", "records") or rel == REPO.joinpath("core/clock.py").relative_to(REPO):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if REAL_CLOCK.search(line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert not offenders, "use core.clock.today() instead:\n" + "\n".join(offenders)
