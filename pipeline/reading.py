"""Reading: an archived document → field values, checks and a routing decision in the store.

Once a document is claimed (``RECEIVED → READING``, a commit of its own so that no other worker
takes it), everything the read decides is stored in one unit of work: the documents of a scan's
further pages, and the reading with its route (fields, pages, the review task, the approval, the
events) or the refusal (exception item, ``QUARANTINED``, event). A crash before that commit leaves
the document ``READING`` with nothing of the read stored, which ``recover`` puts back in line.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2

from core import failpoints
from core.errors import DejiruError, InputError, RecognitionError
from formkit.readings import PageReading
from formkit.registry import load_template
from intake.files import quarantine_file
from ocr.align import Aligned, is_blank
from ocr.pages import iter_pages, load_page
from ocr.reader import read_page
from pipeline.audit import sampled
from pipeline.context import Context
from records.models import DocStatus, Document
from records.store import FieldInput, PageInput
from validation.routing import validate

log = logging.getLogger(__name__)
SYSTEM_USER = "dejiru"
#: The first of the two readings of a double-entry form when the OCR was confident (not a person).
OCR_READER = "OCR"


def page_image_path(ctx: Context, doc_id: int, index: int) -> Path:
    return ctx.settings.pages / f"{doc_id:08d}_p{index + 1}.jpg"


def quarantine_document(
    ctx: Context, doc: Document, err: DejiruError, further: Sequence[SeenPage] = ()
) -> DocStatus:
    """Refuse a document with a reason: a copy goes to quarantine under a neutral name, the archived
    original stays, and dropping the same file again reads it again (``pipeline.intake``), as the
    reason file says. ``further``: the scan's further pages, whose documents are made in the same
    unit as the refusal (the copy is made before the unit: it may take a while, and a unit on SQLite
    holds the database's write lock)."""
    from intake.files import RETRY_ADVICE, read_head
    from ocr.pages import sniff

    assert doc.id is not None
    archived = Path(doc.archive_path)
    q = quarantine_file(
        archived,
        ctx.settings.quarantine,
        err,
        move=False,
        original_name=doc.original_name
        if not doc.parent_id
        else f"p{doc.source_page + 1}_{doc.original_name}",
        kind=sniff(read_head(archived)),
        advice=RETRY_ADVICE,
    )
    with ctx.unit() as ctx:
        split_pages(ctx, doc, further)
        ctx.store.add_exception(
            code=err.code,
            ja=err.ja,
            en=err.en,
            detail=err.detail,
            document_id=doc.id,
            source_name=doc.original_name,
            evidence={"quarantine": str(q.path), "reason": str(q.reason_path), "archive": doc.archive_path},
        )
        ctx.store.set_status(
            doc.id, DocStatus.QUARANTINED, error_code=err.code, error_ja=err.ja, error_en=err.en
        )
        ctx.store.audit(SYSTEM_USER, "document.quarantine", doc.id, detail=err.code)
    log.warning("document %s quarantined: %s", doc.id, err.code)
    return DocStatus.QUARANTINED


@dataclass(frozen=True)
class SeenPage:
    """What splitting needs to know of a further page once its pixels are gone."""

    index: int
    blank: bool


def split_pages(ctx: Context, doc: Document, pages: Sequence[SeenPage]) -> None:
    """A multi-page scan holds one application per page: every further non-blank page gets its own document.

    In one unit: a child is never seen without its parent and page (read alone, it would be taken
    for a scan of its own and read from the file's first page)."""
    assert doc.id is not None
    with ctx.unit() as ctx:
        for page in pages:
            if page.index == 0:
                continue
            if page.blank:
                ctx.store.audit(SYSTEM_USER, "document.skip_blank_page", doc.id, detail=f"p.{page.index + 1}")
                continue
            child, created = ctx.store.add_document(
                f"{doc.sha256}#p{page.index + 1}", doc.original_name, doc.archive_path, doc.size_bytes
            )
            if created and child.id is not None:
                ctx.store.set_status(child.id, DocStatus.RECEIVED, parent_id=doc.id, source_page=page.index)


def _missing(doc: Document) -> InputError:
    return InputError("ページが見つかりません", "page missing", detail=f"p.{doc.source_page + 1}")


def _without_tracebacks(err: RecognitionError) -> RecognitionError:
    """The error alone: its traceback's frames hold the page's pixels, which must not outlive it
    while the further pages are decoded. It is raised again, with a fresh traceback, after the split."""
    todo: list[BaseException | None] = [err]
    done: set[int] = set()
    while todo:
        e = todo.pop()
        if e is None or id(e) in done:
            continue
        done.add(id(e))
        e.__traceback__ = None
        todo += [e.__cause__, e.__context__]
    return err


#: What reading a document's file found: its own page read (or why not), and the further pages seen.
SourceRead = tuple[tuple[PageReading, Aligned] | RecognitionError, list[SeenPage]]


def read_source_page(doc: Document, engine: str | None) -> SourceRead:
    """Read the document's own page, with the file decoded one page at a time (security issue 11).

    However many pages a file has, no more than one of them is in memory at once: a child document
    decodes its own page only; a parent reads its first page and lets go of it, then looks at each
    further page just long enough to tell whether it is blank. Nothing is stored here: the caller
    makes the child documents (:func:`split_pages`) in the same unit as the reading or the refusal,
    and only once every page has been decoded, so a file with a broken page (InputError, raised) is
    refused whole, with no children; a first page that is not understood (blank, unknown form: the
    RecognitionError returned) is refused after the split, as before.
    """
    path = Path(doc.archive_path)
    if doc.parent_id is not None:
        page = load_page(path, doc.source_page)
        if page is None:
            raise _missing(doc)
        try:
            return read_page(page.image, engine=engine), []
        except RecognitionError as err:
            return err, []
    outcome: tuple[PageReading, Aligned] | RecognitionError | None = None
    seen: list[SeenPage] = []
    for page in iter_pages(path):
        if page.index == doc.source_page:
            try:
                outcome = read_page(page.image, engine=engine)
            except RecognitionError as err:
                outcome = _without_tracebacks(err)
        if page.index > 0:
            seen.append(SeenPage(page.index, is_blank(page.image)))
        del page  # else this page stays alive while the next one is decoded
    if outcome is None:
        raise _missing(doc)
    return outcome, seen


def store_reading(
    ctx: Context, doc: Document, reading: PageReading, image_path: Path, straight: bool
) -> DocStatus:
    """Store a reading and route it: straight through (keyed as read), a blind check, or review.

    抜き取り検査: a share of the documents that would go straight through is drawn (deterministically
    from the document's hash, ``pipeline.audit.sampled``) for a blind check of every field, which
    also covers any ダブルチェック the form asks for: the OCR is the first reading, the person the second.
    """
    assert doc.id is not None
    auto = straight and not ctx.settings.review_all
    share = ctx.settings.audit_share
    audit = auto and share > 0 and sampled(ctx.settings.secret_key(), doc.sha256, share)
    # ダブルチェック: a form whose author asked for two readings of some fields is never keyed on one.
    # A confident OCR reading counts as the first; a person keys those fields blind as the second.
    blind = auto and not audit and any(f.double_entry for f in load_template(reading.form).fields)
    if audit:
        status = DocStatus.AUDIT
    elif blind:
        status = DocStatus.DOUBLE_CHECK
    else:
        status = DocStatus.APPROVED if auto else DocStatus.REVIEW
    fields = [
        FieldInput(
            name=f.name,
            type=str(f.type),
            value=f.value,
            raw=f.raw,
            confidence=f.confidence,
            char_confidences=f.char_confidences,
            reasons=[r.as_dict() for r in f.reasons],
            needs_review=f.needs_review,
            box=f.box.as_list(),
        )
        for f in reading.fields.values()
    ]
    with ctx.unit() as ctx:  # an approved document is never seen without its approver and event
        ctx.store.save_reading(
            doc.id,
            form_id=reading.form,
            form_version=reading.version,
            engine=reading.engine,
            pages=[PageInput(0, str(image_path), reading.rotation, reading.print_match)],
            fields=fields,
            status=status,
            straight_through=straight,
            first_reader=OCR_READER if blind or audit else None,
        )
        failpoints.hit("read.reading_saved")
        if audit:
            ctx.store.audit(SYSTEM_USER, "document.audit_sampled", doc.id, detail=f"share={share:g}")
        elif blind:
            ctx.store.audit(SYSTEM_USER, "document.first_reading_ocr", doc.id)
        elif auto:
            ctx.store.set_status(doc.id, DocStatus.APPROVED, approved_by=SYSTEM_USER + "(auto)")
            ctx.store.audit(SYSTEM_USER, "document.auto_approve", doc.id)
    return status


def unread_pages(ctx: Context, doc_id: int) -> list[int]:
    """The further pages of a multi-page file that nobody has read yet, in page order: the reader of
    the file's first page reads them next, on any setup, instead of leaving them to a sweep."""
    pages = ctx.store.documents([DocStatus.RECEIVED], parent=doc_id, limit=10_000)
    return [d.id for d in sorted(pages, key=lambda d: d.source_page) if d.id is not None]


def read_document(doc_id: int, ctx: Context, engine: str | None = None) -> DocStatus:
    """Read, check and route one document. Re-running it on a finished document changes nothing."""
    if not ctx.store.claim(doc_id, DocStatus.RECEIVED, DocStatus.READING):
        return DocStatus(ctx.store.document(doc_id).status)  # done already, or another worker has it
    try:
        return _read_claimed(ctx.store.document(doc_id), ctx, engine)
    except BaseException:
        # An unexpected failure (a bug, an engine crash, a full disk): put it back in line for a retry.
        ctx.store.claim(doc_id, DocStatus.READING, DocStatus.RECEIVED)
        raise


def _read_claimed(doc: Document, ctx: Context, engine: str | None) -> DocStatus:
    assert doc.id is not None
    try:
        outcome, further = read_source_page(doc, engine or ctx.settings.engine)
    except InputError as err:  # a page that cannot be decoded: the file is refused whole
        return quarantine_document(ctx, doc, err)
    if isinstance(outcome, RecognitionError):
        return quarantine_document(ctx, doc, outcome, further)
    reading, aligned = outcome
    failpoints.hit("read.before_save")
    tpl = load_template(reading.form)
    decision = validate(tpl, reading)
    image_path = page_image_path(ctx, doc.id, doc.source_page)
    bgr = cv2.cvtColor(aligned.image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(image_path), bgr, [cv2.IMWRITE_JPEG_QUALITY, 88]):
        raise OSError(f"cannot write page image {image_path}")
    with ctx.unit() as ctx:
        split_pages(ctx, doc, further)
        status = store_reading(ctx, doc, reading, image_path, decision.straight_through)
    failpoints.hit("read.after_save")
    log.info(
        "document %s read as %s: %s (%d fields to review)",
        doc.id,
        reading.form,
        status,
        len(decision.review_fields),
    )
    return status
