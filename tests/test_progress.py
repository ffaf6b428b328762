"""Progress of long commands (``core.progress``): a bar on a terminal, plain lines in a log, nothing else.

The two real cases run the real ``dejiru samples`` (the cheapest command with a loop, two pages) in a
subprocess: once in a pseudo-terminal (Python's ``pty``), where the bar must show the count, the rate
and the time left; once with its output piped, as CI or a log file gets it, where only whole lines may
come, without a carriage return or an escape code. Nothing asserts a rate's value or how many lines a
run of some duration writes: only their shape, so a slow machine passes as a fast one does.
"""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import progress
from tests.conftest import FORM, REPO

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COUNT_RATE_LEFT = re.compile(r"1/2 \d+(\.\d)?/(s|min) 残り/left \d+:\d\d:\d\d")
COUNT_RATE_TOOK = re.compile(r"2/2 \d+(\.\d)?/(s|min) 経過/took \d+:\d\d:\d\d")
LINE = re.compile(
    r"サンプル作成 / making samples: \d/2( \d+(\.\d)?/(s|min))?( (残り/left|経過/took) \d+:\d\d:\d\d)?"
)
SAMPLES = ["samples", "--form", FORM, "--count", "2", "--format", "png", "--profile", "clean"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "DEJIRU_PROGRESS", "TERM")}
    return env | {"COLUMNS": "140", "TERM": "xterm-256color"} | extra


def _in_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``python -m dejiru ARGS`` with a pseudo-terminal as its standard input, output and error, as
    a person at a console runs it; everything it wrote, as the terminal received it."""
    main, sub = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dejiru", *args], cwd=REPO, env=env, stdin=sub, stdout=sub, stderr=sub
    )
    os.close(sub)
    got = bytearray()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if not select.select([main], [], [], deadline - time.monotonic())[0]:
            break
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        got += chunk
    os.close(main)
    if proc.poll() is None:  # hung: fail rather than wait for ever
        proc.kill()
    return proc.wait(timeout=30), got.decode("utf-8", "replace")


def test_a_terminal_gets_a_bar_with_count_rate_and_time_left(tmp_path: Path) -> None:
    code, out = _in_a_terminal([*SAMPLES, "--out", str(tmp_path)], _env())
    assert code == 0, out[-2000:]
    assert "\r" in out and ANSI.search(out), "a bar is redrawn in place"
    shown = ANSI.sub("", out)
    assert "サンプル作成 / making samples" in shown and "━" in shown
    assert COUNT_RATE_LEFT.search(shown), shown[-1500:]  # after the first page: count, rate, time left
    assert COUNT_RATE_TOOK.search(shown), shown[-1500:]  # at the end: what it took
    assert f"{FORM}_001_0001.png" in shown  # the command's own output still comes


def test_a_pipe_gets_plain_lines_and_stdout_stays_clean(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dejiru", *SAMPLES, "--out", str(tmp_path)],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for stream in (done.stdout, done.stderr):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", stream), repr(stream[-500:])  # no \r, no ESC
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("サンプル作成")]
    assert lines[0] == "サンプル作成 / making samples: 0/2"
    assert all(LINE.fullmatch(ln) for ln in lines), lines
    assert COUNT_RATE_TOOK.search(lines[-1]), lines
    assert [ln.split()[0] for ln in done.stdout.splitlines()] == [
        str(tmp_path / f"{FORM}_001_{i:04d}.png") for i in range(2)
    ]


# --- the module itself, without a subprocess ---------------------------------------------------------


class Clock:
    """A clock the test moves: the plain lines' timing without sleeping."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_lines_come_at_start_every_few_seconds_and_at_the_end() -> None:
    clock, out = Clock(), io.StringIO()
    lines = progress._Lines(out, every=5.0, now=clock)
    with lines.task("読み取り / reading", 4) as t:
        for step in (2.0, 2.0, 2.0, 2.0):  # 2 s a page: one line in between, after the third page
            clock.t += step
            t.advance()
    assert out.getvalue().splitlines() == [
        "読み取り / reading: 0/4",
        "読み取り / reading: 3/4 30.0/min 残り/left 0:00:02",
        "読み取り / reading: 4/4 30.0/min 経過/took 0:00:08",
    ]


def test_time_left_counts_down_between_items_and_open_ended_tasks_have_none() -> None:
    clock = Clock()
    tally = progress.Tally("x", 10, clock)
    clock.t += 10
    tally.advance()
    assert tally.stats() == "1/10 6.0/min 残り/left 0:01:30"
    clock.t += 30
    assert tally.stats() == "1/10 6.0/min 残り/left 0:01:00"
    assert progress.Tally("x", None, clock).stats() == "0"
    assert progress.rate_text(12.34) == "12.3/s"


def test_nothing_is_shown_unless_a_command_asks(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(progress.track([1, 2, 3], "x")) == [1, 2, 3]
    with progress.task("x", 2) as t:
        t.advance()
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("setting", "quiet", "tty", "want"),
    [
        (None, False, True, "bar"),
        (None, False, False, "lines"),
        (None, True, True, "off"),
        ("lines", False, True, "lines"),
        ("off", False, False, "off"),
    ],
)
def test_how_progress_is_shown(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, quiet: bool, tty: bool, want: str
) -> None:
    monkeypatch.setenv("TERM", "xterm")
    if setting is None:
        monkeypatch.delenv("DEJIRU_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("DEJIRU_PROGRESS", setting)
    assert progress.mode(quiet, TTY() if tty else io.StringIO()) == want
    monkeypatch.setenv("TERM", "dumb")  # a terminal that cannot redraw a line gets lines
    assert progress.mode(quiet, TTY()) == ("lines" if want == "bar" else want)


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_color_takes_the_colour_out_of_the_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("DEJIRU_PROGRESS", raising=False)
    coloured = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-9]|9[0-7]|38)(?:;[0-9]+)*m")
    for no_color, want in ((None, True), ("1", False)):
        if no_color:
            monkeypatch.setenv("NO_COLOR", no_color)
        else:
            monkeypatch.delenv("NO_COLOR", raising=False)
        out = TTY()
        with progress.shown(stream=out):
            for _ in progress.track(range(2), "x"):
                pass
        assert bool(coloured.search(out.getvalue())) is want, repr(out.getvalue()[-300:])
