"""Taking a file from the inbox: only when complete, exactly once, and never altering the original.

The order of steps (``pipeline.intake``) makes a crash at any point harmless:
1. read the inbox file once, through a descriptor that cannot be a link's target (``intake.inbox``),
   into a private staging copy, hashing it on the way;
2. check the copy, then place it in the archive under a name derived from its hash and its real type
   (temp name, fsync, rename, verify the hash) — a repeat writes the same bytes to the same name;
3. record the document (unique on the hash — a repeat finds the first row);
4. only then remove the inbox entry, and only if it is still the one that was read.

Bad files go to ``quarantine/<code>/`` instead, under a neutral name (``<stamp>_<id>.<ext>``, the
extension from the file's real type), with a ``.reason.txt`` beside them that names the file as the
clerk dropped it. Nothing in quarantine is ever replaced: names are taken with ``link(2)`` or
``O_EXCL``, which fail instead of overwriting, and a taken name means trying another.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import re
import secrets
import stat
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core import clock
from core.errors import DejiruError, UnreadableFile
from core.files import sha256_file, sync_dir
from intake.inbox import InboxEntry

#: Names scanners, browsers and copy tools use while a file is still being written.
PARTIAL_PATTERNS = re.compile(
    r"(^\.|^~\$|\.(tmp|part|partial|crdownload|download|filepart|swp)$)", re.IGNORECASE
)
ACCEPTED_SUFFIXES = {".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png"}
REASON_SUFFIX = ".reason.txt"


def is_partial_name(path: Path) -> bool:
    return bool(PARTIAL_PATTERNS.search(path.name))


def safe_name(name: str, limit: int = 120) -> str:
    """A file name that cannot escape a folder: no separators, no '..', no control characters.

    Japanese, spaces and other printable characters stay so a clerk recognises the file.
    """
    name = unicodedata.normalize("NFC", name)
    name = name.replace("/", "_").replace("\\", "_").replace("\x00", "")
    name = "".join(ch for ch in name if ch.isprintable() or ch == "\u3000")
    name = re.sub(r"\.{2,}", ".", name).strip(" .")
    if not name:
        name = "file"
    if len(name) > limit:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: limit - len(ext) - 1] + dot + ext) if dot and len(ext) <= 8 else name[:limit]
    return name


def display_name(name: str, limit: int = 300) -> str:
    """A name as a clerk may read it in a reason file: control characters (a newline could forge a
    line of the reason) shown as '?', cut to a sane length. Only ever written into text files."""
    shown = "".join(ch if ch.isprintable() or ch == "\u3000" else "?" for ch in name)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


#: The only extensions a stored file gets, from its sniffed real type (``ocr.pages.sniff``): a name
#: chosen by whoever dropped the file (``.html``, ``.svg``) never reaches a folder reviewers download from.
KIND_EXTENSIONS = {
    "pdf": ".pdf",
    "png": ".png",
    "jpeg": ".jpg",
    "tiff": ".tif",
    "csv": ".csv",
    "json": ".json",
}
UNKNOWN_EXTENSION = ".bin"
#: Tries for a free quarantine name before giving up (names are random: a clash means a retry).
_MAX_TRIES = 10_000
#: errno values that mean "this filesystem will not hard-link here": copy instead.
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_HEAD = 2048


#: Characters that mean something in HTML or on a Windows (SMB) share: not in an archive name.
_MARKUP_CHARS = re.compile(r"[<>\"'&:|?*`]")


def extension_for(kind: str | None) -> str:
    return KIND_EXTENSIONS.get(kind or "", UNKNOWN_EXTENSION)


def new_id() -> str:
    """A short random id for a stored file's name (8 hex digits)."""
    return secrets.token_hex(4)


def clip_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8 on a character boundary: file names are limited
    in bytes (255 on Linux), and a Japanese character takes three."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def temp_name(base: str = "") -> str:
    """A hidden temporary name no other process or thread will pick (watchers skip hidden names)."""
    return f".{clip_bytes(base, 120)}.{os.getpid()}-{threading.get_ident()}-{secrets.token_hex(8)}.tmp"


def open_nofollow(path: Path) -> int:
    """Open a regular file for reading, never through a symbolic link and never blocking on a FIFO."""
    fd = os.open(path, _READ_FLAGS)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return fd


def read_head(path: Path, size: int = _HEAD) -> bytes:
    """The first bytes of one of our own files (archive, staging), for sniffing its real type."""
    fd = open_nofollow(path)
    try:
        return os.read(fd, size)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Copied:
    path: Path
    sha256: str
    size: int
    #: The first bytes, for ``ocr.pages.sniff``.
    head: bytes


def copy_fd_to_new(fd: int, dest: Path, mode: int = 0o640) -> Copied:
    """Copy everything readable from ``fd`` into a new file ``dest`` (FileExistsError if it exists),
    hashing on the way, fsync'd. A failure (disk full) leaves no partial ``dest`` behind."""
    out = os.open(dest, _NEW_FLAGS, mode)
    h = hashlib.sha256()
    head = b""
    size = 0
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        while chunk := os.read(fd, 1 << 20):
            if len(head) < _HEAD:
                head += chunk[: _HEAD - len(head)]
            h.update(chunk)
            size += len(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(out, view) :]
        os.fsync(out)
    except BaseException:
        os.close(out)
        dest.unlink(missing_ok=True)
        raise
    os.close(out)
    return Copied(dest, h.hexdigest(), size, head)


def copy_verified(src: Path, dest: Path, sha256: str, *, link: bool = False) -> None:
    """Place ``src`` at ``dest`` atomically and check the result's hash; raises OSError on a full disk.

    ``link`` hard-links instead of copying where the filesystem allows (``src`` is a private staging
    copy that is thrown away next: no second write of a scan that may be hundreds of MB).
    """
    dest.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    if dest.exists() and not dest.is_symlink() and sha256_file(dest) == sha256:
        return
    tmp = dest.with_name(temp_name(dest.name))
    try:
        linked = False
        if link:
            try:
                os.link(src, tmp, follow_symlinks=False)
                linked = True
            except OSError as exc:
                if exc.errno not in _NO_LINK:
                    raise
        if not linked:
            fd = open_nofollow(src)
            try:
                copy_fd_to_new(fd, tmp)
            finally:
                os.close(fd)
        if sha256_file(tmp) != sha256:
            raise OSError(f"copy of {src.name} does not match its hash")
        os.replace(tmp, dest)  # same name = same bytes (the name carries the hash)
        sync_dir(dest.parent)
    finally:
        tmp.unlink(missing_ok=True)


def archive_path(archive: Path, sha256: str, name: str, kind: str, when: dt.date | None = None) -> Path:
    """Where an accepted original is kept: named by its hash, with the clerk's name for recognition
    but the extension of its real type only (``申請書.html`` holding a PNG is kept as ``…申請書.png``)
    and none of the characters markup or a Windows share gives a meaning to."""
    if kind not in KIND_EXTENSIONS:
        raise ValueError(f"not an accepted file type: {kind!r}")
    d = when or clock.today()
    stem = safe_name(name)
    base, dot, _ext = stem.rpartition(".")
    if dot and base:
        stem = base
    stem = clip_bytes(_MARKUP_CHARS.sub("_", stem.replace(".", "_")), 150)
    return archive / f"{d:%Y}" / f"{d:%m}" / f"{sha256[:16]}_{stem}{KIND_EXTENSIONS[kind]}"


@dataclass(frozen=True)
class Quarantined:
    #: The stored file (``<stamp>_<id>.<ext>``), or None when there was nothing to keep (a link).
    path: Path | None
    reason_path: Path


#: What the reason file tells the clerk to do, Japanese then English.
Advice = tuple[str, str]
MOVED_ADVICE: Advice = (
    "内容を確認し、直したファイルを受付フォルダに入れ直してください。"
    "このファイルは削除されていません（上の保存名でここに残っています）。",
    "check the file and drop a corrected one into the inbox again. Nothing was deleted: the file is"
    " kept here under the stored name above.",
)
#: A document refused when it was read (unknown form, blank page, misaligned): the original is in
#: the archive, and dropping the same file again reads it again (``pipeline.intake``).
RETRY_ADVICE: Advice = (
    "元のファイルは保管庫に残っています（ここにあるのはその写しです）。"
    "同じファイルをもう一度受付フォルダに入れると、読み取りをやり直します（様式が登録された後など）。"
    "直したスキャンを入れても構いません。このファイルは削除されていません。",
    "the original stays in the archive (this is a copy). Dropping the same file into the inbox again"
    " reads it again (e.g. once its form template has been added); a corrected scan is welcome too."
    " Nothing was deleted.",
)


def reason_text(err: DejiruError, original_name: str, stored_name: str | None, advice: Advice) -> str:
    name = display_name(original_name)
    stored = stored_name or "-"
    return (
        f"ファイル: {name}\n"
        f"保存名: {stored}\n"
        f"理由: {err.ja}\n"
        f"詳細: {display_name(err.detail or '-')}\n"
        f"日時: {clock.local_now():%Y-%m-%d %H:%M:%S}\n"
        f"対応: {advice[0]}\n"
        f"\n"
        f"File: {name}\n"
        f"Stored as: {stored}\n"
        f"Reason: {err.en}\n"
        f"Code: {err.code}\n"
        f"What to do: {advice[1]}\n"
    )


def _folder(quarantine: Path, code: str) -> Path:
    folder = quarantine / code
    folder.mkdir(mode=0o750, parents=True, exist_ok=True)
    return folder


def _take_name(folder: Path, ext: str, put: Callable[[Path], None]) -> Path:
    """``put`` the file at ``<stamp>_<id><ext>``, where ``put`` fails with FileExistsError rather than
    replace anything; a taken name (two workers, the same second) just means another id."""
    stamp = clock.stamp()
    for n in range(_MAX_TRIES):
        ident = new_id() if n == 0 else f"{new_id()}-{n}"
        dest = folder / f"{stamp}_{ident}{ext}"
        if os.path.lexists(dest.with_name(dest.name + REASON_SUFFIX)):
            continue  # a reason file left without its file: keep the pair unambiguous
        try:
            put(dest)
        except FileExistsError:
            continue
        return dest
    raise FileExistsError(errno.EEXIST, f"no free name in {folder}")


def _copy_new(fd: int, folder: Path, ext: str) -> Path:
    """Copy ``fd`` into ``folder`` under a new name without ever replacing a file: a hidden temp copy,
    then a hard link to a free name (exclusive creation where links are not possible)."""
    tmp = folder / temp_name()
    copy_fd_to_new(fd, tmp)
    try:
        try:
            return _take_name(folder, ext, lambda d: os.link(tmp, d))
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise

        def create(dest: Path) -> None:
            src = open_nofollow(tmp)
            try:
                copy_fd_to_new(src, dest)
            finally:
                os.close(src)

        return _take_name(folder, ext, create)
    finally:
        tmp.unlink(missing_ok=True)


def _publish_text(path: Path, text: str) -> None:
    """Write a small text file atomically (temp, fsync, link) and never over an existing one."""
    tmp = path.with_name(temp_name())
    fd = os.open(tmp, _NEW_FLAGS, 0o640)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
            out = os.open(path, _NEW_FLAGS, 0o640)
            with os.fdopen(out, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
        sync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _write_reason(dest: Path, err: DejiruError, name: str, advice: Advice) -> Path:
    reason = dest.with_name(dest.name + REASON_SUFFIX)
    _publish_text(reason, reason_text(err, name, dest.name, advice))
    return reason


def quarantine_file(
    src: Path,
    quarantine: Path,
    err: DejiruError,
    *,
    move: bool,
    original_name: str | None = None,
    kind: str | None = None,
    advice: Advice = MOVED_ADVICE,
) -> Quarantined:
    """Put one of our own files (a staging copy, an archived original) into ``quarantine/<code>/`` as
    ``<stamp>_<id>.<ext>`` with a reason file a clerk can read.

    The stored name is neutral: the extension comes from ``kind`` (the sniffed real type) or is
    ``.bin``; the name the file came with is only written into the reason file. No existing file is
    ever replaced, so concurrent quarantines of same-named files all survive. ``move`` takes ``src``
    away once the copy and its reason are in place; otherwise ``src`` stays (the archived original).
    """
    name = original_name or src.name
    folder = _folder(quarantine, err.code)
    ext = extension_for(kind)
    dest: Path | None = None
    if move:
        try:
            dest = _take_name(folder, ext, lambda d: os.link(src, d, follow_symlinks=False))
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
    if dest is None:
        fd = open_nofollow(src)
        try:
            dest = _copy_new(fd, folder, ext)
        finally:
            os.close(fd)
    reason = _write_reason(dest, err, name, advice)
    if move:
        src.unlink(missing_ok=True)
    return Quarantined(dest, reason)


def quarantine_entry(
    entry: InboxEntry,
    quarantine: Path,
    err: DejiruError,
    *,
    kind: str | None = None,
    advice: Advice = MOVED_ADVICE,
) -> Quarantined:
    """Move a checked regular inbox file itself into quarantine (one that could not be read, or is too
    large to copy first): hard-linked under a neutral name, or copied through a descriptor of that very
    file where the inbox is another filesystem; then taken out of the inbox if it is unchanged."""
    folder = _folder(quarantine, err.code)
    ext = extension_for(kind)
    try:
        dest = _take_name(folder, ext, entry.link_to)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        fd = entry.open_regular()  # PermissionError: stays in the inbox, tried again later
        try:
            dest = _copy_new(fd, folder, ext)
        finally:
            os.close(fd)
    reason = _write_reason(dest, err, entry.rel.as_posix(), advice)
    entry.remove()
    return Quarantined(dest, reason)


def record_refusal(quarantine: Path, err: DejiruError, original_name: str, advice: Advice) -> Quarantined:
    """A reason file with nothing beside it (``<stamp>_<id>.reason.txt``): for a symbolic link, FIFO,
    socket or device, which is described, never kept (a link kept in quarantine would serve its target
    to anyone downloading evidence; a FIFO would hang the server that opened it)."""
    folder = _folder(quarantine, err.code)
    text = reason_text(err, original_name, None, advice)
    reason = _take_name(folder, REASON_SUFFIX, lambda d: _publish_text(d, text))
    return Quarantined(None, reason)


def check_readable(path: Path) -> None:
    """Raise UnreadableFile if we may not read it (permissions) — before anything else is tried."""
    if not os.access(path, os.R_OK):
        raise UnreadableFile(
            "ファイルを読む権限がありません（スキャナーの共有設定を確認してください）",
            "no permission to read the file (check the scanner's share settings)",
            detail=path.name,
        )
