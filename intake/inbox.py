"""Which inbox entry a path names, decided without following anything: intake's confinement.

Intake is handed a path by the watcher, by ``dejiru run``, or by whoever starts the ``process-file``
flow through Prefect's API, so the path cannot be trusted. Before anything is moved, copied, hashed or
deleted, :func:`check_in_inbox` proves that the path names an entry inside the configured inbox: its
folder resolves (strictly) to the inbox or a folder below it, and the path reaches it the plain way,
not through a symbolic link or a ``..`` that leaves. Anything else is :class:`OutsideInbox`, raised
before the entry is touched.

:func:`open_entry` then holds the entry through file descriptors: the folders from the inbox down are
opened one by one with ``O_NOFOLLOW`` and everything after that (``lstat``, open, link, unlink) is done
relative to the entry's folder descriptor, so a folder swapped for a link after the check changes
nothing. The entry itself is only ever ``lstat``-ed; a symbolic link is never followed and a FIFO is
never opened (a read would block the worker for ever).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Literal

from core.errors import OutsideInbox

EntryKind = Literal["file", "symlink", "fifo", "socket", "device", "directory", "missing"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: O_NONBLOCK: should a FIFO be swapped in after the lstat, opening it still returns at once (and the
#: fstat check below refuses it) instead of waiting for a writer.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)


class EntryChanged(OSError):
    """The inbox entry is no longer the one that was checked (replaced, moved, turned into a link).

    An OSError, so callers treat it like a file that vanished: nothing is done now, the watcher hands
    over whatever is there on a later scan.
    """


def _outside(path: Path, why_ja: str, why_en: str) -> OutsideInbox:
    return OutsideInbox(
        f"受付フォルダの中のファイルではないため、受け付けません（{why_ja}）。ファイルには何もしていません",
        f"refused: not a file inside the inbox ({why_en}). The file was not touched",
        detail=str(path),
    )


def kind_of(st: os.stat_result) -> EntryKind:
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def check_in_inbox(path: Path, inbox: Path) -> tuple[Path, PurePath]:
    """The inbox's real folder and the entry's path below it; :class:`OutsideInbox` if the path is not
    plainly inside the inbox. Reads no file and follows no link of the entry itself (its folders are
    resolved, which is what proves where they are).

    A path whose folder no longer exists but that lies lexically inside the inbox is returned as is
    (the caller finds it missing): a second watcher submitting a file that is already taken is normal.
    """
    root = inbox.resolve(strict=True)
    given = path if path.is_absolute() else Path.cwd() / path
    if given.name in ("", ".", ".."):
        raise _outside(path, "ファイル名がありません", "it names no file")
    lexical = Path(os.path.normpath(given))
    bases = (Path(os.path.normpath(inbox.absolute())), root)
    rel = next((lexical.relative_to(b) for b in bases if lexical.is_relative_to(b)), None)
    if rel is None or rel == PurePath("."):
        raise _outside(path, "受付フォルダの外です", "it is outside the inbox")
    try:
        real_parent = given.parent.resolve(strict=True)
    except FileNotFoundError:
        return root, rel  # gone already; lexically inside, so the caller may say so
    except (OSError, RuntimeError) as exc:  # a link loop, a folder we may not enter
        raise _outside(path, "フォルダをたどれません", f"its folder cannot be resolved: {exc}") from exc
    if not real_parent.is_relative_to(root):
        raise _outside(path, "リンクや .. の先が受付フォルダの外です", "it leads outside the inbox")
    if real_parent.relative_to(root) / given.name != rel:
        # The folders resolve inside the inbox, but not to the folders the path names: a symbolic
        # link (or a '..' through one) is on the way. The watcher never produces such a path.
        raise _outside(path, "シンボリックリンクを経由しています", "it goes through a symbolic link")
    return root, rel


@dataclass
class InboxEntry:
    """One checked inbox entry, held by its folder's descriptor. Use as a context manager."""

    root: Path
    rel: PurePath
    kind: EntryKind
    st: os.stat_result | None
    dir_fd: int
    _closed: bool = field(default=False, repr=False)

    @property
    def name(self) -> str:
        return self.rel.name

    @property
    def path(self) -> Path:
        """The entry's real path (the inbox's real folder, then plain folders): for messages and logs."""
        return self.root / self.rel

    def _same(self, st: os.stat_result) -> bool:
        assert self.st is not None
        return (st.st_dev, st.st_ino, st.st_mode) == (self.st.st_dev, self.st.st_ino, self.st.st_mode)

    def lstat(self) -> os.stat_result | None:
        try:
            return os.lstat(self.name, dir_fd=self.dir_fd)
        except FileNotFoundError:
            return None

    def unchanged(self) -> bool:
        """Still the very entry that was checked (same device, inode and type)."""
        now = self.lstat()
        return now is not None and self.st is not None and self._same(now)

    def open_regular(self) -> int:
        """A read-only descriptor of the checked regular file, never of anything a link points at.

        Raises PermissionError (we may not read it) or :class:`EntryChanged`.
        """
        try:
            fd = os.open(self.name, _FILE_FLAGS, dir_fd=self.dir_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOENT, errno.ENXIO):
                raise EntryChanged(exc.errno, f"{self.name} changed while being taken in") from exc
            raise
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or self.st is None or not self._same(st):
            os.close(fd)
            raise EntryChanged(errno.ESTALE, f"{self.name} changed while being taken in")
        return fd

    def readlink(self) -> str:
        """Where a symbolic link points, as text (the target is not looked at)."""
        return os.readlink(self.name, dir_fd=self.dir_fd)

    def link_to(self, dest: Path) -> None:
        """Hard-link the entry itself (never a link's target) to ``dest``; FileExistsError if taken.

        Checks afterwards that ``dest`` is the checked entry, so a swap between check and link cannot
        place anything else there.
        """
        os.link(self.name, dest, src_dir_fd=self.dir_fd, follow_symlinks=False)
        placed = os.lstat(dest)
        if self.st is None or not self._same(placed):
            os.unlink(dest)
            raise EntryChanged(errno.ESTALE, f"{self.name} changed while being moved")

    def remove(self) -> bool:
        """Take the entry out of the inbox if it is still the checked one (a file dropped in its place
        meanwhile is left for the next scan). True if it was removed or is gone already."""
        now = self.lstat()
        if now is None:
            return True
        if self.st is None or not self._same(now):
            return False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.name, dir_fd=self.dir_fd)
        return True

    def identity(self) -> dict[str, str | int]:
        """What tells this file from a later one of the same name and content: inode, change time, size
        (not the device number, which differs between PCs mounting the same share)."""
        assert self.st is not None
        return {
            "path": self.rel.as_posix(),
            "ino": self.st.st_ino,
            "ctime_ns": self.st.st_ctime_ns,
            "size": self.st.st_size,
        }

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self.dir_fd)

    def __enter__(self) -> InboxEntry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_entry(path: Path, inbox: Path) -> InboxEntry:
    """Check ``path`` (:func:`check_in_inbox`) and hold its entry; ``kind`` says what it is."""
    root, rel = check_in_inbox(path, inbox)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in rel.parent.parts:
            try:
                sub = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                entry = InboxEntry(root, rel, "missing", None, fd)
                fd = -1
                return entry
            except OSError as exc:  # ELOOP / ENOTDIR: a folder was swapped for a link after the check
                raise _outside(
                    path, "フォルダがリンクに変わりました", f"a folder became a link: {exc}"
                ) from exc
            os.close(fd)
            fd = sub
        try:
            st: os.stat_result | None = os.lstat(rel.name, dir_fd=fd)
        except FileNotFoundError:
            st = None
        entry = InboxEntry(root, rel, kind_of(st) if st else "missing", st, fd)
        fd = -1
        return entry
    finally:
        if fd >= 0:
            os.close(fd)
