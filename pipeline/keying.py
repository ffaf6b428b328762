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

import datetime as dt
import json
import logging
import shutil
from collections.abc import Sequence
from typing import Any, Protocol

from core import failpoints
from core.clock import JST
from core.errors import (
    BusinessRuleRejected,
    DejiruError,
    GaveUp,
    KeyingError,
    NothingToKey,
    ReadBackMismatch,
    SavedValueDiffers,
    SessionExpired,
    TargetScreenChanged,
    TemplateError,
    Transient,
)
from formkit.registry import application_template, load_template
from pipeline.context import Context
from records.models import DocStatus, Document, KeyingJob, KeyStatus, now
from records.store import Store

log = logging.getLogger(__name__)


class Keyer(Protocol):
    """What keying needs from a bot (``bots.runner.BotSession`` is the real one)."""

    def key(self, form_id: str, record: dict, reference: str) -> Any: ...

    def restart(self) -> None: ...


def targets_of(ctx: Context, doc_id: int) -> list[str]:
    """The systems a document's records go into (its template's ``target``/``targets``)."""
    doc = ctx.store.document(doc_id)
    return load_template(doc.form_id).keyed_into if doc.form_id else []


def target_of(ctx: Context, doc_id: int) -> str | None:
    """The first of them (the one a form with a single target names)."""
    return next(iter(targets_of(ctx, doc_id)), None)


def done_in(store: Store, doc_id: int, target: str) -> bool:
    """Every record of the document is in ``target`` (its jobs are made together, before the first is
    keyed: some done and none left means all)."""
    jobs = [j for j in store.keying_jobs(doc_id) if j.target == target]
    return bool(jobs) and all(j.status == KeyStatus.DONE for j in jobs)


def approved_documents(ctx: Context, target: str) -> list[int]:
    """Approved documents with records still to go into ``target``, and those in every target but
    not yet marked (two targets finishing at once on PostgreSQL: each saw the other still running)."""
    out = []
    for d in ctx.store.documents([DocStatus.APPROVED], limit=10_000):
        if d.id is None or not d.form_id:
            continue
        targets = load_template(d.form_id).keyed_into
        if target not in targets:
            continue
        # One target (the usual form): approved means still to key, or keyed and to be marked; only
        # a form with several asks the ledger (every keying run passes here: no query per document).
        if (
            len(targets) == 1
            or not done_in(ctx.store, d.id, target)
            or all(done_in(ctx.store, d.id, t) for t in targets)
        ):
            out.append(d.id)
    return out


def records_of(form_id: str, target: str, values: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """What keying a document types, as (block, record): the whole document as one record (block 0),
    or, where the form's bot mapping keys a repeated block on its own (``each:``), one record per
    block somebody wrote in (block 1..N)."""
    from bots.targets import target_spec

    form = target_spec(target).forms.get(form_id)
    if form is None or form.each is None:
        return [(0, values)]
    group = next((g for g in application_template(form_id).groups if g.name == form.each), None)
    if group is None:
        raise TemplateError(
            f"ボット定義 {target} が様式 {form_id} にない繰り返し欄 {form.each} を組ごとに入力しようとしています",
            f"bot mapping {target} keys each block of {form.each}, which form {form_id} does not have",
        )
    return group.records(values)


def key_document(ctx: Context, doc_id: int, bot: Keyer, target: str | None = None) -> str:
    """Key one approved document into ``target`` (default: its template's first), each of its records
    once; returns the status. Raises Transient for the caller to retry: records already keyed stay
    keyed, the next attempt goes on from the first record not yet in. The document is ``KEYED`` once
    every one of its target systems has all its records."""
    store = ctx.store
    doc = store.document(doc_id)
    targets = targets_of(ctx, doc_id)
    target = target or next(iter(targets), None)
    if target is None or target not in targets or doc.form_id is None:
        return "skipped"
    others = [t for t in targets if t != target]
    todo = [
        (store.keying_job(doc_id, target, block), record)
        for block, record in records_of(doc.form_id, target, store.values(doc_id))
    ]
    if todo and all(job.status == KeyStatus.DONE for job, _ in todo):
        if doc.status == DocStatus.APPROVED and all(done_in(store, doc_id, t) for t in others):
            _heal_keyed(ctx, doc_id, target, ", ".join(str(job.receipt) for job, _ in todo))
        return KeyStatus.DONE
    if doc.status != DocStatus.APPROVED:
        return "skipped"
    if not todo:
        _to_person(ctx, doc, target, None, NothingToKey(_NOTHING_JA, _NOTHING_EN))
        return KeyStatus.FAILED
    left = [(job, record) for job, record in todo if job.status != KeyStatus.DONE]
    for n, (job, record) in enumerate(left, 1):
        if not _key_record(ctx, doc, target, job, record, bot, last=n == len(left), others=others):
            return KeyStatus.FAILED
    log.info("document %s keyed into %s (%d record(s))", doc_id, target, len(todo))
    return KeyStatus.DONE


_NOTHING_JA = "繰り返し欄のどの組にも記入がなく、入力する記録がありません。用紙を確かめてください"
_NOTHING_EN = "every repeated block is blank: there is no record to key; check the paper"


def _key_record(
    ctx: Context,
    doc: Document,
    target: str,
    job: KeyingJob,
    record: dict[str, Any],
    bot: Keyer,
    last: bool,
    others: Sequence[str] = (),
) -> bool:
    """Key one record of a document. True once it is in; False if it went to a person (the document
    then waits in the exception queue). The last record's receipt, the document ``KEYED`` (when the
    ``others`` targets have theirs) and the event are one unit, so the document is never keyed
    without all its records done."""
    store = ctx.store
    assert job.id is not None and doc.id is not None and doc.form_id is not None
    store.update_job(job.id, status=KeyStatus.RUNNING, attempts=job.attempts + 1, started_at=now())
    failpoints.hit("key.before_target")
    try:
        try:
            result = bot.key(doc.form_id, record, job.reference)
        except SessionExpired:
            bot.restart()
            result = bot.key(doc.form_id, record, job.reference)
    except (BusinessRuleRejected, ReadBackMismatch, SavedValueDiffers, TargetScreenChanged) as err:
        _to_person(ctx, doc, target, job, err)
        return False
    except KeyingError as err:
        evidence = json.dumps(err.evidence) if err.evidence else job.last_evidence
        store.update_job(job.id, status=KeyStatus.PENDING, last_error=err.code, last_evidence=evidence)
        raise Transient(err.ja, err.en, detail=err.detail).with_evidence(err.evidence) from err
    failpoints.hit("key.after_target")
    block = f" [{job.block}]" if job.block else ""
    with store.unit() as uow:
        uow.update_job(
            job.id,
            status=KeyStatus.DONE,
            receipt=result.receipt,
            finished_at=now(),
            waiting_since=None,
            last_evidence=None,
        )
        failpoints.hit("key.job_done")
        if last and all(done_in(uow, doc.id, t) for t in others):
            uow.set_status(doc.id, DocStatus.KEYED)
        uow.audit(
            "bot:" + target,
            "keying.done",
            doc.id,
            detail=f"{result.receipt}{block}{' (found existing)' if result.existed else ''}",
        )
    # The failed attempts' screenshots and traces told of a moment that passed: the record is in.
    shutil.rmtree(ctx.settings.evidence / job.reference, ignore_errors=True)
    if not last:
        failpoints.hit("key.record_done")
    return True


def _to_person(ctx: Context, doc: Document, target: str, job: KeyingJob | None, err: KeyingError) -> None:
    """The target would not take a record (or there is none): the job failed, the document waits in
    the exception queue with the reason, in one unit."""
    assert doc.id is not None
    with ctx.store.unit() as uow:
        if job is not None and job.id is not None:
            # The cause the record met last stays (gave up after what?); a refusal is its own cause.
            last = job.last_error if isinstance(err, GaveUp) else err.code
            uow.update_job(job.id, status=KeyStatus.FAILED, last_error=last, finished_at=now())
        uow.add_exception(
            code=err.code,
            ja=err.ja,
            en=err.en,
            detail=err.detail,
            document_id=doc.id,
            source_name=doc.original_name,
            evidence=err.evidence,
        )
        uow.set_status(doc.id, DocStatus.EXCEPTION, error_code=err.code, error_ja=err.ja, error_en=err.en)
        uow.audit("bot:" + target, "keying.failed", doc.id, detail=err.code)


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


def outage_window(target: str) -> dt.timedelta:
    """How long records wait while ``target`` is unreachable before going to a person (its bot
    mapping's ``outage_minutes``)."""
    from bots.targets import target_spec

    return dt.timedelta(minutes=target_spec(target).outage_minutes)


def waits(waiting_since: dt.datetime | None, at: dt.datetime, window: dt.timedelta) -> bool:
    """Whether a record its target could not take (unreachable, erroring) waits for the next run rather
    than going to a person: until the target has been failing for longer than its outage window."""
    if window <= dt.timedelta(0):
        return False  # no window: a person at once
    return waiting_since is None or at - _aware(waiting_since) < window


def _aware(stamp: dt.datetime) -> dt.datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)  # SQLite gives naive UTC back


def wait_or_give_up(
    ctx: Context,
    doc_id: int,
    err: Exception,
    window: dt.timedelta,
    at: dt.datetime | None = None,
    target: str | None = None,
) -> bool:
    """After a run's last retry. A transient failure (the target down, erroring, a slot not free) waits,
    visibly (``waiting_since``), until the target's outage window has passed since this record first
    met it; then, or for any other failure, the document goes to the exception queue. True: it waits."""
    at = at or now()
    target = target or target_of(ctx, doc_id) or "?"
    if isinstance(err, Transient):
        with ctx.unit() as ctx_:
            job = current_job(ctx_.store, doc_id, target)
            if job is not None and job.id is not None and waits(job.waiting_since, at, window):
                if job.waiting_since is None:
                    ctx_.store.update_job(job.id, waiting_since=at)
                    ctx_.store.audit("bot:" + target, "keying.waiting", doc_id, detail=err.code)
                return True
    give_up(ctx, doc_id, err, target)
    return False


def give_up(ctx: Context, doc_id: int, err: Exception, target: str | None = None) -> None:
    """After the last retry: the document waits in the exception queue for a person."""
    target = target or target_of(ctx, doc_id) or "?"
    ja, en = (
        (err.ja, err.en)
        if isinstance(err, DejiruError)
        else ("入力ロボットが何度試しても登録できませんでした", "the keying bot failed after all retries")
    )
    evidence = err.evidence if isinstance(err, KeyingError) else {}
    with ctx.unit() as ctx:
        job = current_job(ctx.store, doc_id, target)
        _to_person(
            ctx,
            ctx.store.document(doc_id),
            target,
            job,
            GaveUp(ja, en, detail=str(err)[:500], evidence=evidence),
        )


def current_job(store: Store, doc_id: int, target: str) -> KeyingJob | None:
    """The record of a document keying is at: the first not yet done (a document keyed as one record
    has one), made if keying failed before it began (the browser would not start). None when every
    record is done, or when the form or its mapping no longer says what the records are."""
    doc = store.document(doc_id)
    try:
        blocks = [b for b, _ in records_of(doc.form_id, target, store.values(doc_id))] if doc.form_id else [0]
    except DejiruError:
        blocks = sorted(j.block for j in store.keying_jobs(doc_id) if j.target == target)
    for block in blocks:
        job = store.keying_job(doc_id, target, block)
        if job.status != KeyStatus.DONE:
            return job
    return None


def target_waits(store: Store) -> list[dict[str, str]]:
    """What staff see while a target system is down: which, since when (Japan time) and until when its
    records wait before going to the exception queue (its bot mapping's ``outage_minutes``)."""
    out = []
    for target, (since, error) in sorted(store.keying_waits().items()):
        try:
            window = outage_window(target)
        except DejiruError:  # the mapping was removed: its records wait for a person anyway
            window = dt.timedelta(0)
        local = since.astimezone(JST)
        out.append(
            {
                "target": target,
                "since": local.strftime("%m/%d %H:%M"),
                "until": (local + window).strftime("%m/%d %H:%M"),
                "error": error or "",
            }
        )
    return out
