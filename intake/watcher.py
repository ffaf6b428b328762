"""Watching the inbox: hand over each file once it is complete, and never die.

A file is handed over when its size and modification time have not changed for ``settle`` seconds
and its name is not a temporary one (scanners and copy tools write ``*.tmp`` then rename). watchdog's
events only wake the scan early; a periodic scan is always done too, because events are not
delivered for network shares (SMB scanners) — ``mode="poll"`` relies on scanning alone.

The scan never follows a symbolic link (into a folder or to a file) and never opens anything: entries
are listed with ``lstat`` only. A link, FIFO, socket or device node is not an ordinary candidate; it is
handed once to ``on_stray`` (by default ``on_file``: intake describes it in quarantine and takes it out
of the inbox without following it), and again only if it is still there ``resubmit_after`` later.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intake.files import REASON_SUFFIX, is_partial_name

log = logging.getLogger(__name__)


@dataclass
class _Seen:
    size: int
    mtime: float
    since: float
    failures: int = 0
    retry_at: float = 0.0
    #: A link, FIFO, socket or device: handed to ``on_stray``, never treated as a file.
    stray: bool = False


class InboxWatcher:
    def __init__(
        self,
        inbox: Path,
        on_file: Callable[[Path], None],
        *,
        mode: str = "events",
        settle: float = 2.0,
        interval: float = 1.0,
        recursive: bool = True,
        resubmit_after: float = 600.0,
        on_stray: Callable[[Path], None] | None = None,
    ) -> None:
        self.inbox = inbox
        self.on_file = on_file
        self.on_stray = on_stray or on_file
        self.mode = mode
        #: A file still in the inbox this long after it was handed over is handed over again
        #: (the worker that had it may have died before taking it).
        self.resubmit_after = resubmit_after
        self.settle = settle
        self.interval = interval
        self.recursive = recursive
        self._seen: dict[Path, _Seen] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: Any = None

    # --- scanning --------------------------------------------------------------------------------------

    def _walk(self) -> tuple[list[Path], list[Path]]:
        """Regular files, and the strays (links, FIFOs, sockets, devices); hidden and temporary names
        and reason files left out. Folders are entered only when they are real folders."""
        files: list[Path] = []
        strays: list[Path] = []
        folders = [self.inbox]
        while folders:
            folder = folders.pop()
            try:
                with os.scandir(folder) as it:
                    entries = list(it)
            except OSError:
                continue
            for e in entries:
                if e.name.startswith(".") or e.name.endswith(REASON_SUFFIX):
                    continue
                p = Path(e.path)
                try:
                    mode = e.stat(follow_symlinks=False).st_mode
                except OSError:
                    continue
                if stat.S_ISDIR(mode):
                    if self.recursive:
                        folders.append(p)
                elif is_partial_name(p):
                    continue
                elif stat.S_ISREG(mode):
                    files.append(p)
                else:
                    strays.append(p)
        return sorted(files), sorted(strays)

    def candidates(self) -> list[Path]:
        """Complete-looking regular files (never a link, FIFO or other special file)."""
        return self._walk()[0]

    def strays(self) -> list[Path]:
        """Links, FIFOs, sockets and devices in the inbox (listed, never followed or opened)."""
        return self._walk()[1]

    def scan_once(self, now: float | None = None) -> list[Path]:
        """Entries that became ready in this scan (already handed to ``on_file`` or ``on_stray``)."""
        now = time.monotonic() if now is None else now
        ready = []
        present = set()
        files, strays = self._walk()
        for p, stray in [(f, False) for f in files] + [(s, True) for s in strays]:
            present.add(p)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            seen = self._seen.get(p)
            if seen is None or seen.size != st.st_size or seen.mtime != st.st_mtime or seen.stray != stray:
                failures = seen.failures if seen and seen.stray == stray else 0
                self._seen[p] = _Seen(st.st_size, st.st_mtime, now, failures, stray=stray)
                continue
            if now - seen.since < self.settle or now < seen.retry_at:
                continue
            ready.append(p)
        for gone in set(self._seen) - present:
            del self._seen[gone]
        for p in ready:
            self._hand_over(p, now)
        return ready

    def _hand_over(self, p: Path, now: float) -> None:
        seen = self._seen[p]
        handler = self.on_stray if seen.stray else self.on_file
        try:
            handler(p)
        except Exception:  # the watcher must survive anything a single file does
            seen.failures += 1
            seen.retry_at = now + min(300.0, 2.0**seen.failures)
            log.exception("intake of %s failed (attempt %d); will retry", p.name, seen.failures)
            return
        if seen.stray:
            log.warning("%s in the inbox is not a regular file: handed over once, not followed", p.name)
        if os.path.lexists(p):
            # Still there (queued for a worker): not again until it changes or the worker seems lost.
            seen.retry_at = now + self.resubmit_after

    # --- running ---------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.scan_once()
            except Exception:
                log.exception("inbox scan failed; continuing")
            self._wake.wait(self.interval)
            self._wake.clear()

    def start(self) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        if self.mode == "events":
            try:
                from watchdog.events import FileSystemEventHandler
                from watchdog.observers import Observer

                watcher = self

                class _Wake(FileSystemEventHandler):
                    def on_any_event(self, event) -> None:
                        watcher._wake.set()

                observer = Observer()
                observer.schedule(_Wake(), str(self.inbox), recursive=self.recursive)
                observer.start()
                self._observer = observer
            except Exception:
                log.warning("file events unavailable; polling %s instead", self.inbox, exc_info=True)
        self._thread = threading.Thread(target=self._loop, name="inbox-watcher", daemon=True)
        self._thread.start()

    def release(self, p: Path) -> None:
        """Allow a file that is still in the inbox to be handed over again (after a worker failed)."""
        if p in self._seen:
            self._seen[p].retry_at = 0.0

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=10)
