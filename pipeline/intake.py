"""Intake: from a complete file in the inbox to an archived, recorded document (or quarantine).

Every entry point (``dejiru run``, the ``process-file`` flow, whose ``path`` comes from anyone who can
reach Prefect's API, the tests) comes through :func:`intake_file`, so the confinement lives here:
a path that is not an entry inside the configured inbox is refused untouched (:class:`OutsideInbox`);
a symbolic link, FIFO, socket or device inside it is described in quarantine and taken out of the
inbox without ever being followed or opened; a regular file is read exactly once, through a
descriptor opened with ``O_NOFOLLOW`` on the checked entry, into a private staging copy, and only that
copy is inspected, archived or quarantined.

Dropping a file again is never silent: the same bytes as a document that was refused when read
(``QUARANTINED``: unknown form, blank page, misaligned) are read again, as its reason file promises;
the same bytes as any other document go to ``quarantine/duplicate/`` with a reason naming it.

Where an outcome takes several rows (the document and its intake event; an exception item and its
event; a retry's status, resolved items and event) they are one unit of work, committed before the
inbox entry is removed: a crash leaves the entry in the inbox and either all of them or none.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from core import clock, failpoints
from core.errors import DuplicateFile, InputError, NotARegularFile, TooLarge, UnreadableFile
from intake.files import (
    Copied,
    archive_path,
    check_readable,
    copy_fd_to_new,
    copy_verified,
    display_name,
    is_partial_name,
    new_id,
    quarantine_entry,
    quarantine_file,
    record_refusal,
    safe_name,
    temp_name,
)
from intake.inbox import InboxEntry, open_entry
from ocr import pages as ocr_pages
from pipeline import online
from pipeline.context import Context
from records.models import DocStatus, Document

log = logging.getLogger(__name__)
SYSTEM_USER = "dejiru"
#: Staging folders older than this were left by a crashed worker (a live intake takes seconds).
_STALE_STAGING_S = 24 * 3600
_last_sweep = 0.0


@dataclass(frozen=True)
class IntakeResult:
    #: accepted (also a resumed intake, and a quarantined document dropped again: ``detail="retry"``)
    #: | duplicate | quarantined | skipped
    outcome: str
    document_id: int | None = None
    detail: str = ""
    #: An online service's export: the applications it added that went straight through (to key now).
    approved: tuple[int, ...] = ()


def intake_file(path: Path, ctx: Context) -> IntakeResult:
    """Take one complete file from the inbox. Safe to repeat: a crash at any point loses nothing.

    Raises :class:`OutsideInbox` for a path that is not an entry inside the inbox (nothing is
    touched), and OSError (disk full, file vanished or changed) for the watcher to retry later; the
    file stays put.
    """
    with open_entry(path, ctx.settings.inbox) as entry:
        if entry.kind == "missing":
            return IntakeResult("skipped", detail="gone (taken already?)")
        if entry.kind == "directory":
            return IntakeResult("skipped", detail="a folder")
        if is_partial_name(entry.path):
            return IntakeResult("skipped", detail="partial name")
        if entry.kind != "file":
            return _refuse_not_regular(entry, ctx)
        return _take_regular(entry, ctx)


# --- links, FIFOs, sockets, devices ------------------------------------------------------------------

_NOT_REGULAR = {
    "symlink": ("シンボリックリンク", "symbolic links"),
    "fifo": ("名前付きパイプ（FIFO）", "named pipes (FIFOs)"),
    "socket": ("ソケット", "sockets"),
    "device": ("デバイスファイル", "device files"),
}


def _refuse_not_regular(entry: InboxEntry, ctx: Context) -> IntakeResult:
    """Describe the entry in a reason file and take it out of the inbox; never follow or open it."""
    what_ja, what_en = _NOT_REGULAR[entry.kind]
    detail = entry.rel.as_posix()
    if entry.kind == "symlink":
        with contextlib.suppress(OSError):
            detail = f"{detail} -> {entry.readlink()}"
    err = NotARegularFile(
        f"{what_ja}は受け付けません。実際のファイルを入れてください",
        f"{what_en} are not accepted: drop the real file",
        detail=display_name(detail),
    )
    advice = (
        f"この{what_ja}は受付フォルダから取り除きました（リンク先や中身は開いていません。リンク先のファイルはそのままです）。"
        "取り込みたいファイルそのものを受付フォルダに入れてください。",
        f"this entry ({what_en}) was taken out of the inbox without opening it or what it points at"
        " (that file is untouched). Drop the file itself into the inbox.",
    )
    q = record_refusal(ctx.settings.quarantine, err, entry.rel.as_posix(), advice)
    removed = entry.remove()
    log.warning("refused %s in the inbox (removed: %s)", entry.kind, removed)
    with ctx.unit() as ctx:
        ctx.store.audit(SYSTEM_USER, "intake.refuse", None, detail=f"{entry.kind}: {err.detail}")
        return _quarantined(ctx, entry, err, None, q.reason_path)


# --- regular files -----------------------------------------------------------------------------------


def _too_large(size: int, name: str) -> TooLarge | None:
    """Checked before staging, so a huge file is never copied just to be refused."""
    limit = ocr_pages.MAX_BYTES
    if size <= limit:
        return None
    return TooLarge(
        f"ファイルが大きすぎます（{size // 1048576} MB、上限 {limit // 1048576} MB）",
        f"file too large ({size // 1048576} MB, limit {limit // 1048576} MB)",
        detail=name,
    )


def _stage(entry: InboxEntry, staging: Path) -> Copied:
    """Read the checked file once, through its own descriptor, into a private folder of ours.

    Raises UnreadableFile when we may not read it, EntryChanged (an OSError) when it is no longer the
    checked file, OSError when our disk is full.
    """
    try:
        fd = entry.open_regular()
    except PermissionError as exc:
        raise UnreadableFile(
            "ファイルを読む権限がありません（スキャナーの共有設定を確認してください）",
            "no permission to read the file (check the scanner's share settings)",
            detail=entry.name,
        ) from exc
    try:
        _sweep_staging(staging)
        folder = staging / new_id()
        folder.mkdir(mode=0o700, parents=True)
        try:
            # 640 like the rest of the archive (the folder around it is 700): it may become the archived file.
            return copy_fd_to_new(fd, folder / safe_name(entry.name))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    finally:
        os.close(fd)


def _sweep_staging(staging: Path) -> None:
    """Remove staging folders a crashed worker left (at most once an hour per process)."""
    global _last_sweep
    now = time.time()
    if now - _last_sweep < 3600:
        return
    _last_sweep = now
    with contextlib.suppress(OSError):
        for sub in staging.iterdir():
            with contextlib.suppress(OSError):
                if now - sub.lstat().st_mtime > _STALE_STAGING_S and not sub.is_symlink():
                    shutil.rmtree(sub, ignore_errors=True)


def _quarantine_entry(entry: InboxEntry, ctx: Context, err: InputError) -> IntakeResult:
    """The inbox file itself goes to quarantine (it could not, or should not, be copied first)."""
    kind = None
    with contextlib.suppress(OSError):
        fd = entry.open_regular()
        try:
            kind = ocr_pages.sniff(os.read(fd, 2048))
        finally:
            os.close(fd)
    q = quarantine_entry(entry, ctx.settings.quarantine, err, kind=kind)
    return _quarantined(ctx, entry, err, q.path, q.reason_path)


def _quarantined(
    ctx: Context, entry: InboxEntry, err: InputError, stored: Path | None, reason: Path
) -> IntakeResult:
    evidence = {"reason": str(reason)}
    if stored is not None:
        evidence["quarantine"] = str(stored)
    ctx.store.add_exception(
        code=err.code,
        ja=err.ja,
        en=err.en,
        detail=err.detail,
        source_name=entry.name,
        evidence=evidence,
    )
    log.warning("quarantined %s as %s: %s", entry.name, stored.name if stored else "-", err.code)
    return IntakeResult("quarantined", detail=err.code)


def _take_regular(entry: InboxEntry, ctx: Context) -> IntakeResult:
    assert entry.st is not None
    try:
        check_readable(entry.path)
        big = _too_large(entry.st.st_size, entry.name)
        if big is not None:
            raise big
        staged = _stage(entry, ctx.settings.staging)
    except InputError as err:
        return _quarantine_entry(entry, ctx, err)
    try:
        return _take_staged(entry, staged, ctx)
    finally:
        shutil.rmtree(staged.path.parent, ignore_errors=True)


def _take_staged(entry: InboxEntry, staged: Copied, ctx: Context) -> IntakeResult:
    cfg, store = ctx.settings, ctx.store
    kind = ocr_pages.sniff(staged.head)
    if kind is None and online.is_export(entry.name):
        return _take_export(entry, staged, ctx)
    try:
        n_pages = ocr_pages.check_file(staged.path)  # the real type, encryption, size and page limits
    except InputError as err:
        if err.detail and staged.path.name != entry.name:
            err.detail = err.detail.replace(staged.path.name, entry.name, 1)
        q = quarantine_file(
            staged.path, cfg.quarantine, err, move=True, original_name=entry.rel.as_posix(), kind=kind
        )
        entry.remove()
        assert q.path is not None
        return _quarantined(ctx, entry, err, q.path, q.reason_path)
    assert kind is not None  # check_file accepted it
    digest = staged.sha256
    existing = store.document_by_sha(digest)
    if existing is not None:
        return _known(entry, staged, existing, ctx, n_pages)
    dest = archive_path(cfg.archive, digest, entry.name, kind)
    copy_verified(staged.path, dest, digest, link=True)
    _write_ledger(ctx, digest, entry)
    with store.unit() as uow:
        doc, created = uow.add_document(digest, entry.name, str(dest), dest.stat().st_size)
        if created:
            failpoints.hit("intake.document_added")
            uow.audit(SYSTEM_USER, "intake.accept", doc.id, detail=entry.name)
    failpoints.hit("intake.after_record")
    if not created:
        # Another worker recorded the same content a moment before us.
        if Path(doc.archive_path) != dest:
            dest.unlink(missing_ok=True)  # our copy under another name: nothing refers to it
        return _known(entry, staged, doc, ctx, n_pages)
    entry.remove()
    log.info("accepted document %s (%s)", doc.id, dest.name)
    return IntakeResult("accepted", doc.id)


def _take_export(entry: InboxEntry, staged: Copied, ctx: Context) -> IntakeResult:
    """An online application service's export (CSV or JSON): its applications become documents
    (``pipeline.online``); a file that cannot be read at all goes to quarantine whole."""
    kind = "json" if entry.name.lower().endswith(".json") else "csv"
    try:
        out = online.take_export(ctx, staged.path.read_bytes(), entry.name)
    except InputError as err:
        q = quarantine_file(
            staged.path,
            ctx.settings.quarantine,
            err,
            move=True,
            original_name=entry.rel.as_posix(),
            kind=kind,
        )
        entry.remove()
        assert q.path is not None
        return _quarantined(ctx, entry, err, q.path, q.reason_path)
    entry.remove()
    straight = ctx.store.documents(
        statuses=[DocStatus.APPROVED], ids=out.accepted, limit=len(out.accepted) or 1
    )
    approved = tuple(d.id for d in straight if d.id is not None)
    detail = f"online {out.form_id}: {len(out.accepted)} new, {len(out.already)} before, {len(out.refused)} refused"
    if out.accepted:
        return IntakeResult("accepted", out.accepted[0], detail=detail, approved=approved)
    return IntakeResult("quarantined" if out.refused else "duplicate", None, detail=detail)


# --- files whose content is known already ------------------------------------------------------------


def _ledger_path(ctx: Context, digest: str) -> Path:
    return ctx.settings.intake_ledger / digest[:2] / f"{digest}.json"


def _write_ledger(ctx: Context, digest: str, entry: InboxEntry) -> None:
    """Note which inbox file (inode, change time, size) these bytes came from, before the document is
    recorded: finding it again after a crash, or a second worker on the same file, is then told from
    a clerk dropping the file again (a new file: new change time)."""
    path = _ledger_path(ctx, digest)
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    tmp = path.with_name(temp_name(path.name))
    try:
        tmp.write_text(json.dumps(entry.identity()), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _same_file_as_recorded(ctx: Context, digest: str, entry: InboxEntry) -> bool:
    try:
        recorded = json.loads(_ledger_path(ctx, digest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(recorded == entry.identity())


def _known(entry: InboxEntry, staged: Copied, doc: Document, ctx: Context, n_pages: int) -> IntakeResult:
    """The same bytes as a recorded document: finish our own intake, retry a refused read, or keep the
    copy aside as a duplicate with a reason. The inbox entry is removed only after that is recorded."""
    assert doc.id is not None
    store = ctx.store
    if not Path(doc.archive_path).exists():
        copy_verified(staged.path, Path(doc.archive_path), staged.sha256, link=True)
    if _same_file_as_recorded(ctx, staged.sha256, entry):
        # Our own earlier attempt recorded it and then crashed, or another worker took this very file.
        entry.remove()
        return IntakeResult("accepted", doc.id, detail="resumed")
    retried = _retry_quarantined(ctx, doc, n_pages, entry.name)
    if retried:
        _write_ledger(ctx, staged.sha256, entry)
        entry.remove()
        log.info("document %s dropped again: reading again %s", doc.id, retried)
        return IntakeResult("accepted", doc.id, detail="retry")
    when = _jst(doc)
    err = DuplicateFile(
        f"同じ内容のファイルは受付済みです（文書番号 #{doc.id}、{when} 受付）。二重には登録しません",
        f"the same file was already received (document #{doc.id}, received {when}); not registered twice",
        detail=f"#{doc.id}",
    )
    advice = (
        f"このファイルは文書番号 #{doc.id}（{when} 受付、元の名前: {display_name(doc.original_name)}）と同じ内容です。"
        "このファイルは削除されていません（上の保存名でここに残っています）。不要であれば削除してください。",
        f"this file has the same content as document #{doc.id} (received {when} as"
        f" {display_name(doc.original_name)}). Nothing was deleted: it is kept here under the stored"
        " name above; delete it if it is not needed.",
    )
    q = quarantine_file(
        staged.path,
        ctx.settings.quarantine,
        err,
        move=True,
        original_name=entry.rel.as_posix(),
        kind=ocr_pages.sniff(staged.head),
        advice=advice,
    )
    assert q.path is not None
    with store.unit() as uow:
        uow.add_exception(
            code=err.code,
            ja=err.ja,
            en=err.en,
            detail=err.detail,
            document_id=doc.id,
            source_name=entry.name,
            evidence={"quarantine": str(q.path), "reason": str(q.reason_path)},
        )
        uow.audit(SYSTEM_USER, "intake.duplicate", doc.id, detail=f"{entry.name} -> {q.path.name}")
    entry.remove()
    log.warning("%s is document %s again: kept as %s", entry.name, doc.id, q.path.name)
    return IntakeResult("duplicate", doc.id, detail=str(q.path))


def _jst(doc: Document) -> str:
    received = doc.received_at
    if received.tzinfo is None:  # SQLite hands back naive UTC
        received = received.replace(tzinfo=dt.UTC)
    return f"{received.astimezone(clock.JST):%Y-%m-%d %H:%M}"


def _retry_quarantined(ctx: Context, doc: Document, n_pages: int, name: str) -> list[int]:
    """Put the file's documents that were refused when read (the file's own, and those of its further
    pages) back in line to be read again: a template may have been added since. Returns their ids.

    One unit for the whole file: a document back in line always has its error cleared, its exception
    items resolved and its event (a crash in between used to leave it waiting to be read with the old
    error shown and its item still open)."""
    retried = []
    with ctx.store.unit() as store:
        docs = [doc]
        for page in range(2, n_pages + 1):
            child = store.document_by_sha(f"{doc.sha256}#p{page}")
            if child is not None:
                docs.append(child)
        for d in docs:
            if d.id is None or d.status != DocStatus.QUARANTINED:
                continue
            error_code = d.error_code  # (d may be the unit's own row, which set_status clears)
            if not store.claim(d.id, DocStatus.QUARANTINED, DocStatus.RECEIVED):
                continue  # another worker retried it a moment ago
            store.set_status(d.id, DocStatus.RECEIVED, error_code=None, error_ja=None, error_en=None)
            for item in store.exceptions(document_id=d.id):
                if item.id is not None and item.code == error_code:
                    store.resolve_exception(item.id, SYSTEM_USER)
            store.audit(SYSTEM_USER, "intake.retry", d.id, detail=f"{name} (was {error_code})")
            retried.append(d.id)
    return retried


def unfinished(ctx: Context) -> list[int]:
    """Documents that were taken in but not yet read (after a crash, these resume)."""
    return [d.id for d in ctx.store.documents([DocStatus.RECEIVED, DocStatus.READING], limit=10_000) if d.id]


def sweep(ctx: Context, at: dt.datetime, lease: dt.timedelta | None = None) -> list[int]:
    """What is waiting to be read and nobody is reading: documents ``RECEIVED`` (further pages of a
    multi-page file, files whose reader never started) and those whose ``READING`` claim is older than
    ``lease`` (released first; default ``DEJIRU_READ_LEASE_MINUTES``: a page reads in seconds, so an
    older claim is a dead reader's). Handing them to readers again is safe: a read starts by claiming."""
    lease = lease if lease is not None else dt.timedelta(minutes=ctx.settings.read_lease_minutes)
    released = ctx.store.release_stale_claims(at - lease)
    if released:
        log.info("released %d stale reading claim(s)", released)
    return [d.id for d in ctx.store.documents([DocStatus.RECEIVED], limit=10_000) if d.id]
