"""Intake: from a complete file in the inbox to an archived, recorded document (or quarantine)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from dejiru import failpoints
from dejiru.errors import InputError
from intake.files import (
    archive_path,
    check_readable,
    copy_verified,
    is_partial_name,
    quarantine_file,
    sha256_file,
)
from ocr.pages import check_file
from pipeline.context import Context
from records.models import DocStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntakeResult:
    outcome: str  # accepted | duplicate | quarantined | skipped
    document_id: int | None = None
    detail: str = ""


def intake_file(path: Path, ctx: Context) -> IntakeResult:
    """Take one complete file from the inbox. Safe to repeat: a crash at any point loses nothing.

    Raises OSError (disk full, file vanished) for the watcher to retry later; the file stays put.
    """
    cfg, store = ctx.settings, ctx.store
    if is_partial_name(path) or not path.is_file():
        return IntakeResult("skipped", detail="partial or not a file")
    try:
        check_readable(path)
        check_file(path)  # the real type, encryption, size and page limits
    except InputError as err:
        q = quarantine_file(path, cfg.quarantine, err, move=True)
        store.add_exception(
            code=err.code,
            ja=err.ja,
            en=err.en,
            detail=err.detail,
            source_name=path.name,
            evidence={"quarantine": str(q.path), "reason": str(q.reason_path)},
        )
        log.warning("quarantined %s: %s", q.path.name, err.code)
        return IntakeResult("quarantined", detail=err.code)
    digest = sha256_file(path)
    existing = store.document_by_sha(digest)
    if existing is not None and existing.original_name == path.name and Path(existing.archive_path).exists():
        # Our own earlier attempt got as far as recording the document (then crashed): finish it.
        path.unlink(missing_ok=True)
        return IntakeResult("accepted", existing.id, detail="resumed")
    if existing is not None:
        # Same content again: keep the copy aside (never delete a clerk's file), make no new document.
        dup = cfg.archive / "duplicates" / f"{digest[:16]}_{path.name}"
        copy_verified(path, dup, digest)
        path.unlink(missing_ok=True)
        store.audit("dejiru", "intake.duplicate", existing.id, detail=path.name)
        return IntakeResult("duplicate", existing.id, detail=str(dup))
    dest = archive_path(cfg.archive, digest, path.name)
    copy_verified(path, dest, digest)
    doc, created = store.add_document(digest, path.name, str(dest), dest.stat().st_size)
    failpoints.hit("intake.after_record")
    path.unlink(missing_ok=True)  # another worker may have finished the same file first
    if created:
        store.audit("dejiru", "intake.accept", doc.id, detail=path.name)
    log.info("accepted document %s (%s)", doc.id, dest.name)
    return IntakeResult("accepted" if created else "duplicate", doc.id)


def unfinished(ctx: Context) -> list[int]:
    """Documents that were taken in but not yet read (after a crash, these resume)."""
    return [d.id for d in ctx.store.documents([DocStatus.RECEIVED, DocStatus.READING], limit=10_000) if d.id]
