"""The database side of the channel KPIs and of the demo history: what ``Store`` runs for them.

Kept out of ``store.py`` (the pipeline's store, which many hands edit) as plain functions of a
session; the ``Store`` methods that call them give them their transaction (one short read, or one
unit for the removal).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from formkit.kinds import KINDS
from records.demo import DEMO_NONCE_PREFIX, DEMO_SHA_PREFIX, is_demo
from records.kpis import REVIEW_CAP_S, ChannelFact, aware
from records.models import (
    Attachment,
    AuditEvent,
    AuditLabel,
    CounterSlip,
    CounterVisit,
    DocStatus,
    Document,
    ExceptionItem,
    FieldCorrection,
    FieldValue,
    KeyingJob,
    KeyStatus,
    Page,
    ReviewTask,
)
from validation.effort import RECORD_S, field_seconds

#: Not applications: a further page read into its application, and a file nobody could use.
NOT_APPLICATIONS = (DocStatus.BOUND.value, DocStatus.QUARANTINED.value)
#: A counter slip is printed before its signed paper is scanned: look this far back for documents
#: whose slip may lie in the period although their scan does not.
SLIP_SLACK = dt.timedelta(days=14)


def _value(text: str | None) -> Any:
    """A stored value (JSON); text that is not JSON is hostile or old, and priced as the text it is."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _fields_seconds(rows: list[tuple[str, Any]]) -> float:
    return sum(field_seconds(KINDS.get(t), v) for t, v in rows)


def channel_facts(s: Session, since: dt.datetime) -> list[ChannelFact]:
    """One fact per application received since ``since`` (a counter slip: printed since), with what
    was keyed, reviewed and typed at the counter for it. Several queries over the same documents,
    joined here: a few thousand applications a month."""
    lower = since - SLIP_SLACK
    scope = select(Document.id).where(col(Document.received_at) >= lower)
    docs = s.exec(
        select(Document).where(
            col(Document.received_at) >= lower, col(Document.status).not_in(NOT_APPLICATIONS)
        )
    ).all()

    jobs: dict[int, list[tuple[str, dt.datetime | None]]] = defaultdict(list)
    for doc_id, target, finished in s.exec(
        select(KeyingJob.document_id, KeyingJob.target, KeyingJob.finished_at).where(
            col(KeyingJob.status) == KeyStatus.DONE.value, col(KeyingJob.document_id).in_(scope)
        )
    ).all():
        jobs[int(doc_id)].append((str(target), finished))

    review: dict[int, float] = {}
    for doc_id, opened, closed in s.exec(
        select(ReviewTask.document_id, ReviewTask.opened_at, ReviewTask.closed_at).where(
            col(ReviewTask.document_id).in_(scope)
        )
    ).all():
        if opened is not None and closed is not None:
            spent = (aware(closed) - aware(opened)).total_seconds()
            review[int(doc_id)] = min(max(spent, 0.0), REVIEW_CAP_S)

    slips: dict[int, tuple[float, dt.datetime]] = {}
    for slip_doc, staff, issued in s.exec(
        select(CounterSlip.document_id, CounterSlip.staff_seconds, CounterSlip.issued_at).where(
            col(CounterSlip.document_id).in_(scope)
        )
    ).all():
        if slip_doc is not None:
            slips[int(slip_doc)] = (max(float(staff or 0.0), 0.0), issued)

    keyed_ids = select(Document.id).where(
        col(Document.received_at) >= lower, col(Document.status) == DocStatus.KEYED.value
    )
    fields: dict[int, list[tuple[str, Any]]] = defaultdict(list)
    for doc_id, type_name, text in s.exec(
        select(FieldValue.document_id, FieldValue.type, FieldValue.value).where(
            col(FieldValue.document_id).in_(keyed_ids)
        )
    ).all():
        fields[int(doc_id)].append((str(type_name), _value(text)))

    out = []
    for doc in docs:
        doc_id = int(doc.id or 0)
        received = aware(doc.received_at)
        counter_s = 0.0
        if doc_id in slips:
            counter_s, issued = slips[doc_id]
            received = min(received, aware(issued))
        if received < since:
            continue
        done = jobs.get(doc_id, [])
        keyed = doc.status == DocStatus.KEYED.value and bool(done)
        stamps = [aware(at) for _, at in done if at is not None]
        typing = 0.0
        if keyed:
            targets = len({t for t, _ in done})
            typing = targets * _fields_seconds(fields.get(doc_id, [])) + len(done) * RECORD_S
        out.append(
            ChannelFact(
                channel=str(doc.channel),
                received_at=received,
                straight_through=doc.straight_through,
                keyed_at=max(stamps) if keyed and stamps else None,
                typing_s=typing,
                review_s=review.get(doc_id, 0.0),
                counter_s=counter_s,
                demo=is_demo(doc.sha256),
            )
        )
    return out


def demo_ids() -> Any:
    """A subquery: the ids of the demo documents (``records.demo``)."""
    return select(Document.id).where(col(Document.sha256).startswith(DEMO_SHA_PREFIX))


def demo_document_count(s: Session, status: str | None = None) -> int:
    q = select(func.count()).select_from(Document).where(col(Document.sha256).startswith(DEMO_SHA_PREFIX))
    if status is not None:
        q = q.where(col(Document.status) == str(status))
    return int(s.exec(q).one())


def remove_demo(s: Session) -> dict[str, int]:
    """Delete the demo documents and every row that hangs off them, and nothing else; counts per table.

    A counter visit goes only when every slip it had was a demo slip (a real visit never has one)."""
    ids = demo_ids()
    demo_slip = (col(CounterSlip.document_id).in_(ids)) | (
        col(CounterSlip.nonce).startswith(DEMO_NONCE_PREFIX)
    )
    visits = {int(v) for v in s.exec(select(CounterSlip.visit_id).where(demo_slip)).all()}
    counts: dict[str, int] = {}

    def drop(name: str, stmt: Any) -> None:
        counts[name] = int(s.exec(stmt).rowcount or 0)

    drop("counterslip", delete(CounterSlip).where(demo_slip))
    kept = {
        int(v)
        for v in s.exec(select(CounterSlip.visit_id).where(col(CounterSlip.visit_id).in_(visits))).all()
    }
    drop("countervisit", delete(CounterVisit).where(col(CounterVisit.id).in_(visits - kept)))
    for name, table in (
        ("fieldcorrection", FieldCorrection),
        ("fieldvalue", FieldValue),
        ("page", Page),
        ("reviewtask", ReviewTask),
        ("auditlabel", AuditLabel),
        ("keyingjob", KeyingJob),
        ("exceptionitem", ExceptionItem),
        ("auditevent", AuditEvent),
        ("attachment", Attachment),
    ):
        drop(name, delete(table).where(col(table.document_id).in_(ids)))
    drop("document", delete(Document).where(col(Document.id).in_(ids)))
    return counts
