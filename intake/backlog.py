"""How much waits in the inbox, and since when: files a scanner dropped that nobody has taken yet.

A healthy inbox is nearly empty: the watcher hands each file over seconds after it settles and intake
removes it once archived. Files piling up, or one lying there for long, mean nobody takes them (the
watcher or the workers are down). ``dejiru status`` and ``/metrics`` ask this often, of a folder that
anyone with the scanner share can fill, so the walk is bounded (it stops counting at ``limit``
entries and says so), lists with ``lstat`` only and follows no link, and counts what the watcher would
hand over: regular files, not hidden, temporary or reason files (``intake.watcher``'s rules).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from intake.files import REASON_SUFFIX, is_partial_name

#: Entries looked at, at most, per call: counting a flooded share must stay quick.
LIMIT = 10_000


@dataclass(frozen=True)
class Backlog:
    #: Whether the inbox folder exists and could be listed.
    present: bool
    #: Regular files waiting to be taken.
    files: int = 0
    #: Links, FIFOs, sockets or devices (the watcher quarantines them).
    strays: int = 0
    #: Modification time of the oldest waiting file (when the scanner finished writing it).
    oldest: dt.datetime | None = None
    #: The walk stopped at the limit: there are at least this many.
    truncated: bool = False


def backlog(inbox: Path, limit: int = LIMIT) -> Backlog:
    """Count the files waiting in ``inbox`` and its real subfolders, up to ``limit`` entries."""
    files = strays = seen = 0
    oldest: float | None = None
    folders = [inbox]
    try:
        if not stat.S_ISDIR(os.lstat(inbox).st_mode):
            return Backlog(present=False)
    except OSError:
        return Backlog(present=False)
    while folders:
        folder = folders.pop()
        try:
            it = os.scandir(folder)
        except OSError:
            continue
        with it:
            for e in it:
                seen += 1
                if seen > limit:
                    return Backlog(True, files, strays, _utc(oldest), truncated=True)
                if e.name.startswith(".") or e.name.endswith(REASON_SUFFIX):
                    continue
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    folders.append(Path(e.path))
                elif is_partial_name(Path(e.name)):
                    continue
                elif stat.S_ISREG(st.st_mode):
                    files += 1
                    oldest = st.st_mtime if oldest is None else min(oldest, st.st_mtime)
                else:
                    strays += 1
    return Backlog(True, files, strays, _utc(oldest))


def _utc(stamp: float | None) -> dt.datetime | None:
    return None if stamp is None else dt.datetime.fromtimestamp(stamp, dt.UTC)
