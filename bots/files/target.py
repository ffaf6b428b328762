"""``FileTarget``: keys a record by dropping an import file and reading the importer's answer.

The exchange, all under one base folder (the layout names the folders inside it):

* ``drop/<reference><suffix>``: the record, one file per record, named by our reference. It appears
  whole or not at all: written as ``.<name>.part`` (the importer skips names that start with a dot),
  flushed to disk, then renamed.
* ``results/<reference>.result.json``: the importer's answer, ``{"reference", "status": "accepted" |
  "rejected", "receipt", "messages": [...]}``.
* ``sent/<reference><suffix>`` and ``sent/<reference>.json``: ours, a copy of what was dropped and a
  sidecar with its sha256, row count and time. Written before the rename into ``drop/``, so it says
  "this reference was (or is being) dropped" whatever moment a crash picks.

Exactly once, as the screen bots do it (search-before-create): ``key`` first looks for an answer to
our reference; then for our sidecar. A record dropped and not yet answered is never dropped again:
``key`` waits for the answer (bounded; then :class:`~core.errors.Transient`, and the next attempt
looks again). A rejected answer is set aside under ``sent/rejected/`` before the record is dropped
anew, so a record a person corrected is sent again under the same reference.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bots.files.layout import SAFE_NAME, Layout, Problem, ValueDoesNotFit, encode_record, file_name, rows_in
from bots.result import KeyResult
from core.errors import BusinessRuleRejected, ConfigurationError, TargetScreenChanged, Transient
from core.files import sync_dir

ANSWER_SUFFIX = ".result.json"
#: An answer file is a few hundred bytes; a bigger one is not an answer (and is not read whole).
_MAX_ANSWER_BYTES = 1 << 20


@dataclass(frozen=True)
class Answer:
    status: Literal["accepted", "rejected"]
    receipt: str | None = None
    messages: list[str] = field(default_factory=list)


def parse_answer(raw: bytes, reference: str) -> Answer | None:
    """The importer's answer, or None for one that is not (yet) a whole, well-formed answer to this
    reference: a half-written file is read again on the next poll."""
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("reference", reference) != reference:
        return None
    status, receipt = data.get("status"), data.get("receipt")
    messages = [str(m) for m in data.get("messages") or [] if str(m).strip()]
    if status == "accepted" and isinstance(receipt, str) and receipt.strip():
        return Answer("accepted", receipt.strip(), messages)
    if status == "rejected":
        return Answer("rejected", None, messages)
    return None


class FileTarget:
    """A :class:`pipeline.keying.Keyer` for a system fed by import files (see the module doc)."""

    def __init__(
        self,
        layout: Layout,
        base: Path,
        *,
        timeout: float | None = None,
        poll: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.layout = layout
        self.base = base.resolve()
        self.timeout = layout.answer_timeout_seconds if timeout is None else timeout
        self.poll = layout.poll_seconds if poll is None else poll
        self._sleep = sleep
        self.drop_dir = self._folder(layout.folders.drop)
        self.results_dir = self._folder(layout.folders.results)
        self.sent_dir = self._folder(layout.folders.sent)

    def _folder(self, name: str) -> Path:
        """A folder of the exchange, created if missing; one that resolves outside the base folder (a
        symbolic link planted there) is refused rather than written through."""
        path = self.base / name
        path.mkdir(parents=True, exist_ok=True)
        if not path.resolve().is_relative_to(self.base):
            raise ConfigurationError(
                f"取込ファイルのフォルダ {name} が基準フォルダの外を指しています",
                f"import folder {name} points outside the base folder",
                detail=str(self.base),
            )
        return path

    # --- the Keyer protocol ---------------------------------------------------------------------------

    def key(self, form_id: str, record: dict[str, Any], reference: str) -> KeyResult:
        """Key one record exactly once: an answer or a drop already there is found, not repeated."""
        name = self._checked(form_id, reference)
        answer = self.answer(reference)
        if answer is not None and answer.status == "accepted":
            assert answer.receipt is not None
            return KeyResult(answer.receipt, existed=True)
        if answer is not None:  # rejected before: the record may have been corrected since
            self._set_aside(reference, name)
        earlier = self._sidecar(reference).is_file()
        if earlier:
            self._finish_drop(name)
        else:
            self._drop(form_id, reference, name, encode_record(self.layout, form_id, record, reference))
        return self._outcome(reference, self._wait(reference), existed=earlier)

    def restart(self) -> None:
        """Nothing to log into again: each ``key`` reads the folders afresh."""

    def __enter__(self) -> FileTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    # --- search ---------------------------------------------------------------------------------------

    def answer(self, reference: str) -> Answer | None:
        """The importer's answer to ``reference`` as it stands, if there is a readable one."""
        raw = _read_regular(self.results_dir / (reference + ANSWER_SUFFIX), _MAX_ANSWER_BYTES)
        return None if raw is None else parse_answer(raw, reference)

    def _checked(self, form_id: str, reference: str) -> str:
        """The file name for ``reference``; a form the layout lacks or a reference that is no plain
        name (``../``, a NUL, a separator) is refused before any path is made from it."""
        if form_id not in self.layout.forms:
            raise TargetScreenChanged(
                f"{self.layout.title or self.layout.system} の取込ファイル定義に様式 {form_id!r} がありません",
                f"{self.layout.system} has no import layout for form {form_id!r}",
            )
        if not SAFE_NAME.match(reference):
            raise ValueDoesNotFit(
                [Problem("reference", f"参照番号 {reference!r} はファイル名にできません", "unsafe reference")]
            )
        return file_name(self.layout, reference)

    def _sidecar(self, reference: str) -> Path:
        return self.sent_dir / f"{reference}.json"

    # --- create ---------------------------------------------------------------------------------------

    def _drop(self, form_id: str, reference: str, name: str, data: bytes) -> None:
        """Write the record into the drop folder whole or not at all, the sent copy and sidecar first."""
        part = self.drop_dir / f".{name}.part"
        with contextlib.suppress(FileNotFoundError):  # a crash before the sidecar: never visible
            part.unlink()
        _write_synced(part, data)
        sidecar = {
            "reference": reference,
            "form_id": form_id,
            "file": name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "rows": rows_in(self.layout, data),
            "bytes": len(data),
            "encoding": self.layout.encoding,
            "dropped_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        _write_atomic(self.sent_dir / name, data)
        _write_atomic(self._sidecar(reference), json.dumps(sidecar, ensure_ascii=False, indent=1).encode())
        sync_dir(self.sent_dir)
        self._finish_drop(name)

    def _finish_drop(self, name: str) -> None:
        """Complete a drop a crash interrupted between the sidecar and the rename (the same bytes,
        still invisible to the importer); otherwise the file is in the drop folder or the importer
        took it, and there is nothing to do but wait."""
        part = self.drop_dir / f".{name}.part"
        if part.is_file() and not part.is_symlink():
            os.replace(part, self.drop_dir / name)
            sync_dir(self.drop_dir)

    def _set_aside(self, reference: str, name: str) -> None:
        """Move a rejected attempt (our copy and sidecar first, then the answer) under
        ``sent/rejected/``: a crash in between leaves the answer, found again next time."""
        aside = self.sent_dir / "rejected"
        aside.mkdir(exist_ok=True)
        n = 1 + sum(1 for p in aside.glob(f"{reference}.*{ANSWER_SUFFIX}"))
        for src, dest in (
            (self.sent_dir / name, aside / f"{reference}.{n}{self.layout.file_suffix}"),
            (self._sidecar(reference), aside / f"{reference}.{n}.json"),
            (self.results_dir / (reference + ANSWER_SUFFIX), aside / f"{reference}.{n}{ANSWER_SUFFIX}"),
        ):
            with contextlib.suppress(FileNotFoundError):
                os.replace(src, dest)
        sync_dir(self.sent_dir)

    # --- the answer -----------------------------------------------------------------------------------

    def _wait(self, reference: str) -> Answer | None:
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self.answer(reference)
            if answer is not None or time.monotonic() >= deadline:
                return answer
            self._sleep(min(self.poll, max(0.0, deadline - time.monotonic())))

    def _outcome(self, reference: str, answer: Answer | None, *, existed: bool) -> KeyResult:
        if answer is None:
            raise Transient(
                f"取込処理の結果が {self.timeout:g} 秒待っても届きません。取込処理が動いているか確かめてください"
                "（ファイルは置いたままで、次の試行で結果を確かめます）",
                f"no answer from the importer within {self.timeout:g} s; is it running? (the file stays"
                " dropped; the next attempt looks for the answer)",
                detail=f"{self.layout.system} {reference}",
            )
        if answer.status == "rejected":
            said = " / ".join(answer.messages) or "（理由の記載なし）"
            raise BusinessRuleRejected(
                f"対象システムが取込を受け付けませんでした: {said}",
                f"the target system's importer rejected the record: {said}",
                detail=f"{self.layout.system} {reference}",
            )
        assert answer.receipt is not None
        return KeyResult(answer.receipt, existed=existed)


# --- the edges: files on disk -------------------------------------------------------------------------


def _read_regular(path: Path, limit: int) -> bytes | None:
    """A regular file's bytes (at most ``limit``), or None: missing, a link, a FIFO or a device is
    not an answer, and a link planted in the results folder is never followed."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(limit + 1)[:limit]
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes) -> None:
    """A new file with ``data``, flushed to disk before it is renamed into sight."""
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        _write_synced(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
