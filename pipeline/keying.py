"""Keying: an approved document → a record in its target system, exactly once, via the ledger.

The ledger row (one per document and target) carries our reference; the bot searches the target for
it before creating anything. So a crash after the target saved the record but before we stored the
receipt is healed on the next attempt: the search finds the record and the receipt is stored.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from core import failpoints
from core.errors import BusinessRuleRejected, KeyingError, SessionExpired, TargetScreenChanged, Transient
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
        store.update_job(job.id, status=KeyStatus.FAILED, last_error=err.code, finished_at=now())
        store.add_exception(
            code=err.code,
            ja=err.ja,
            en=err.en,
            detail=err.detail,
            document_id=doc_id,
            source_name=doc.original_name,
            evidence=getattr(err, "evidence", {}),
        )
        store.set_status(doc_id, DocStatus.EXCEPTION, error_code=err.code, error_ja=err.ja, error_en=err.en)
        store.audit("bot:" + target, "keying.failed", doc_id, detail=err.code)
        return KeyStatus.FAILED
    except KeyingError as err:
        store.update_job(job.id, status=KeyStatus.PENDING, last_error=err.code)
        raise Transient(err.ja, err.en, detail=err.detail) from err
    failpoints.hit("key.after_target")
    store.update_job(job.id, status=KeyStatus.DONE, receipt=result.receipt, finished_at=now())
    store.set_status(doc_id, DocStatus.KEYED)
    store.audit(
        "bot:" + target,
        "keying.done",
        doc_id,
        detail=f"{result.receipt}{' (found existing)' if result.existed else ''}",
    )
    log.info("document %s keyed into %s", doc_id, target)
    return KeyStatus.DONE


def give_up(ctx: Context, doc_id: int, err: Exception) -> None:
    """After the last retry: the document waits in the exception queue for a person."""
    target = target_of(ctx, doc_id) or "?"
    job = ctx.store.keying_job(doc_id, target)
    if job.id is not None:
        ctx.store.update_job(job.id, status=KeyStatus.FAILED, finished_at=now())
    ja = getattr(err, "ja", "入力ロボットが何度試しても登録できませんでした")
    en = getattr(err, "en", "the keying bot failed after all retries")
    ctx.store.add_exception(
        code="keying_gave_up",
        ja=ja,
        en=en,
        detail=str(err)[:500],
        document_id=doc_id,
        evidence=getattr(err, "evidence", {}),
    )
    ctx.store.set_status(doc_id, DocStatus.EXCEPTION, error_code="keying_gave_up", error_ja=ja, error_en=en)
