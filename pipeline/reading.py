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
from formkit.registry import application_pages, application_template, load_template
from intake.files import quarantine_file
from ocr.align import Aligned, is_blank
from ocr.pages import iter_pages, load_page
from ocr.reader import read_page
from pipeline import counter_scan
from pipeline.audit import sampled
from pipeline.context import Context
from records.models import Channel, DocStatus, Document
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
        head = waiting_application(ctx, doc)
        if head is not None:  # the page that should continue it cannot be read
            route_application(ctx, head, complete=False)
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


def route_status(ctx: Context, doc: Document, form_id: str, straight: bool) -> tuple[DocStatus, str]:
    """Where a reading goes: straight through (keyed as read), a blind check, or review; and the event
    that says why (empty for review).

    抜き取り検査: a share of the documents that would go straight through is drawn (deterministically
    from the document's hash, ``pipeline.audit.sampled``) for a blind check of every field, which
    also covers any ダブルチェック the form asks for: the OCR is the first reading, the person the second.
    """
    auto = straight and not ctx.settings.review_all
    if doc.channel != Channel.PAPER:
        # Values from a seal or an online service, not the reader: nothing of the OCR to measure
        # (抜き取り検査) or to guard by a second reading (ダブルチェック).
        return (DocStatus.APPROVED, "document.auto_approve") if auto else (DocStatus.REVIEW, "")
    share = ctx.settings.audit_share
    if auto and share > 0 and sampled(ctx.settings.secret_key(), doc.sha256, share):
        return DocStatus.AUDIT, "document.audit_sampled"
    # ダブルチェック: a form whose author asked for two readings of some fields is never keyed on one.
    # A confident OCR reading counts as the first; a person keys those fields blind as the second.
    if auto and any(f.double_entry for f in application_template(form_id).fields):
        return DocStatus.DOUBLE_CHECK, "document.first_reading_ocr"
    return (DocStatus.APPROVED, "document.auto_approve") if auto else (DocStatus.REVIEW, "")


def _after_route(ctx: Context, doc_id: int, status: DocStatus, event: str) -> None:
    """The route's events (and an approval's approver), in the caller's unit."""
    if status == DocStatus.AUDIT:
        ctx.store.audit(SYSTEM_USER, event, doc_id, detail=f"share={ctx.settings.audit_share:g}")
    elif status == DocStatus.DOUBLE_CHECK:
        ctx.store.audit(SYSTEM_USER, event, doc_id)
    elif status == DocStatus.APPROVED:
        ctx.store.set_status(doc_id, DocStatus.APPROVED, approved_by=SYSTEM_USER + "(auto)")
        ctx.store.audit(SYSTEM_USER, event, doc_id)


def _inputs(reading: PageReading) -> list[FieldInput]:
    return [
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


def store_reading(
    ctx: Context, doc: Document, reading: PageReading, image_path: Path, straight: bool, waits: bool = False
) -> DocStatus:
    """Store a reading and route it (:func:`route_status`). ``waits``: the first page of an application
    whose further pages are still to be read: stored, routed once they are in (:func:`bind_page`)."""
    assert doc.id is not None
    status, event = (DocStatus.PAGES, "") if waits else route_status(ctx, doc, reading.form, straight)
    blind = status in (DocStatus.AUDIT, DocStatus.DOUBLE_CHECK)
    with ctx.unit() as ctx:  # an approved document is never seen without its approver and event
        ctx.store.save_reading(
            doc.id,
            form_id=reading.form,
            form_version=reading.version,
            engine=reading.engine,
            pages=[PageInput(0, str(image_path), reading.rotation, reading.print_match)],
            fields=_inputs(reading),
            status=status,
            straight_through=straight,
            first_reader=OCR_READER if blind else None,
        )
        failpoints.hit("read.reading_saved")
        _after_route(ctx, doc.id, status, event)
    return status


# --- applications of several pages -------------------------------------------------------------------


def waiting_application(ctx: Context, doc: Document) -> Document | None:
    """The application the page before this one (in the same file) began and that waits for its
    further pages (``PAGES``), or None."""
    if doc.parent_id is None or doc.source_page == 0:
        return None
    before = ctx.store.page_document(doc.parent_id, doc.source_page - 1)
    if before is not None and before.status == DocStatus.BOUND and before.application_id is not None:
        before = ctx.store.document(before.application_id)
    return before if before is not None and before.status == DocStatus.PAGES else None


def _page_before_unread(ctx: Context, doc: Document) -> bool:
    if doc.parent_id is None or doc.source_page == 0:
        return False
    before = ctx.store.page_document(doc.parent_id, doc.source_page - 1)
    return before is not None and before.status in (DocStatus.RECEIVED, DocStatus.READING)


def expected_form(head: Document, doc: Document) -> str | None:
    """The form this page must be to continue the application ``head`` began (None: it is complete)."""
    assert head.form_id is not None
    pages = application_pages(head.form_id)
    k = doc.source_page - head.source_page
    return pages[k].id if 0 < k < len(pages) else None


def has_next_page(ctx: Context, doc: Document, further: Sequence[SeenPage]) -> bool:
    """The file holds a page after this one that is not blank (a document of its own until read)."""
    if doc.parent_id is None:
        return any(p.index == doc.source_page + 1 and not p.blank for p in further)
    return ctx.store.page_document(doc.parent_id, doc.source_page + 1) is not None


def route_application(ctx: Context, head: Document, complete: bool) -> DocStatus:
    """Send an application on once its pages are in; missing pages send it to a person, with the reason
    on the document (its pages may have been scanned apart, out of order, or not at all)."""
    assert head.id is not None and head.form_id is not None
    straight = bool(head.straight_through) and complete
    status, event = route_status(ctx, head, head.form_id, straight)
    blind = status in (DocStatus.AUDIT, DocStatus.DOUBLE_CHECK)
    missing: dict[str, str | None] = {"error_code": None, "error_ja": None, "error_en": None}
    tpl = load_template(head.form_id)
    if not complete and tpl.continues:  # a further page on its own: its first page is elsewhere
        missing = {
            "error_code": "pages_missing",
            "error_ja": f"申請書の続きのページだけが読めました。前のページ（様式 {tpl.continues}）を確かめてください",
            "error_en": f"only a further page of an application was read: check its page before (form {tpl.continues})",
        }
    elif not complete:
        total, have = len(application_pages(head.form_id)), len(ctx.store.pages(head.id))
        missing = {
            "error_code": "pages_missing",
            "error_ja": f"{total}ページの申請書ですが、続けて読めたのは {have}ページまでです。残りのページを確かめてください",
            "error_en": f"an application of {total} pages, but only {have} were read in sequence: check the other pages",
        }
    with ctx.unit() as ctx:
        ctx.store.route(head.id, status, straight, OCR_READER if blind else None, **missing)
        _after_route(ctx, head.id, status, event)
        if not complete:
            ctx.store.audit(SYSTEM_USER, "document.pages_missing", head.id)
    return status


def bind_page(
    ctx: Context,
    head: Document,
    doc: Document,
    reading: PageReading,
    image_path: Path,
    straight: bool,
    further: Sequence[SeenPage],
) -> DocStatus:
    """A further page of an application: its fields and image go into the application's document, the
    page's own document is ``BOUND`` to it, and with the last page (or the last the file holds) the
    application is routed as one. One unit: a crash leaves the page unread and the application waiting."""
    assert head.id is not None and doc.id is not None and head.form_id is not None
    k = doc.source_page - head.source_page
    with ctx.unit() as ctx:
        ctx.store.add_page_reading(
            head.id, PageInput(k, str(image_path), reading.rotation, reading.print_match), _inputs(reading)
        )
        ctx.store.set_status(
            doc.id,
            DocStatus.BOUND,
            application_id=head.id,
            form_id=reading.form,
            form_version=reading.version,
            engine=reading.engine,
        )
        ctx.store.audit(SYSTEM_USER, "document.page_bound", head.id, detail=f"p.{k + 1} ← {doc.id}")
        head = ctx.store.set_status(
            head.id, DocStatus.PAGES, straight_through=bool(head.straight_through) and straight
        )
        last = k == len(application_pages(head.form_id or "")) - 1
        if last or not has_next_page(ctx, doc, further):
            route_application(ctx, head, complete=last)
    return DocStatus.BOUND


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
    if _page_before_unread(ctx, doc):
        # A page may continue the application the page before begins: read in file order. (On many PCs
        # the sweep can hand out a later page while its file's reader is still on an earlier one.)
        ctx.store.claim(doc.id, DocStatus.READING, DocStatus.RECEIVED)
        return DocStatus.RECEIVED
    try:
        outcome, further = read_source_page(doc, engine or ctx.settings.engine)
    except InputError as err:  # a page that cannot be decoded: the file is refused whole
        return quarantine_document(ctx, doc, err)
    if isinstance(outcome, RecognitionError):
        return quarantine_document(ctx, doc, outcome, further)
    reading, aligned = outcome
    failpoints.hit("read.before_save")
    tpl = load_template(reading.form)
    slip = None
    try:
        seal = counter_scan.seal_on_page(aligned)  # 書かない窓口: a slip's signed values
        if seal == "":
            counter_scan.unreadable(reading)
        elif seal is not None:
            slip = counter_scan.inspect(ctx, doc, aligned, seal)
            counter_scan.apply(tpl, reading, slip)
            doc.channel = Channel.COUNTER  # (routed as counter: its values are not the reader's)
        if seal is not None:  # the same slip scanned before with its QR unreadable, or the other way
            values = {k: f.value for k, f in reading.fields.items()}
            other = counter_scan.twin(ctx, doc, tpl, values, counter=seal != "")
            if other is not None:
                counter_scan.flag_twin(tpl, reading, other)
    except InputError as err:
        return quarantine_document(ctx, doc, err, further)
    decision = validate(tpl, reading)
    image_path = page_image_path(ctx, doc.id, doc.source_page)
    bgr = cv2.cvtColor(aligned.image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(image_path), bgr, [cv2.IMWRITE_JPEG_QUALITY, 88]):
        raise OSError(f"cannot write page image {image_path}")
    with ctx.unit() as ctx:
        split_pages(ctx, doc, further)
        if slip is not None and not ctx.store.bind_counter_slip(doc.id, slip.seal.nonce):
            raise OSError(f"counter slip {slip.seal.nonce} taken by another document meanwhile: read again")
        head = waiting_application(ctx, doc)
        if head is not None and expected_form(head, doc) == reading.form:
            status = bind_page(ctx, head, doc, reading, image_path, decision.straight_through, further)
        else:
            if head is not None:  # the page that should continue it is another form
                route_application(ctx, head, complete=False)
            alone = load_template(reading.form).continues is not None  # its first page is not here
            more = not alone and len(application_pages(reading.form)) > 1
            status = store_reading(
                ctx, doc, reading, image_path, decision.straight_through, waits=more or alone
            )
            if alone or (more and not has_next_page(ctx, doc, further)):  # the application is not all here
                status = route_application(ctx, ctx.store.document(doc.id), complete=False)
    failpoints.hit("read.after_save")
    log.info(
        "document %s read as %s: %s (%d fields to review)",
        doc.id,
        reading.form,
        status,
        len(decision.review_fields),
    )
    return status
