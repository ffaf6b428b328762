"""Evidence downloads: the files behind an exception (a quarantined upload and its reason, a failed
keying's screenshot, legacy page and trace). Each kind has its own readers, every download is
audited, and a file is only ever served as an attachment (review/security.py says why)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from records.models import User
from records.store import loads
from review.auth import REVIEWERS, allowed
from review.security import EvidenceUnavailable, download
from review.web import Forbidden, SignedIn, State, not_found

router = APIRouter()

#: Who may download which evidence: the scan and the screenshot are what a reviewer works the
#: exception from; the legacy page's HTML and the Playwright trace (every keyed value) are for the
#: people who fix bots and templates.
EVIDENCE_ROLES: dict[str, tuple[str, ...]] = {
    "quarantine": REVIEWERS,
    "reason": REVIEWERS,
    "screenshot": REVIEWERS,
    "html": ("supervisor", "author"),
    "trace": ("supervisor", "author"),
}


def evidence_reader(kind: str, me: SignedIn) -> User:
    """The role depends on the kind in the path; an unknown kind needs only a session (and is a 404)."""
    if kind in EVIDENCE_ROLES and not allowed(me.role, *EVIDENCE_ROLES[kind]):
        raise Forbidden()
    return me


@router.get("/exceptions/{item_id}/evidence/{kind}")
def evidence(
    item_id: int, kind: str, request: Request, me: Annotated[User, Depends(evidence_reader)], state: State
) -> Response:
    if kind not in EVIDENCE_ROLES:
        return not_found(request)
    cfg, store = state.settings, state.store
    item = store.exception(item_id)
    paths = loads(item.evidence) if item else {}
    path = Path(paths.get(kind, "")) if paths and paths.get(kind) else None
    roots = [cfg.evidence.resolve(), cfg.quarantine.resolve(), cfg.archive.resolve()]
    if path is None or not any(path.resolve().is_relative_to(r) for r in roots):
        return not_found(request)
    try:
        response = download(path, f"evidence-{item_id}-{kind}", text_ok=kind == "reason", https=state.https)
    except EvidenceUnavailable:
        return not_found(request)
    store.audit(me.username, "evidence.view", item.document_id if item else None, detail=f"{item_id}:{kind}")
    return response
