"""A dropped file's whole way in: intake → read → validate → route (review or straight to keying).

``process-file``'s ``path`` comes from whoever can reach the Prefect API, so the flow checks it is an
entry inside the configured inbox before any task runs (intake checks again itself): a path outside
fails the run with :class:`OutsideInbox` and nothing is touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task

from core.errors import OutsideInbox
from flows.events import announce_approved
from flows.runs import note_run
from flows.runtime import context
from intake.inbox import check_in_inbox
from pipeline.intake import intake_file, sweep
from pipeline.keying import targets_of
from pipeline.reading import read_document, unread_pages
from records.models import Channel, DocStatus


def _worth_retrying(_task: Any, _run: Any, state: Any) -> bool:
    """A full disk or a share that went away may heal; a refused path will not."""
    return not isinstance(getattr(state, "data", None), OutsideInbox)


@task(name="intake", retries=3, retry_delay_seconds=[2, 10, 30], retry_condition_fn=_worth_retrying)
def intake_task(path: str) -> tuple[str, int | None]:
    result = intake_file(Path(path), context())
    for doc_id in result.approved:  # an online export's applications that went straight through
        targets: list[str | None] = [*targets_of(context(), doc_id)] or [None]
        for target in targets:
            announce_approved(doc_id, target)
    return result.outcome, result.document_id


@task(name="read", retries=2, retry_delay_seconds=[5, 30])
def read_task(document_id: int) -> str:
    ctx = context()
    status = str(read_document(document_id, ctx))
    if status == DocStatus.APPROVED:  # straight through: key it now, not at the next scheduled run
        targets: list[str | None] = [*targets_of(ctx, document_id)] or [None]
        for target in targets:
            announce_approved(document_id, target)
    return status


def read_with_pages(document_id: int) -> list[str]:
    """Read a document, then the further pages its file turned out to hold (each its own document),
    so a multi-page file is read whole by the run that took it, on one PC and on many."""
    statuses = [read_task(document_id)]
    statuses += [read_task(page) for page in unread_pages(context(), document_id)]
    return statuses


@flow(name="process-document", log_prints=False)
def process_document(document_id: int) -> str:
    """Read, check and route one recorded document (also used to resume after a crash)."""
    note_run(document_id, "process-document")
    statuses = read_with_pages(document_id)
    get_run_logger().info("document %s → %s", document_id, ", ".join(statuses))
    return statuses[0]


@flow(name="process-file", log_prints=False)
def process_file(path: str) -> dict:
    """Take one complete file from the inbox and carry it as far as the machine can."""
    check_in_inbox(Path(path), context().settings.inbox)  # OutsideInbox: this run fails, nothing touched
    outcome, doc_id = intake_task(path)
    note_run(doc_id, "process-file")
    # An online export's applications are routed at intake (no scan, nothing to read).
    scanned = doc_id is not None and context().store.document(doc_id).channel != Channel.ONLINE
    statuses = read_with_pages(doc_id) if outcome == "accepted" and doc_id is not None and scanned else []
    status = statuses[0] if statuses else None
    get_run_logger().info(
        "file %s: %s, document %s → %s", Path(path).name, outcome, doc_id, ", ".join(statuses) or "-"
    )
    return {"outcome": outcome, "document_id": doc_id, "status": status, "pages": len(statuses)}


@flow(name="sweep", log_prints=False)
def sweep_documents(lease_minutes: int | None = None) -> list[int]:
    """Hand every document nobody is reading to ``process-document``, on whichever worker is free:
    further pages of multi-page files, and documents a dead worker had claimed more than
    ``lease_minutes`` ago (default: the ``DEJIRU_READ_LEASE_MINUTES`` setting). Scheduled in prefect.yaml;
    without deployments (one PC) it reads them here."""
    import datetime as dt

    from prefect.deployments import run_deployment

    from core import clock

    ctx = context()
    if lease_minutes is None:
        minutes = ctx.settings.read_lease_minutes  # the installation's own, trusted
    else:  # a parameter from anyone who reaches the API: never short enough to steal a live claim
        minutes = min(max(int(lease_minutes), 5), 24 * 60)
    waiting = sweep(ctx, clock.now(), dt.timedelta(minutes=minutes))
    for doc_id in waiting:
        try:
            run_deployment("process-document/process-document", parameters={"document_id": doc_id}, timeout=0)
        except Exception:  # no deployment (one PC, tests): read it in this run
            read_with_pages(doc_id)
    if waiting:
        get_run_logger().info("sweep: %d document(s) handed to readers", len(waiting))
    return waiting
