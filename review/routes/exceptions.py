"""The exception queue: documents and files the pipeline could not finish (quarantined input, a
keying the legacy system refused), each with the evidence its reader may download."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from records.store import loads
from review.auth import allowed
from review.routes.evidence import EVIDENCE_ROLES
from review.web import CheckedForm, Reviewer, State, page

router = APIRouter()


@router.get("/exceptions", response_class=HTMLResponse)
def exceptions(request: Request, me: Reviewer, state: State) -> Response:
    visible = {k for k, roles in EVIDENCE_ROLES.items() if allowed(me.role, *roles)}
    items = [(e, [k for k in loads(e.evidence) or {} if k in visible]) for e in state.store.exceptions()]
    return page(request, "exceptions.html", items=items)


@router.post("/exceptions/{item_id}/resolve")
async def resolve(item_id: int, me: Reviewer, _csrf: CheckedForm, state: State) -> Response:
    state.store.resolve_exception(item_id, me.username)
    return RedirectResponse("/exceptions", status_code=303)
