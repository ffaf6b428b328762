"""The audit log as supervisors read it: for one document, or everything. While a blind check is
open, the values typed or read for its blind fields stay hidden here too."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from formkit.registry import application_template
from records.models import DocStatus
from records.store import Store
from review.web import State, Supervisor, page

router = APIRouter()


def blind_values(store: Store, events: list[Any]) -> list[Any]:
    """Audit events as a supervisor may see them while a ダブルチェック is open: the values typed
    (or read) for the double-entry fields stay hidden until the second person has keyed them."""
    hidden: dict[int, set[str]] = {}
    for d in store.documents([DocStatus.DOUBLE_CHECK, DocStatus.AUDIT], limit=10_000):
        if d.id is not None and d.form_id:
            every = d.status == DocStatus.AUDIT  # 抜き取り検査: every field is keyed blind
            hidden[d.id] = {f.name for f in application_template(d.form_id).fields if every or f.double_entry}
    out = []
    for e in events:
        if e.document_id in hidden and e.field in hidden[e.document_id]:
            e = e.model_copy(update={"old_value": "***", "new_value": "***"})
        out.append(e)
    return out


@router.get("/documents/{doc_id}/audit", response_class=HTMLResponse)
def doc_audit(doc_id: int, request: Request, me: Supervisor, state: State) -> Response:
    state.store.document(doc_id)  # an unknown ID is a 404, not an empty log
    events = blind_values(state.store, state.store.audit_events(doc_id))
    return page(request, "audit.html", events=events, doc_id=doc_id)


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, me: Supervisor, state: State) -> Response:
    return page(
        request, "audit.html", events=blind_values(state.store, state.store.audit_events()), doc_id=None
    )
