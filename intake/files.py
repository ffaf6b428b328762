"""Taking a file from the inbox: only when complete, exactly once, and never altering the original.

The order of steps makes a crash at any point harmless:
1. hash the file where it lies;
2. copy it into the archive under a name derived from its hash (write to a temp name, fsync, rename,
   verify the hash) — a repeat writes the same bytes to the same name;
3. record the document (unique on the hash — a repeat finds the first row);
4. only then remove it from the inbox.
Bad files go to ``quarantine/`` with a reason file beside them instead of to the archive.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from dejiru import clock
from dejiru.errors import DejiruError, UnreadableFile
from dejiru.files import sha256_file

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


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def copy_verified(src: Path, dest: Path, sha256: str) -> None:
    """Copy ``src`` to ``dest`` atomically and check the copy's hash; raises OSError on a full disk."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and sha256_file(dest) == sha256:
        return
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        with src.open("rb") as fin, tmp.open("wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
            fout.flush()
            os.fsync(fout.fileno())
        if sha256_file(tmp) != sha256:
            raise OSError(f"copy of {src.name} does not match its hash")
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def archive_path(archive: Path, sha256: str, name: str, when: dt.date | None = None) -> Path:
    d = when or clock.today()
    return archive / f"{d:%Y}" / f"{d:%m}" / f"{sha256[:16]}_{safe_name(name)}"


@dataclass(frozen=True)
class Quarantined:
    path: Path
    reason_path: Path


def reason_text(err: DejiruError, original_name: str) -> str:
    return (
        f"ファイル: {original_name}\n"
        f"理由: {err.ja}\n"
        f"詳細: {err.detail or '-'}\n"
        f"日時: {clock.local_now():%Y-%m-%d %H:%M:%S}\n"
        f"対応: 内容を確認し、直したファイルを受付フォルダに入れ直してください。このファイルは削除されていません。\n"
        f"\n"
        f"File: {original_name}\n"
        f"Reason: {err.en}\n"
        f"Code: {err.code}\n"
        f"What to do: check the file and drop a corrected one into the inbox again. Nothing was deleted.\n"
    )


def quarantine_file(
    src: Path, quarantine: Path, err: DejiruError, *, move: bool, original_name: str | None = None
) -> Quarantined:
    """Put a file into ``quarantine/<code>/`` with a reason file a clerk can read.

    ``move`` takes the inbox file there (it was never archived); otherwise a copy is placed there and
    the archived original stays where it is.
    """
    name = original_name or src.name
    folder = quarantine / err.code
    folder.mkdir(parents=True, exist_ok=True)
    stamp = clock.stamp()
    dest = folder / f"{stamp}_{safe_name(name)}"
    n = 1
    while dest.exists():
        dest = folder / f"{stamp}-{n}_{safe_name(name)}"
        n += 1
    if move:
        try:
            os.replace(src, dest)
        except OSError:
            shutil.copy2(src, dest)
            src.unlink()
    else:
        shutil.copy2(src, dest)
    reason = dest.with_name(dest.name + REASON_SUFFIX)
    reason.write_text(reason_text(err, name), encoding="utf-8")
    return Quarantined(dest, reason)


def check_readable(path: Path) -> None:
    """Raise UnreadableFile if we may not read it (permissions) — before anything else is tried."""
    if not os.access(path, os.R_OK):
        raise UnreadableFile(
            "ファイルを読む権限がありません（スキャナーの共有設定を確認してください）",
            "no permission to read the file (check the scanner's share settings)",
            detail=path.name,
        )
