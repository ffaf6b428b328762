"""Keying: an approved document → a record in its target system, exactly once, via the ledger.

The ledger row (one per document and target) carries our reference; the bot searches the target for
it before creating anything. So a crash after the target saved the record but before we stored the
receipt is healed on the next attempt: the search finds the record and the receipt is stored.

What keying stores once the target has answered (the job done with its receipt, the document
``KEYED``, the event; or the job failed, the exception item, the document ``EXCEPTION``) is one unit
of work: a crash between those writes used to leave a job done beside a document still ``APPROVED``,
which no restart would key or mark. The job is marked running before the bot types, in a commit of
its own: that one must be visible (``recover`` puts a running job back in line).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from core import failpoints
from core.errors import (
    BusinessRuleRejected,
    DejiruError,
    KeyingError,
    SessionExpired,
    TargetScreenChanged,
    Transient,
)
from formkit.registry import load_template
from pipeline.context import Context
from records.models import DocStatus, KeyStatus, now

log = logging.getLogger(__name__)


class Keyer(Protocol):
    """What keying needs from a bot (``bots.runner.BotSession`` is the real one)."""

    def key(self, form_id: str, record: dict, reference: str) -> Any: ...

    def restart(self) -> None: ...


def target_of(ctx: Context, doc_id: int) -> str | None:
    doc = ctx.store.document(doc_id)
    return load_template(doc.form_id).target if doc.form_id else None


def approved_documents(ctx: Context, target: str) -> list[int]:
    return [
        d.id
        for d in ctx.store.documents([DocStatus.APPROVED], limit=10_000)
        if d.id is not None and d.form_id and load_template(d.form_id).target == target
    ]


def key_document(ctx: Context, doc_id: int, bot: Keyer) -> str:
    """Key one approved document; returns the job status. Raises Transient for the caller to retry."""
    store = ctx.store
    doc = store.document(doc_id)
    target = target_of(ctx, doc_id)
    if target is None or doc.form_id is None:
        return "skipped"
    job = store.keying_job(doc_id, target)
    assert job.id is not None
    if job.status == KeyStatus.DONE:
        if doc.status == DocStatus.APPROVED:
            _heal_keyed(ctx, doc_id, target, job.receipt)
        return KeyStatus.DONE
    if doc.status != DocStatus.APPROVED:
        return "skipped"
    store.update_job(job.id, status=KeyStatus.RUNNING, attempts=job.attempts + 1, started_at=now())
    record = store.values(doc_id)
    failpoints.hit("key.before_target")
    try:
        try:
            result = bot.key(doc.form_id, record, job.reference)
        except SessionExpired:
            bot.restart()
            result = bot.key(doc.form_id, record, job.reference)
    except (BusinessRuleRejected, TargetScreenChanged) as err:
        with store.unit() as uow:
            uow.update_job(job.id, status=KeyStatus.FAILED, last_error=err.code, finished_at=now())
            uow.add_exception(
                code=err.code,
                ja=err.ja,
                en=err.en,
                detail=err.detail,
                document_id=doc_id,
                source_name=doc.original_name,
                evidence=err.evidence,
            )
            uow.set_status(doc_id, DocStatus.EXCEPTION, error_code=err.code, error_ja=err.ja, error_en=err.en)
            uow.audit("bot:" + target, "keying.failed", doc_id, detail=err.code)
        return KeyStatus.FAILED
    except KeyingError as err:
        store.update_job(job.id, status=KeyStatus.PENDING, last_error=err.code)
        raise Transient(err.ja, err.en, detail=err.detail) from err
    failpoints.hit("key.after_target")
    with store.unit() as uow:
        uow.update_job(job.id, status=KeyStatus.DONE, receipt=result.receipt, finished_at=now())
        failpoints.hit("key.job_done")
        uow.set_status(doc_id, DocStatus.KEYED)
        uow.audit(
            "bot:" + target,
            "keying.done",
            doc_id,
            detail=f"{result.receipt}{' (found existing)' if result.existed else ''}",
        )
    log.info("document %s keyed into %s", doc_id, target)
    return KeyStatus.DONE


def _heal_keyed(ctx: Context, doc_id: int, target: str, receipt: str | None) -> None:
    """A job done beside a document still approved: the record is in the target with its receipt
    stored, but a version that committed those writes one by one crashed before marking the
    document. Mark it now, rather than leave it approved for ever (or key it again)."""
    with ctx.store.unit() as uow:
        if uow.lock_document(doc_id).status != DocStatus.APPROVED:
            return  # another worker marked it a moment ago
        uow.set_status(doc_id, DocStatus.KEYED)
        uow.audit("bot:" + target, "keying.done", doc_id, detail=f"{receipt} (job found done)")
    log.warning("document %s was keyed into %s but not marked: marked keyed now", doc_id, target)


def give_up(ctx: Context, doc_id: int, err: Exception) -> None:
    """After the last retry: the document waits in the exception queue for a person."""
    target = target_of(ctx, doc_id) or "?"
    ja, en = (
        (err.ja, err.en)
        if isinstance(err, DejiruError)
        else ("入力ロボットが何度試しても登録できませんでした", "the keying bot failed after all retries")
    )
    with ctx.unit() as ctx:
        job = ctx.store.keying_job(doc_id, target)
        if job.id is not None:
            ctx.store.update_job(job.id, status=KeyStatus.FAILED, finished_at=now())
        ctx.store.add_exception(
            code="keying_gave_up",
            ja=ja,
            en=en,
            detail=str(err)[:500],
            document_id=doc_id,
            evidence=err.evidence if isinstance(err, KeyingError) else {},
        )
        ctx.store.set_status(
            doc_id, DocStatus.EXCEPTION, error_code="keying_gave_up", error_ja=ja, error_en=en
        )
