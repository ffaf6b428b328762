"""Progress of long loops: a bar on a terminal, a plain line every few seconds in a log, nothing else.

Why: generating samples, calibrating on hundreds of pages, trying a template on a folder of scans or
keying a backlog took minutes without a sign of life, so people stopped them thinking they hung, and
a log could not say how far a night's run got. So every such loop reports here, and whoever runs it
(a ``dejiru`` command, a bench) decides once whether and how it is shown:

* the loop: ``for page in progress.track(pages, "読み取り / reading")`` (or :func:`task` where there is
  no one iterable) — it costs nothing when nobody shows progress, so library code (``synth``,
  ``pipeline``, ``authoring``, ``flows``) reports unconditionally, and a server or a Prefect worker
  that runs the same loop prints nothing;
* the command: ``with progress.shown(quiet):`` around its work.

Where it goes: standard error, so standard output stays what a pipe or ``--json`` reads. On a terminal
a bar (rich: label, bar, count, rate, time left), redrawn in place; anywhere else (a pipe, a log file,
CI) plain lines, never a carriage return or an escape code: one when a task starts, one at most every
:data:`LINE_SECONDS` while it runs, one when it ends. ``DEJIRU_PROGRESS`` (``auto``, ``lines``, ``off``)
overrides the choice, ``NO_COLOR`` takes the colour out of the bar (rich reads it), ``TERM=dumb`` gets
lines. Count, rate and time left are worked out here once and written the same way in both forms.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, Protocol, TextIO, TypeVar

T = TypeVar("T")
Mode = Literal["bar", "lines", "off"]

#: Seconds between two plain lines of one task: often enough to see a run alive in a log, rarely enough
#: that a thousand-page run leaves a readable log.
LINE_SECONDS = 5.0


def clock_text(seconds: float) -> str:
    """``H:MM:SS``, as people read a duration on a console."""
    s = max(0, round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def rate_text(per_second: float) -> str:
    """Items per second, or per minute when fewer than one a second (``0.5/s`` reads worse than
    ``30/min`` for pages that take two seconds each)."""
    if per_second >= 1:
        return f"{per_second:.1f}/s"
    return f"{per_second * 60:.1f}/min"


@dataclass
class Tally:
    """One task's count and times; what both forms of display write (:meth:`stats`)."""

    label: str
    total: int | None
    now: Callable[[], float] = time.monotonic
    done: int = 0
    started: float = field(default=0.0)
    last: float = field(default=0.0)  # when ``done`` last grew

    def __post_init__(self) -> None:
        self.started = self.last = self.now()

    def advance(self, n: int = 1) -> None:
        self.done += n
        self.last = self.now()

    def per_second(self) -> float | None:
        """The average rate so far (items per second); unknown before the first item."""
        spent = self.last - self.started
        return self.done / spent if self.done and spent > 0 else None

    def left(self) -> float | None:
        """Seconds still to go at the rate so far, counting down between items; unknown without a
        total or before the first item."""
        rate = self.per_second()
        if self.total is None or rate is None:
            return None
        return max(0.0, (self.total - self.done) / rate - (self.now() - self.last))

    def stats(self, *, finished: bool = False) -> str:
        """``3/8 30.0/min 残り/left 0:00:10`` (``経過/took 0:04:00`` once finished): the count, then the
        rate and the time left once they are known."""
        parts = [f"{self.done}/{self.total}" if self.total is not None else str(self.done)]
        rate = self.per_second()
        if rate is not None:
            parts.append(rate_text(rate))
        left = self.left()
        if finished:
            parts.append(f"経過/took {clock_text(self.now() - self.started)}")
        elif left is not None:
            parts.append(f"残り/left {clock_text(left)}")
        return " ".join(parts)


class Task(Protocol):
    """What a loop holds while it works: one call per item done."""

    def advance(self, n: int = 1) -> None: ...


class _Display(Protocol):
    def task(self, label: str, total: int | None) -> AbstractContextManager[Task]: ...

    def __enter__(self) -> object: ...

    def __exit__(self, *exc: object) -> None: ...


class _Nothing:
    """The task of a loop nobody watches."""

    def advance(self, n: int = 1) -> None:
        pass


_NOTHING = _Nothing()
_shown: ContextVar[_Display | None] = ContextVar("dejiru_progress", default=None)


class _Lines:
    """Plain lines for logs and pipes: ``label: 3/8 30.0/min 残り/left 0:00:10``."""

    def __init__(
        self, stream: TextIO, every: float = LINE_SECONDS, now: Callable[[], float] = time.monotonic
    ):
        self.stream, self.every, self.now = stream, every, now

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def _write(self, tally: Tally, *, finished: bool = False) -> None:
        self.stream.write(f"{tally.label}: {tally.stats(finished=finished)}\n")
        self.stream.flush()

    @contextmanager
    def task(self, label: str, total: int | None) -> Iterator[Task]:
        tally = Tally(label, total, self.now)
        lines = self
        written = tally.started

        class Lined:
            def advance(self, n: int = 1) -> None:
                nonlocal written
                tally.advance(n)
                if tally.last - written >= lines.every and tally.done != tally.total:  # the end: below
                    lines._write(tally)
                    written = tally.last

        self._write(tally)
        try:
            yield Lined()
        finally:
            self._write(tally, finished=True)


class _Bar:
    """A rich progress bar redrawn in place on a terminal; log records and prints go above it."""

    def __init__(self, stream: TextIO):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn
        from rich.text import Text

        class Stats(ProgressColumn):
            def render(self, task: Any) -> Text:
                tally: Tally = task.fields["tally"]
                return Text(tally.stats(finished=task.finished))

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            Stats(),
            console=Console(file=stream),
        )
        self._undo: list[Callable[[], object]] = []

    def __enter__(self) -> _Bar:
        real = sys.stderr
        self.progress.start()  # from here what goes through sys.stderr (and stdout) prints above the bar
        self._log_above(real, sys.stderr)
        return self

    def __exit__(self, *exc: object) -> None:
        while self._undo:
            self._undo.pop()()
        self.progress.stop()

    def _log_above(self, real: TextIO, proxy: TextIO) -> None:
        """Log handlers made before the bar hold the real stderr (ours, Prefect's, whose rich console
        holds it too): while the bar is up they write through the proxy, so a record is printed above
        the bar instead of through it."""
        if proxy is real:  # rich redirects only on a terminal
            return
        loggers = [logging.getLogger()] + [
            lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
        ]
        for handler in {h for lg in loggers for h in lg.handlers}:
            if isinstance(handler, logging.StreamHandler) and handler.stream is real:
                handler.setStream(proxy)
                self._undo.append(partial(handler.setStream, real))
            console = getattr(handler, "console", None)
            if console is not None and getattr(console, "file", None) is real:
                console.file = proxy
                self._undo.append(partial(setattr, console, "file", real))

    @contextmanager
    def task(self, label: str, total: int | None) -> Iterator[Task]:
        tally = Tally(label, total)
        task_id = self.progress.add_task(label, total=total, tally=tally)
        progress = self.progress

        class Drawn:
            def advance(self, n: int = 1) -> None:
                tally.advance(n)
                progress.advance(task_id, n)
                progress.refresh()  # every count is drawn, not only those a 10 Hz redraw happens to catch

        try:
            yield Drawn()
        finally:
            if total is None:  # an open-ended task ends where it got to
                progress.update(task_id, total=tally.done)
            progress.stop_task(task_id)
            progress.refresh()


def mode(quiet: bool = False, stream: TextIO | None = None) -> Mode:
    """How progress is shown on ``stream`` (standard error): ``DEJIRU_PROGRESS`` if set, else a bar on
    a terminal that can redraw a line and plain lines anywhere else."""
    if quiet:
        return "off"
    from core.settings import load_settings

    wanted = load_settings().progress
    if wanted != "auto":
        return wanted
    out = stream or sys.stderr
    terminal = out.isatty() and os.environ.get("TERM", "") != "dumb"
    return "bar" if terminal else "lines"


@contextmanager
def shown(quiet: bool = False, stream: TextIO | None = None) -> Iterator[None]:
    """Show the progress of every loop run inside (this thread; a nested call keeps the outer one)."""
    if _shown.get() is not None:
        yield
        return
    out = stream or sys.stderr
    how = mode(quiet, out)
    display: _Display | None = None
    if how == "bar":
        display = _Bar(out)
    elif how == "lines":
        display = _Lines(out)
    if display is None:
        yield
        return
    token = _shown.set(display)
    try:
        with display:
            yield
    finally:
        _shown.reset(token)


def task(label: str, total: int | None = None) -> AbstractContextManager[Task]:
    """A task to advance by hand, for work that is not one iterable (batches, steps). ``label`` is
    what is done, Japanese first: ``"入力 / keying"``."""
    display = _shown.get()
    if display is None:
        return nullcontext(_NOTHING)
    return display.task(label, total)


def track(items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
    """``items``, each counted as done when the loop asks for the next; ``total`` defaults to
    ``len(items)`` where it has one."""
    if total is None and isinstance(items, Sized):
        total = len(items)
    with task(label, total) as t:
        for item in items:
            yield item
            t.advance()
