"""The reviewer's work: the queue, the document screen (scan beside each doubtful value), saving,
approving and rejecting, and the page image and field crops. Every look at a scan is audited."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from formkit.layout import layout_field
from formkit.model import FieldSpec, Template
from formkit.registry import all_templates, application_pages, application_template, field_pages
from ocr.align import PX_PER_MM
from pipeline.keying import target_waits
from pipeline.review import EditConflict, ReviewError, approve, reject, save_edits
from records.models import DocStatus
from records.store import JST, Store, loads
from review.web import CheckedForm, Reviewer, ReviewState, State, Tr, lang, not_found, page, shared
from validation.display import for_input

router = APIRouter()


def _day(text: str | None) -> dt.datetime | None:
    """A date from a filter box (YYYY-MM-DD), as the start of that day in Japan."""
    if not text:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=JST)
    except ValueError:
        return None


def crop_style(
    tpl: Template, spec: FieldSpec, max_w: float = 360.0, max_h: float = 80.0, margin: float = 2.0
) -> str:
    """CSS that shows a field's zone of the page image (a sprite): the browser loads the page once and
    every crop is a window onto it, so a document view costs the server one image, not twenty."""
    b = spec.box
    w, h = b.w + 2 * margin, b.h + 2 * margin
    k = min(max_w / w, max_h / h)
    return (
        f"width:{w * k:.0f}px;height:{h * k:.0f}px;background-size:{tpl.page.width_mm * k:.1f}px "
        f"{tpl.page.height_mm * k:.1f}px;background-position:{-(b.x - margin) * k:.1f}px {-(b.y - margin) * k:.1f}px"
    )


@router.get("/queue", response_class=HTMLResponse)
def queue(
    request: Request,
    me: Reviewer,
    state: State,
    form: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    store = state.store
    start, end = _day(since), _day(until)
    docs = store.documents(
        [DocStatus.REVIEW, DocStatus.DOUBLE_CHECK, DocStatus.AUDIT],
        form_id=form or None,
        since=start,
        until=end + dt.timedelta(days=1) if end else None,
    )
    to_review = store.fields_to_review([d.id for d in docs if d.id is not None])
    rows = [{"doc": d, "review": to_review.get(d.id or 0, [])} for d in docs]
    keyed = store.documents([DocStatus.KEYED, DocStatus.APPROVED], limit=20, newest_first=True)
    receipts = store.receipts()
    return page(
        request,
        "queue.html",
        waits=target_waits(store),
        rows=rows,
        keyed=keyed,
        receipts=receipts,
        counts=store.count_by_status(),
        forms=[t.id for t in all_templates()],
        form=form or "",
        since=since or "",
        until=until or "",
    )


def blind_row(row: dict[str, Any], typed: Any) -> dict[str, Any]:
    chosen = typed if isinstance(typed, list) else [typed] if isinstance(typed, str) else []
    return {
        "spec": row["spec"],
        "crop": row["crop"],
        "page": row["page"],
        "box": row["box"],
        "input": typed if isinstance(typed, str) else "",
        "chosen": chosen,
        "ticked": typed is True,
        "doubt": False,
    }


def field_rows(request: Request, tpl: Template, doc_id: int, typed: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields as the review form shows them; ``typed``: entries that could not be read, shown
    again as the reviewer typed them (a sensitive one masked) so nothing needs typing twice."""
    rows = []
    pages = application_pages(tpl.id)
    for f in shared(request).store.fields(doc_id):
        spec = tpl.field(f.name)
        value = loads(f.value)
        display = for_input(spec, value)
        rows.append(
            {
                "f": f,
                "doubt": f.needs_review,
                "spec": spec,
                "value": value,
                "display": display,
                "input": typed.get(f.name, display) if isinstance(typed.get(f.name, ""), str) else display,
                "ocr_display": for_input(spec, loads(f.ocr_value)),
                "reasons": json.loads(f.reasons),
                "box": loads(f.box),
                "chosen": value if isinstance(value, list) else [value],
                "crop": crop_style(pages[min(f.page_index, len(pages) - 1)], spec),
                "page": f.page_index,
            }
        )
    return rows


def doc_page(
    request: Request,
    doc_id: int,
    message: str | None = None,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, Any] | None = None,
    field_errors: dict[str, ReviewError] | None = None,
) -> Response:
    """The document screen. A blind check (ダブルチェック, 抜き取り検査) shows empty inputs and no
    value read; ``typed`` and ``field_errors`` put entries that could not be read back on the
    screen with their reason under the field."""
    store = shared(request).store
    doc = store.document(doc_id)
    if doc.form_id is None:
        return not_found(request)
    tpl = application_template(doc.form_id)
    typed = typed or {}
    rows = field_rows(request, tpl, doc_id, typed)
    jobs = store.keying_jobs(doc_id)
    audit_blind = doc.status == DocStatus.AUDIT
    double = doc.status == DocStatus.DOUBLE_CHECK or audit_blind
    if double:
        # Blind: nothing the OCR or the first reviewer entered reaches this page, only what this
        # person typed in a try that could not be read.
        rows = [
            blind_row(r, typed.get(r["spec"].name)) for r in rows if audit_blind or r["spec"].double_entry
        ]
    lang_en = lang(request) == "en"
    errors = {k: e.en if lang_en else e.ja for k, e in (field_errors or {}).items()}
    task = store.review_task(doc_id)
    return page(
        request,
        "document.html",
        status=status,
        doc=doc,
        tpl=tpl,
        sheets=sheets(store, doc_id, doc.form_id),
        rows=rows,
        double=double,
        audit_blind=audit_blind,
        field_errors=errors,
        first_reviewer=task.first_reviewer if task else None,
        message=message,
        error=error,
        jobs=jobs,
        exceptions=store.exceptions(document_id=doc_id),
        attachments=store.attachments(doc_id),
        flow_runs=flow_runs(store, doc_id),
        prefect_ui=prefect_ui_url(),
        editable=doc.status == DocStatus.REVIEW,
    )


_RUN = re.compile(
    r"([a-z-]+(?: [A-Za-z0-9_.-]+)?) ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)


def flow_runs(store: Store, doc_id: int) -> list[tuple[str, str]]:
    """(step, run ID) of the Prefect flow runs that worked on the document (``flows/runs.py``), oldest
    first, for the admin menu's links into the Prefect UI."""
    out = []
    for e in store.audit_events(doc_id):
        m = _RUN.fullmatch(e.detail or "") if e.action == "flow.run" else None
        if m is not None:
            out.append((m.group(1), m.group(2)))
    return sorted(set(out), key=out.index)


def prefect_ui_url() -> str | None:
    """Where the Prefect UI is (``PREFECT_UI_URL``, else the API's address without ``/api``)."""
    ui = os.environ.get("PREFECT_UI_URL", "").strip()
    if not ui:
        api = os.environ.get("PREFECT_API_URL", "").strip()
        ui = api.removesuffix("/").removesuffix("/api") if api else ""
    return ui.rstrip("/") if ui.startswith(("http://", "https://")) else None


def sheets(store: Store, doc_id: int, form_id: str) -> list[dict[str, Any]]:
    """The pages the document holds (an application of several pages: each), with their paper size."""
    pages = application_pages(form_id)
    return [{"index": p.index, "page": pages[min(p.index, len(pages) - 1)].page} for p in store.pages(doc_id)]


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def document(doc_id: int, request: Request, me: Reviewer, state: State) -> Response:
    try:
        state.store.document(doc_id)
    except KeyError:
        return not_found(request)
    state.store.open_review(doc_id, me.username)
    return doc_page(request, doc_id)


def edits_from(tpl: Template, form: dict[str, list[str]]) -> tuple[dict[str, Any], set[str]]:
    edits: dict[str, Any] = {}
    for spec in tpl.fields:
        key = f"f_{spec.name}"
        entry = spec.kind.entry(spec)
        if entry == "many":
            edits[spec.name] = form.get(key, [])
        elif entry == "flag":
            edits[spec.name] = bool(form.get(key))
        elif key in form:
            if spec.sensitive and form[key][0].startswith("****"):
                continue  # the masked display was not changed
            edits[spec.name] = form[key][0]
        elif entry == "one":
            edits[spec.name] = None
    unreadable = {spec.name for spec in tpl.fields if form.get(f"unreadable_{spec.name}")}
    return edits, unreadable


@router.post("/documents/{doc_id}/save")
async def save(
    doc_id: int, request: Request, me: Reviewer, form: CheckedForm, state: State, t: Tr
) -> Response:
    ctx, name = state.ctx, me.username
    doc = state.store.document(doc_id)
    if doc.status != DocStatus.REVIEW or doc.form_id is None:
        return doc_page(request, doc_id, error=t("forbidden"), status=409)
    tpl = application_template(doc.form_id)
    edits, unreadable = edits_from(tpl, form)
    try:
        revision = int((form.get("revision") or ["-1"])[0])
    except ValueError:
        revision = -1
    try:
        saved = save_edits(ctx, doc_id, edits, name, unreadable, revision=revision)
        if saved.errors:
            # Nothing approved; every other field was saved; the entries are shown as typed,
            # but a sensitive one (個人番号) shows its stored value masked, as always: left so, it
            # means "unchanged", so it must be the stored one, and the reason asks to type it again.
            typed = {k: str(edits[k])[:200] for k in saved.errors if not tpl.field(k).sensitive}
            return doc_page(request, doc_id, error=t("input_errors"), status=422, typed=typed)
        if form.get("action", [""])[0] == "approve":
            approve(ctx, doc_id, name)
            state.approved(doc_id)
            return RedirectResponse(f"/queue?done={doc_id}", status_code=303)
    except ReviewError as exc:
        status = 409 if isinstance(exc, EditConflict) else 422
        return doc_page(request, doc_id, error=exc.en if lang(request) == "en" else exc.ja, status=status)
    return doc_page(request, doc_id, message=t("saved"))


@router.post("/documents/{doc_id}/reject")
async def reject_doc(
    doc_id: int, request: Request, me: Reviewer, form: CheckedForm, state: State
) -> Response:
    reason = (form.get("reason") or [""])[0].strip() or "-"
    try:
        reject(state.ctx, doc_id, me.username, reason)
    except ReviewError as exc:
        return doc_page(request, doc_id, error=exc.en if lang(request) == "en" else exc.ja, status=409)
    return RedirectResponse("/queue", status_code=303)


@lru_cache(maxsize=8)
def _page_image(path: str, mtime: float) -> Any:
    """Decoded once per file and version (the modification time is part of the key): the crops of
    one document screen all come from the same page."""
    return cv2.imread(path, cv2.IMREAD_COLOR)


def load_page_image(state: ReviewState, doc_id: int, index: int = 0) -> tuple[Any, Path | None]:
    """Page ``index`` of the document (an application of several pages has one image a page)."""
    found = [p for p in state.store.pages(doc_id) if p.index == index]
    if not found or not Path(found[0].image_path).exists():
        return None, None
    p = Path(found[0].image_path)
    return _page_image(str(p), p.stat().st_mtime), p


@router.get("/documents/{doc_id}/page.jpg")
def page_image(doc_id: int, me: Reviewer, state: State, p: int = 0) -> Response:
    _, path = load_page_image(state, doc_id, p)
    if path is None:
        return Response(status_code=404)
    # A scan is personal data: nobody pulls it unseen.
    state.store.audit(me.username, "page.view", doc_id, detail=f"p.{p + 1}" if p else None)
    return FileResponse(path, media_type="image/jpeg")


@router.get("/documents/{doc_id}/attachments/{att_id}")
def attachment(doc_id: int, att_id: int, me: Reviewer, state: State) -> Response:
    """A file sent with an online application: always a download (never shown inline: it is the
    applicant's file, whatever it claims to be), and audited like a look at a scan."""
    found = [a for a in state.store.attachments(doc_id) if a.id == att_id]
    if not found or not Path(found[0].path).is_file():
        return Response(status_code=404)
    state.store.audit(me.username, "attachment.view", doc_id, detail=str(att_id))
    return FileResponse(
        found[0].path,
        media_type="application/octet-stream",
        filename=found[0].name,
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff"},
    )


@router.get("/documents/{doc_id}/crop/{field_name}.png")
def crop(doc_id: int, field_name: str, me: Reviewer, state: State) -> Response:
    doc = state.store.document(doc_id)
    if doc.form_id is None:
        return Response(status_code=404)
    try:
        spec = application_template(doc.form_id).field(field_name)
    except KeyError:
        return Response(status_code=404)
    img, _ = load_page_image(state, doc_id, field_pages(doc.form_id).get(spec.name, 0))
    if img is None:
        return Response(status_code=404)
    state.store.audit(me.username, "crop.view", doc_id, detail=spec.name)
    lay = layout_field(spec)
    b, k, m = lay.zone, PX_PER_MM, 2.0
    y0, y1 = max(int((b.y - m) * k), 0), int((b.y2 + m) * k)
    x0, x1 = max(int((b.x - m) * k), 0), int((b.x2 + m) * k)
    ok, buf = cv2.imencode(".png", img[y0:y1, x0:x1])
    return Response(buf.tobytes() if ok else b"", media_type="image/png")
