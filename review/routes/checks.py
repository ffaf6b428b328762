"""Blind checks: the ダブルチェック (a second person keys the double-entry fields) and the 抜き取り検査
(a person keys every field of a document the reader was sure of). Both post the same blind form,
which shows nothing the OCR or the first reviewer entered."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from formkit.model import Template
from formkit.registry import application_template
from pipeline.review import BlindEntryErrors, ReviewError, audit_check, double_check
from records.models import DocStatus
from review.routes.documents import doc_page
from review.web import CheckedForm, Reviewer, State, Tr, lang

router = APIRouter()


def blind_entries(tpl: Template, form: dict[str, list[str]]) -> dict[str, Any]:
    """A blind form's entries per field, in the shape a review form's are (lists for boxes)."""
    entries: dict[str, Any] = {}
    for spec in tpl.fields:
        key = f"f_{spec.name}"
        entry = spec.kind.entry(spec)
        if entry == "many":
            entries[spec.name] = form.get(key, [])
        elif entry == "flag":
            entries[spec.name] = bool(form.get(key))
        elif form.get(key):
            entries[spec.name] = form[key][0]
    return entries


@router.post("/documents/{doc_id}/double-check")
async def double_check_doc(
    doc_id: int, request: Request, me: Reviewer, form: CheckedForm, state: State, t: Tr
) -> Response:
    doc = state.store.document(doc_id)
    audit = doc.status == DocStatus.AUDIT
    entries = blind_entries(application_template(doc.form_id), form) if doc.form_id else {}
    try:
        differing = (audit_check if audit else double_check)(state.ctx, doc_id, me.username, entries)
    except BlindEntryErrors as exc:
        assert doc.form_id is not None
        tpl = application_template(doc.form_id)
        # The person's own entries back (not a sensitive one: typed again rather than shown).
        typed = {
            k: v[:200] if isinstance(v, str) else v for k, v in entries.items() if not tpl.field(k).sensitive
        }
        return doc_page(
            request,
            doc_id,
            error=exc.en if lang(request) == "en" else exc.ja,
            status=422,
            typed=typed,
            field_errors=exc.errors,
        )
    except ReviewError as exc:
        return doc_page(request, doc_id, error=exc.en if lang(request) == "en" else exc.ja, status=409)
    if differing:
        return doc_page(
            request,
            doc_id,
            error=t("audit_mismatch" if audit else "double_mismatch") + "：" + "、".join(differing),
            status=422,
        )
    state.approved(doc_id)
    return RedirectResponse(f"/queue?done={doc_id}", status_code=303)
