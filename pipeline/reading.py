"""Reading: an archived document → field values, checks and a routing decision in the store."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from dejiru import failpoints
from dejiru.errors import DejiruError, InputError, RecognitionError
from formkit.registry import load_template
from intake.files import quarantine_file
from ocr.align import is_blank
from ocr.pages import Page, load_pages
from ocr.reader import read_page
from ocr.readings import PageReading
from pipeline.context import Context
from records.models import DocStatus, Document
from records.store import FieldInput, PageInput
from validation.routing import validate

log = logging.getLogger(__name__)
SYSTEM_USER = "dejiru"


def page_image_path(ctx: Context, doc_id: int, index: int) -> Path:
    return ctx.settings.pages / f"{doc_id:08d}_p{index + 1}.jpg"


def quarantine_document(ctx: Context, doc: Document, err: DejiruError) -> DocStatus:
    """Refuse a document with a reason: a copy goes to quarantine, the archived original stays."""
    assert doc.id is not None
    q = quarantine_file(
        Path(doc.archive_path),
        ctx.settings.quarantine,
        err,
        move=False,
        original_name=doc.original_name
        if not doc.parent_id
        else f"p{doc.source_page + 1}_{doc.original_name}",
    )
    ctx.store.add_exception(
        code=err.code,
        ja=err.ja,
        en=err.en,
        detail=err.detail,
        document_id=doc.id,
        source_name=doc.original_name,
        evidence={"quarantine": str(q.path), "reason": str(q.reason_path), "archive": doc.archive_path},
    )
    ctx.store.set_status(doc.id, DocStatus.QUARANTINED, error_code=err.code, error_ja=err.ja, error_en=err.en)
    ctx.store.audit(SYSTEM_USER, "document.quarantine", doc.id, detail=err.code)
    log.warning("document %s quarantined: %s", doc.id, err.code)
    return DocStatus.QUARANTINED


def split_pages(ctx: Context, doc: Document, pages: list[Page]) -> None:
    """A multi-page scan holds one application per page: every further non-blank page gets its own document."""
    assert doc.id is not None
    for page in pages[1:]:
        if is_blank(page.image):
            ctx.store.audit(SYSTEM_USER, "document.skip_blank_page", doc.id, detail=f"p.{page.index + 1}")
            continue
        child, created = ctx.store.add_document(
            f"{doc.sha256}#p{page.index + 1}", doc.original_name, doc.archive_path, doc.size_bytes
        )
        if created and child.id is not None:
            ctx.store.set_status(child.id, DocStatus.RECEIVED, parent_id=doc.id, source_page=page.index)


def store_reading(
    ctx: Context, doc: Document, reading: PageReading, image_path: Path, straight: bool
) -> DocStatus:
    assert doc.id is not None
    auto = straight and not ctx.settings.review_all
    status = DocStatus.APPROVED if auto else DocStatus.REVIEW
    fields = [
        FieldInput(
            name=f.name,
            type=f.type.value,
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
    ctx.store.save_reading(
        doc.id,
        form_id=reading.form,
        form_version=reading.version,
        engine=reading.engine,
        pages=[PageInput(0, str(image_path), reading.rotation, reading.print_match)],
        fields=fields,
        status=status,
        straight_through=straight,
    )
    if auto:
        ctx.store.set_status(doc.id, DocStatus.APPROVED, approved_by=SYSTEM_USER + "(auto)")
        ctx.store.audit(SYSTEM_USER, "document.auto_approve", doc.id)
    return status


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
        pages = load_pages(Path(doc.archive_path))
        if doc.parent_id is None and len(pages) > 1:
            split_pages(ctx, doc, pages)
        if doc.source_page >= len(pages):
            raise InputError("ページが見つかりません", "page missing", detail=f"p.{doc.source_page + 1}")
        page = pages[doc.source_page]
        reading, aligned = read_page(page.image, engine=engine or ctx.settings.engine)
    except (InputError, RecognitionError) as err:
        return quarantine_document(ctx, doc, err)
    failpoints.hit("read.before_save")
    tpl = load_template(reading.form)
    decision = validate(tpl, reading)
    image_path = page_image_path(ctx, doc.id, doc.source_page)
    bgr = cv2.cvtColor(aligned.image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(image_path), bgr, [cv2.IMWRITE_JPEG_QUALITY, 88]):
        raise OSError(f"cannot write page image {image_path}")
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
