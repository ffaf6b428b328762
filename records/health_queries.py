"""The database side of "is the pipeline healthy?": what ``Store.health_facts`` and ``Store.ping`` run.

``dejiru status`` and the review server's ``/metrics`` ask these questions of a store that may hold
years of documents, and a monitoring system asks them every few seconds; so each answer is an
aggregate (``count``, ``min``, ``max`` grouped by an indexed column) or a one-row lookup, never a
load of rows into Python. Only states, target names, error codes, counts, times and document ids
come out: no field value, no file name, no reviewer, no error text (an error's ``detail`` may quote
what a target system said about a resident).

Kept out of ``store.py`` (which many hands edit), as plain functions of a session; the ``Store``
methods give them one short read transaction and turn a database that does not answer into
:class:`core.errors.DatabaseUnavailable`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from core.errors import DatabaseUnavailable
from records.kpis import aware
from records.models import DocStatus, Document, ExceptionItem, KeyingJob, KeyStatus, ReviewTask

#: States in which a document waits for a person (the queues an operator watches), in the order shown.
PEOPLE_QUEUES = (DocStatus.REVIEW, DocStatus.DOUBLE_CHECK, DocStatus.AUDIT, DocStatus.EXCEPTION)
#: States in which it waits for the machine: a reader, the further pages, the keying bot.
MACHINE_QUEUES = (DocStatus.RECEIVED, DocStatus.READING, DocStatus.PAGES, DocStatus.APPROVED)
QUEUES = (*PEOPLE_QUEUES, *MACHINE_QUEUES)


@dataclass(frozen=True)
class Queue:
    """Documents in one waiting state: how many, and the one waiting longest (since when, which)."""

    state: str
    count: int
    oldest_since: dt.datetime | None = None
    oldest_id: int | None = None


@dataclass(frozen=True)
class TargetKeying:
    """One target system as its keying ledger tells it."""

    target: str
    #: Records per ledger status (``pending``, ``running``, ``done``, ``failed``).
    records: dict[str, int] = field(default_factory=dict)
    last_done_at: dt.datetime | None = None
    last_failed_at: dt.datetime | None = None
    #: Records that met the target not answering and wait for it (``KeyingJob.waiting_since``; a
    #: keying run stops at the first, so the approved documents behind it have not met it yet)...
    met_outage: int = 0
    #: ...since the earliest of them first met the outage, and the error code that record met last.
    waiting_since: dt.datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class ExceptionCount:
    code: str
    count: int
    oldest_at: dt.datetime | None = None


@dataclass(frozen=True)
class HealthFacts:
    """Everything the health views read from the store, read in one transaction."""

    by_state: dict[str, int]
    queues: list[Queue]
    keying: list[TargetKeying]
    #: Exception items nobody has resolved yet, per code.
    open_exceptions: list[ExceptionCount]
    #: Exception items created since the ``since`` asked for (resolved or not), per code.
    recent_exceptions: dict[str, int]
    #: Documents read and routed: straight through or to a person (``Document.straight_through``).
    reads: dict[str, int]
    #: Approved documents (to be keyed) per form: which target systems they go to is the form's.
    approved_by_form: dict[str, int] = field(default_factory=dict)


@contextmanager
def answering() -> Iterator[None]:
    """Turn a database that does not answer (SQLAlchemy's errors, or the SQLite file's folder gone)
    into :class:`DatabaseUnavailable`. The driver's message stays out of the error: it may quote the
    database URL, password included."""
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(
            "データベースが応答しません。データベースのサーバーと DEJIRU_DATABASE_URL を確かめてください",
            "the database does not answer: check the database server and DEJIRU_DATABASE_URL",
            detail=type(exc).__name__,
        ) from exc


def ping(s: Session) -> None:
    """One tiny read of a real table: an empty file SQLite would create in place of a lost database
    answers ``SELECT 1`` but has no tables, so it does not count as ready."""
    s.exec(select(Document.id).limit(1)).first()


def _since_columns() -> dict[DocStatus, Any]:
    """Since when a document in each waiting state has waited there. A reviewer's saves bump
    ``updated_at``, so the review queues use the review task's own stamps; the other states are
    entered by a change of state, which sets ``updated_at``, and nothing touches a document there
    (a claim that a reader holds counts from the claim: a stale one is a dead reader)."""
    updated = col(Document.updated_at)
    first = func.coalesce(col(ReviewTask.first_approved_at), updated)
    return {
        DocStatus.REVIEW: func.coalesce(col(ReviewTask.created_at), updated),
        DocStatus.DOUBLE_CHECK: first,
        DocStatus.AUDIT: first,
        DocStatus.EXCEPTION: updated,
        DocStatus.RECEIVED: col(Document.received_at),
        DocStatus.READING: updated,
        DocStatus.PAGES: updated,
        DocStatus.APPROVED: updated,
    }


def queues(s: Session, by_state: dict[str, int]) -> list[Queue]:
    """Each waiting state's count and its longest-waiting document: one indexed lookup per state
    that holds any (a handful of queues, whatever the size of the store)."""
    out = []
    for state, since in _since_columns().items():
        n = by_state.get(state.value, 0)
        if not n:
            out.append(Queue(state.value, 0))
            continue
        row = s.exec(
            select(Document.id, since)
            .select_from(Document)
            .outerjoin(ReviewTask, col(ReviewTask.document_id) == col(Document.id))
            .where(col(Document.status) == state.value)
            .order_by(since, col(Document.id))
            .limit(1)
        ).first()
        oldest = aware(row[1]) if row and row[1] is not None else None
        out.append(Queue(state.value, n, oldest, row[0] if row else None))
    return out


def keying(s: Session) -> list[TargetKeying]:
    """Per target: records per ledger status, the last record keyed and the last given up, and the
    outage records are waiting through (three grouped queries, then one row per target down)."""
    records: dict[str, dict[str, int]] = {}
    last: dict[tuple[str, str], dt.datetime | None] = {}
    for target, status, n, finished in s.exec(
        select(KeyingJob.target, KeyingJob.status, func.count(), func.max(KeyingJob.finished_at)).group_by(
            KeyingJob.target, KeyingJob.status
        )
    ).all():
        records.setdefault(str(target), {})[str(status)] = int(n)
        last[(str(target), str(status))] = aware(finished) if finished is not None else None
    waits = {
        str(target): (int(n), aware(since))
        for target, n, since in s.exec(
            select(KeyingJob.target, func.count(), func.min(KeyingJob.waiting_since))
            .where(
                col(KeyingJob.waiting_since).is_not(None), col(KeyingJob.status) == KeyStatus.PENDING.value
            )
            .group_by(KeyingJob.target)
        ).all()
        if since is not None
    }
    out = []
    for target in sorted(records.keys() | waits.keys()):
        n, since = waits.get(target, (0, None))
        error = None
        if since is not None:
            error = s.exec(
                select(KeyingJob.last_error)
                .where(
                    col(KeyingJob.target) == target,
                    col(KeyingJob.status) == KeyStatus.PENDING.value,
                    col(KeyingJob.waiting_since).is_not(None),
                )
                .order_by(col(KeyingJob.waiting_since), col(KeyingJob.id))
                .limit(1)
            ).first()
        out.append(
            TargetKeying(
                target=target,
                records=records.get(target, {}),
                last_done_at=last.get((target, KeyStatus.DONE.value)),
                last_failed_at=last.get((target, KeyStatus.FAILED.value)),
                met_outage=n,
                waiting_since=since,
                last_error=str(error) if error else None,
            )
        )
    return out


def open_exceptions(s: Session) -> list[ExceptionCount]:
    rows = s.exec(
        select(ExceptionItem.code, func.count(), func.min(ExceptionItem.created_at))
        .where(col(ExceptionItem.resolved_at).is_(None))
        .group_by(ExceptionItem.code)
        .order_by(func.count().desc(), ExceptionItem.code)
    ).all()
    return [ExceptionCount(str(c), int(n), aware(t) if t is not None else None) for c, n, t in rows]


def recent_exceptions(s: Session, since: dt.datetime) -> dict[str, int]:
    rows = s.exec(
        select(ExceptionItem.code, func.count())
        .where(col(ExceptionItem.created_at) >= since)
        .group_by(ExceptionItem.code)
        .order_by(ExceptionItem.code)
    ).all()
    return {str(c): int(n) for c, n in rows}


def reads(s: Session) -> dict[str, int]:
    rows = s.exec(
        select(Document.straight_through, func.count())
        .where(col(Document.straight_through).is_not(None))
        .group_by(col(Document.straight_through))
    ).all()
    out = {"straight_through": 0, "review": 0}
    for straight, n in rows:
        out["straight_through" if straight else "review"] += int(n)
    return out


def approved_by_form(s: Session) -> dict[str, int]:
    rows = s.exec(
        select(Document.form_id, func.count())
        .where(col(Document.status) == DocStatus.APPROVED.value)
        .group_by(col(Document.form_id))
    ).all()
    return {str(form): int(n) for form, n in rows if form}


def by_state(s: Session) -> dict[str, int]:
    rows = s.exec(select(Document.status, func.count()).group_by(Document.status)).all()
    return {str(k): int(v) for k, v in rows}


def facts(s: Session, since: dt.datetime) -> HealthFacts:
    states = by_state(s)
    return HealthFacts(
        by_state=states,
        queues=queues(s, states),
        keying=keying(s),
        open_exceptions=open_exceptions(s),
        recent_exceptions=recent_exceptions(s, since),
        reads=reads(s),
        approved_by_form=approved_by_form(s) if states.get(DocStatus.APPROVED.value) else {},
    )
