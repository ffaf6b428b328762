"""Which flow runs worked on a document: each flow notes its run's ID in the document's audit trail
(``flow.run``), so the review UI can link a document to its runs in the Prefect UI (admins and
supervisors) without asking the Prefect API, which the review server does not call."""

from __future__ import annotations

import logging

from prefect.runtime import flow_run

from flows.runtime import context

log = logging.getLogger(__name__)
SYSTEM_USER = "dejiru"


def note_run(doc_id: int | None, step: str) -> None:
    """Never fails the flow: a run that cannot be noted is still a run."""
    if doc_id is None:
        return
    try:
        run_id = flow_run.get_id()
        if run_id:
            context().store.audit(SYSTEM_USER, "flow.run", doc_id, detail=f"{step} {run_id}")
    except Exception as exc:
        log.warning("flow run of document %s not noted: %s", doc_id, exc)
