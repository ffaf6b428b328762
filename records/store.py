"""The store: every read and write the pipeline, the review UI and the bots make, in one place.

Called on its own, each method is one short transaction. A pipeline step that makes several writes
takes them as one unit of work instead (:meth:`Store.unit`): the store it yields runs every method in
the unit's one session and commits once at the end, so a crash, a kill or an error between two
writes stores none of them, and a restart finds the step either done or not begun, never half done.

Writes that could race (two workers, a crash and a restart) rely on unique constraints (document
sha256, one keying job per document and target) rather than on checks in Python, so a second
attempt finds the first one's row instead of making another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, delete, select, update

from records import channel_queries, health_queries
from records.db import migrate, session
from records.kpis import ChannelFact
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
    User,
    UserSession,
    now,
)

JST = ZoneInfo("Asia/Tokyo")


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


#: A block's mark in its reference: one character, so ``DJ00001234-2`` fits the 12 characters a
#: legacy system's reference field commonly takes, for up to 35 blocks.
BLOCK_MARKS = "123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def reference(doc_id: int, block: int = 0) -> str:
    """Our reference for a record, written into the target so search-before-create finds it: the
    document's number, and a mark for a block keyed as its own record."""
    return f"DJ{doc_id:08d}" if block == 0 else f"DJ{doc_id:08d}-{BLOCK_MARKS[block - 1]}"


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass(frozen=True)
class FieldInput:
    """A field as the pipeline hands it to the store (decoupled from the OCR package's types)."""

    name: str
    type: str
    value: Any
    raw: str
    confidence: float
    char_confidences: list[float]
    reasons: list[dict[str, str]]
    needs_review: bool
    box: list[float]
    page_index: int = 0


@dataclass(frozen=True)
class PageInput:
    index: int
    image_path: str
    rotation: int = 0
    print_match: float | None = None


def _add_reading(s: Session, doc_id: int, pages: Sequence[PageInput], fields: Sequence[FieldInput]) -> None:
    for p in pages:
        s.add(
            Page(
                document_id=doc_id,
                index=p.index,
                image_path=p.image_path,
                rotation=p.rotation,
                print_match=p.print_match,
            )
        )
    for f in fields:
        s.add(
            FieldValue(
                document_id=doc_id,
                page_index=f.page_index,
                name=f.name,
                type=f.type,
                value=dumps(f.value),
                ocr_value=dumps(f.value),
                raw=f.raw,
                confidence=f.confidence,
                char_confidences=dumps(f.char_confidences),
                reasons=dumps(f.reasons),
                ocr_reasons=dumps(f.reasons),
                needs_review=f.needs_review,
                box=dumps(f.box),
            )
        )


def _route(
    s: Session, doc: Document, status: DocStatus, straight_through: bool, first_reader: str | None
) -> None:
    """``first_reader``: with ``DOUBLE_CHECK`` or ``AUDIT``, who counts as the first of the two readings
    (the OCR, for a confident reading checked blind by a person)."""
    assert doc.id is not None
    doc.straight_through = straight_through
    doc.status = status
    doc.updated_at = now()
    doc.revision += 1
    s.add(doc)
    if status in (DocStatus.REVIEW, DocStatus.DOUBLE_CHECK, DocStatus.AUDIT):
        task = s.exec(select(ReviewTask).where(ReviewTask.document_id == doc.id)).first()
        task = task or ReviewTask(document_id=doc.id)
        if status in (DocStatus.DOUBLE_CHECK, DocStatus.AUDIT):
            task.first_reviewer, task.first_approved_at = first_reader, now()
        s.add(task)


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        #: Set on the store a unit of work yields: the unit's session, which every method then uses.
        self._unit: Session | None = None
        self._unit_over = False

    def init(self) -> Store:
        migrate(self.url)
        return self

    # --- units of work ---------------------------------------------------------------------------------

    @contextmanager
    def unit(self) -> Iterator[Store]:
        """One transaction for a whole step: ``with store.unit() as uow: uow.update_job(…); uow.set_status(…)``.

        Yields a store bound to one session. Its methods (every method of this class, same arguments)
        write into that session and flush instead of committing, so ids are assigned and constraints
        checked at once but nothing is visible to others, nor survives a crash, before the unit ends:
        it commits once when the block ends and rolls back if anything is raised, a kill being the
        same as a rollback. A unit opened on a store that is already bound joins that unit (the
        outermost one commits), so a step's helpers can take a unit of their own and still commit
        once when the step calls them inside its unit.

        On SQLite the unit takes the database's write lock when it begins (``BEGIN IMMEDIATE``) and
        waits for it like any writer (the busy timeout): a transaction that read first and wrote later
        could be refused outright when another writer got in between, which the busy timeout does not
        cure. So keep units short: database work only, never a bot or a page to read inside one.
        """
        if self._unit is not None:
            yield self
            return
        with session(self.url) as s:
            if self.url.startswith("sqlite"):
                s.connection().exec_driver_sql("BEGIN IMMEDIATE")
            bound = Store(self.url)
            bound._unit = s
            try:
                yield bound
                s.commit()
            except BaseException:
                s.rollback()
                raise
            finally:
                bound._unit, bound._unit_over = None, True

    @property
    def in_unit(self) -> bool:
        """Whether this store writes into a unit of work (and so does not commit by itself)."""
        return self._unit is not None

    @contextmanager
    def _session(self) -> Iterator[Session]:
        if self._unit is not None:
            yield self._unit
            return
        if self._unit_over:
            # A silent fresh session would commit by itself: a step's write outside its unit.
            raise RuntimeError("this store belonged to a unit of work that has ended")
        with session(self.url) as s:
            yield s

    def _commit(self, s: Session) -> None:
        """On its own, a method commits; in a unit it only flushes (the commit is the unit's)."""
        if self._unit is None:
            s.commit()
        else:
            s.flush()

    def _insert(self, s: Session, row: SQLModel) -> bool:
        """Add a row that a unique constraint may refuse (another worker, a retry after a crash):
        False if refused. In a unit the attempt is a savepoint, so a refusal undoes nothing else."""
        if self._unit is None:
            s.add(row)
            try:
                s.commit()
            except IntegrityError:
                s.rollback()
                return False
        else:
            try:
                with s.begin_nested():
                    s.add(row)
            except IntegrityError:
                return False
        s.refresh(row)
        return True

    # --- documents -------------------------------------------------------------------------------------

    def document_by_sha(self, sha256: str) -> Document | None:
        with self._session() as s:
            return s.exec(select(Document).where(Document.sha256 == sha256)).first()

    def add_document(
        self,
        sha256: str,
        name: str,
        archive_path: str,
        size: int,
        *,
        channel: str = "paper",
        external_id: str | None = None,
    ) -> tuple[Document, bool]:
        """The document for this content, and whether it was new (False: a duplicate)."""
        with self._session() as s:
            doc = Document(
                sha256=sha256,
                original_name=name,
                archive_path=archive_path,
                size_bytes=size,
                channel=channel,
                external_id=external_id,
            )
            if self._insert(s, doc):
                return doc, True
        existing = self.document_by_sha(sha256)
        assert existing is not None
        return existing, False

    def document(self, doc_id: int) -> Document:
        with self._session() as s:
            doc = s.get(Document, doc_id)
            if doc is None:
                raise KeyError(f"document {doc_id}")
            return doc

    def lock_document(self, doc_id: int) -> Document:
        """In a unit: the document as it is now, and no other unit changes it before this one ends
        (PostgreSQL: ``SELECT … FOR UPDATE``; SQLite: the unit holds the write lock already). A step
        that checks the state and then changes it (approve only from review) reads it with this, so
        two reviewers or two workers cannot both pass the check."""
        if self._unit is None:
            raise RuntimeError("lock_document needs a unit of work: a lock ends with its transaction")
        doc = self._unit.exec(
            select(Document)
            .where(Document.id == doc_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
        if doc is None:
            raise KeyError(f"document {doc_id}")
        return doc

    def set_status(self, doc_id: int, status: DocStatus, **values: Any) -> Document:
        with self._session() as s:
            doc = s.get(Document, doc_id)
            if doc is None:
                raise KeyError(f"document {doc_id}")
            doc.status = status
            for k, v in values.items():
                setattr(doc, k, v)
            doc.updated_at = now()
            doc.revision += 1
            s.add(doc)
            self._commit(s)
            s.refresh(doc)
            return doc

    def claim(self, doc_id: int, from_status: DocStatus, to_status: DocStatus) -> bool:
        """Move a document from one status to another only if nobody else did first (atomic)."""
        with self._session() as s:
            result = s.exec(
                update(Document)
                .where(col(Document.id) == doc_id, col(Document.status) == str(from_status))
                .values(status=str(to_status), updated_at=now(), revision=Document.revision + 1)
            )
            self._commit(s)
            return bool(result.rowcount)

    def release_stale_claims(self, older_than: dt.datetime) -> int:
        """Put documents claimed for reading (``READING``) before ``older_than`` back in line: their
        reader died (a worker killed, a PC switched off); a live reader's claim is younger than any
        read takes. Atomic, so two sweeps never both release one claim."""
        with self._session() as s:
            result = s.exec(
                update(Document)
                .where(col(Document.status) == str(DocStatus.READING), col(Document.updated_at) < older_than)
                .values(status=str(DocStatus.RECEIVED), updated_at=now(), revision=Document.revision + 1)
            )
            self._commit(s)
            return int(result.rowcount or 0)

    def bump_revision(self, doc_id: int, expected: int) -> bool:
        """Take the next revision of a document only if nobody saved since ``expected`` was read
        (two reviewers on one document: the later save is refused instead of silently undoing)."""
        with self._session() as s:
            result = s.exec(
                update(Document)
                .where(col(Document.id) == doc_id, col(Document.revision) == expected)
                .values(updated_at=now(), revision=Document.revision + 1)
            )
            self._commit(s)
            return bool(result.rowcount)

    def recover(self) -> dict[str, int]:
        """After a crash of the only worker: work marked as in progress is put back in line."""
        with self._session() as s:
            docs = s.exec(
                update(Document)
                .where(col(Document.status) == str(DocStatus.READING))
                .values(status=str(DocStatus.RECEIVED), updated_at=now())
            ).rowcount
            jobs = s.exec(
                update(KeyingJob)
                .where(col(KeyingJob.status) == str(KeyStatus.RUNNING))
                .values(status=str(KeyStatus.PENDING))
            ).rowcount
            self._commit(s)
            return {"documents": int(docs or 0), "keying_jobs": int(jobs or 0)}

    def documents(
        self,
        statuses: Iterable[DocStatus] | None = None,
        form_id: str | None = None,
        limit: int = 200,
        newest_first: bool = False,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        ids: Iterable[int] | None = None,
        parent: int | None = None,
        channel: str | None = None,
    ) -> list[Document]:
        with self._session() as s:
            q = select(Document)
            if channel is not None:
                q = q.where(Document.channel == channel)
            if parent is not None:
                q = q.where(col(Document.parent_id) == parent)
            if statuses is not None:
                q = q.where(col(Document.status).in_([str(x) for x in statuses]))
            if form_id:
                q = q.where(Document.form_id == form_id)
            if since is not None:
                q = q.where(col(Document.received_at) >= since)
            if until is not None:
                q = q.where(col(Document.received_at) < until)
            if ids is not None:
                q = q.where(col(Document.id).in_(list(ids)))
            order = col(Document.received_at).desc() if newest_first else col(Document.received_at)
            return list(s.exec(q.order_by(order, col(Document.id)).limit(limit)).all())

    def values_of(self, doc_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Per document, its values (as :meth:`values`), in one query for many documents."""
        ids = list(doc_ids)
        out: dict[int, dict[str, Any]] = {i: {} for i in ids}
        if not ids:
            return out
        with self._session() as s:
            rows = s.exec(
                select(FieldValue.document_id, FieldValue.name, FieldValue.value)
                .where(col(FieldValue.document_id).in_(ids))
                .order_by(col(FieldValue.id))
            ).all()
        for doc_id, name, value in rows:
            out[int(doc_id)][str(name)] = loads(value)
        return out

    def documents_with_reason(
        self,
        form_id: str,
        code: str,
        *,
        channel: str,
        since: dt.datetime,
        exclude: Iterable[DocStatus] = (),
        limit: int = 2000,
    ) -> list[int]:
        """Documents of a form and channel received since ``since``, not in a status of ``exclude``,
        with a field carrying the reason ``code`` (newest first): the few a check has to look at,
        without reading every document."""
        literal = code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._session() as s:
            rows = s.exec(
                select(Document.id)
                .where(
                    Document.form_id == form_id,
                    Document.channel == channel,
                    col(Document.received_at) >= since,
                    col(Document.status).not_in([str(x) for x in exclude]),
                    col(Document.id).in_(
                        select(FieldValue.document_id).where(
                            col(FieldValue.reasons).like(f'%"{literal}"%', escape="\\")
                        )
                    ),
                )
                .order_by(col(Document.received_at).desc(), col(Document.id))
                .limit(limit)
            ).all()
        return [int(i) for i in rows if i is not None]

    def fields_to_review(self, doc_ids: list[int]) -> dict[int, list[str]]:
        """Per document, the fields that need a person (one query for a whole queue page)."""
        out: dict[int, list[str]] = {i: [] for i in doc_ids}
        if not doc_ids:
            return out
        with self._session() as s:
            rows = s.exec(
                select(FieldValue.document_id, FieldValue.name)
                .where(col(FieldValue.document_id).in_(doc_ids), col(FieldValue.needs_review).is_(True))
                .order_by(col(FieldValue.id))
            ).all()
        for doc_id, name in rows:
            out[int(doc_id)].append(str(name))
        return out

    def find(self, query: str) -> list[Document]:
        """Documents by the target system's receipt number, our reference (DJ…), or a date (YYYY-MM-DD)."""
        q = query.strip()
        try:
            day = dt.date.fromisoformat(q)
        except ValueError:
            day = None
        if day is not None:
            start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            return self.documents(since=start, until=start + dt.timedelta(days=1), limit=1000)
        with self._session() as s:
            doc_ids = s.exec(
                select(KeyingJob.document_id).where((KeyingJob.receipt == q) | (KeyingJob.reference == q))
            ).all()
        ids = [int(i) for i in doc_ids]
        if q.isdigit():
            ids.append(int(q))
        return self.documents(ids=ids) if ids else []

    def kpis(self, days: int = 14) -> dict[str, Any]:
        """Figures for the DX office: volumes, straight-through, review time, corrections, keying."""
        since = now() - dt.timedelta(days=days)
        with self._session() as s:
            docs = s.exec(select(Document).where(col(Document.received_at) >= since)).all()
            tasks = s.exec(select(ReviewTask).where(col(ReviewTask.created_at) >= since)).all()
            corr = s.exec(
                select(FieldCorrection.name, func.count())
                .where(col(FieldCorrection.at) >= since)
                .group_by(FieldCorrection.name)
                .order_by(func.count().desc())
            ).all()
            jobs = s.exec(select(KeyingJob.status, func.count()).group_by(KeyingJob.status)).all()
        per_day: dict[str, int] = {}
        for d in docs:
            day = d.received_at.astimezone(JST).date().isoformat()
            per_day[day] = per_day.get(day, 0) + 1
        read = [d for d in docs if d.straight_through is not None]
        durations = sorted(
            (t.closed_at - t.opened_at).total_seconds()
            for t in tasks
            if t.closed_at is not None and t.opened_at is not None
        )
        return {
            "days": days,
            "per_day": dict(sorted(per_day.items())),
            "documents": len(docs),
            "straight_through": sum(1 for d in read if d.straight_through) / len(read) if read else None,
            "review_median_s": durations[len(durations) // 2] if durations else None,
            "reviews": len(durations),
            "corrections": [(str(n), int(c)) for n, c in corr],
            "keying": {str(k): int(v) for k, v in jobs},
        }

    def count_by_status(self) -> dict[str, int]:
        with self._session() as s:
            rows = s.exec(select(Document.status, func.count()).group_by(Document.status)).all()
            return {str(k): int(v) for k, v in rows}

    # --- readings --------------------------------------------------------------------------------------

    def save_reading(
        self,
        doc_id: int,
        *,
        form_id: str,
        form_version: int,
        engine: str,
        pages: Sequence[PageInput],
        fields: Sequence[FieldInput],
        status: DocStatus,
        straight_through: bool,
        first_reader: str | None = None,
    ) -> None:
        """Replace the document's pages and fields with a fresh reading (safe to repeat after a crash).

        ``first_reader``: with ``DOUBLE_CHECK`` or ``AUDIT``, who counts as the first of the two
        readings (the OCR, for a confident reading checked blind by a person)."""
        with self._session() as s:
            doc = s.get(Document, doc_id)
            if doc is None:
                raise KeyError(f"document {doc_id}")
            s.exec(delete(FieldValue).where(col(FieldValue.document_id) == doc_id))
            s.exec(delete(Page).where(col(Page.document_id) == doc_id))
            _add_reading(s, doc_id, pages, fields)
            doc.form_id, doc.form_version, doc.engine = form_id, form_version, engine
            doc.page_count = len(pages)
            doc.error_code = doc.error_ja = doc.error_en = None
            _route(s, doc, status, straight_through, first_reader)
            self._commit(s)

    def add_page_reading(self, doc_id: int, page: PageInput, fields: Sequence[FieldInput]) -> None:
        """A further page of an application read into the document of its first page: its image and
        fields (``page.index`` on each) added, or replaced if this page was added before (safe to
        repeat after a crash). The document's state is the caller's (:meth:`route`)."""
        with self._session() as s:
            doc = s.get(Document, doc_id)
            if doc is None:
                raise KeyError(f"document {doc_id}")
            s.exec(
                delete(FieldValue).where(
                    col(FieldValue.document_id) == doc_id, col(FieldValue.page_index) == page.index
                )
            )
            s.exec(delete(Page).where(col(Page.document_id) == doc_id, col(Page.index) == page.index))
            _add_reading(s, doc_id, [page], [replace(f, page_index=page.index) for f in fields])
            s.flush()
            doc.page_count = len(s.exec(select(Page.id).where(Page.document_id == doc_id)).all())
            doc.updated_at = now()
            doc.revision += 1
            s.add(doc)
            self._commit(s)

    def route(
        self,
        doc_id: int,
        status: DocStatus,
        straight_through: bool,
        first_reader: str | None = None,
        **values: Any,
    ) -> None:
        """Send a read document on (an application once its last page is in): its state, and the review
        task that ``REVIEW``, ``DOUBLE_CHECK`` and ``AUDIT`` wait in."""
        with self._session() as s:
            doc = s.get(Document, doc_id)
            if doc is None:
                raise KeyError(f"document {doc_id}")
            for k, v in values.items():
                setattr(doc, k, v)
            _route(s, doc, status, straight_through, first_reader)
            self._commit(s)

    def page_document(self, file_doc_id: int, source_page: int) -> Document | None:
        """The document of one page of a file: the file's own (page 1) or its further page's."""
        with self._session() as s:
            if source_page == 0:
                return s.get(Document, file_doc_id)
            return s.exec(
                select(Document).where(Document.parent_id == file_doc_id, Document.source_page == source_page)
            ).first()

    def pages(self, doc_id: int) -> list[Page]:
        with self._session() as s:
            return list(
                s.exec(select(Page).where(Page.document_id == doc_id).order_by(col(Page.index))).all()
            )

    def add_attachment(self, doc_id: int, name: str, path: str, sha256: str, size: int) -> Attachment:
        """A file kept with an online application (written to the archive before this row)."""
        with self._session() as s:
            att = Attachment(document_id=doc_id, name=name, path=path, sha256=sha256, size_bytes=size)
            s.add(att)
            self._commit(s)
            return att

    def attachments(self, doc_id: int) -> list[Attachment]:
        with self._session() as s:
            rows = s.exec(
                select(Attachment).where(Attachment.document_id == doc_id).order_by(col(Attachment.id))
            )
            return list(rows.all())

    def fields(self, doc_id: int) -> list[FieldValue]:
        with self._session() as s:
            return list(
                s.exec(
                    select(FieldValue).where(FieldValue.document_id == doc_id).order_by(col(FieldValue.id))
                ).all()
            )

    def values(self, doc_id: int) -> dict[str, Any]:
        return {f.name: loads(f.value) for f in self.fields(doc_id)}

    def correct_field(
        self,
        doc_id: int,
        name: str,
        new_value: Any,
        user: str,
        *,
        reasons: list[dict[str, str]],
        needs_review: bool,
        unreadable: bool = False,
        mask: bool = False,
    ) -> bool:
        """Store a reviewer's value; records the correction and an audit event if it changed."""
        with self._session() as s:
            f = s.exec(
                select(FieldValue).where(FieldValue.document_id == doc_id, FieldValue.name == name)
            ).first()
            if f is None:
                raise KeyError(f"field {name} of document {doc_id}")
            new = dumps(new_value)
            changed = new != f.value or unreadable != f.unreadable
            if changed:
                s.add(
                    FieldCorrection(
                        field_id=f.id or 0,
                        document_id=doc_id,
                        name=name,
                        old_value=f.value,
                        new_value=new,
                        user=user,
                    )
                )
                s.add(
                    AuditEvent(
                        user=user,
                        action="field.correct",
                        document_id=doc_id,
                        field=name,
                        old_value="***" if mask else f.value,
                        new_value="***" if mask else new,
                    )
                )
                f.value = new
                f.corrected = True
                f.unreadable = unreadable
            f.reasons = dumps(reasons)
            f.needs_review = needs_review
            s.add(f)
            self._commit(s)
            return changed

    def corrections(self, doc_id: int | None = None) -> list[FieldCorrection]:
        with self._session() as s:
            q = select(FieldCorrection)
            if doc_id is not None:
                q = q.where(FieldCorrection.document_id == doc_id)
            return list(s.exec(q.order_by(col(FieldCorrection.id))).all())

    # --- review ----------------------------------------------------------------------------------------

    def open_review(self, doc_id: int, user: str) -> None:
        with self._session() as s:
            task = s.exec(select(ReviewTask).where(ReviewTask.document_id == doc_id)).first()
            if task is not None and task.opened_at is None:
                task.opened_at = now()
                s.add(task)
            s.add(AuditEvent(user=user, action="document.view", document_id=doc_id))
            self._commit(s)

    def close_review(
        self, doc_id: int, user: str, outcome: str, status: DocStatus, detail: str | None = None
    ) -> Document:
        with self._session() as s:
            doc = s.get(Document, doc_id)
            if doc is None:
                raise KeyError(f"document {doc_id}")
            task = s.exec(select(ReviewTask).where(ReviewTask.document_id == doc_id)).first()
            if task is None:
                task = ReviewTask(document_id=doc_id, opened_at=now())
            task.closed_at, task.closed_by, task.outcome = now(), user, outcome
            s.add(task)
            doc.status = status
            doc.updated_at = now()
            doc.revision += 1
            if outcome == "approved":
                doc.approved_by, doc.approved_at = user, now()
            s.add(doc)
            s.add(AuditEvent(user=user, action=f"document.{outcome}", document_id=doc_id, detail=detail))
            self._commit(s)
            s.refresh(doc)
            return doc

    def first_approval(self, doc_id: int, user: str) -> None:
        """ダブルチェック: the first reviewer approved; the document waits for a second person."""
        with self._session() as s:
            doc = s.get(Document, doc_id)
            task = s.exec(select(ReviewTask).where(ReviewTask.document_id == doc_id)).first()
            if doc is None or task is None:
                raise KeyError(f"document {doc_id}")
            task.first_reviewer, task.first_approved_at = user, now()
            doc.status, doc.updated_at, doc.revision = DocStatus.DOUBLE_CHECK, now(), doc.revision + 1
            s.add(task)
            s.add(doc)
            s.add(AuditEvent(user=user, action="document.first_approval", document_id=doc_id))
            self._commit(s)

    def review_task(self, doc_id: int) -> ReviewTask | None:
        with self._session() as s:
            return s.exec(select(ReviewTask).where(ReviewTask.document_id == doc_id)).first()

    def review_tasks(self) -> list[ReviewTask]:
        with self._session() as s:
            return list(s.exec(select(ReviewTask).order_by(col(ReviewTask.id))).all())

    # --- audit sampling (抜き取り検査) -------------------------------------------------------------------

    def add_audit_labels(self, doc_id: int, labels: Sequence[AuditLabel]) -> None:
        """The outcome of a document's blind check, one row per field (a repeated check replaces it)."""
        with self._session() as s:
            s.exec(delete(AuditLabel).where(col(AuditLabel.document_id) == doc_id))
            for label in labels:
                s.add(label)
            self._commit(s)

    def audit_labels(self, doc_id: int | None = None, since: dt.datetime | None = None) -> list[AuditLabel]:
        with self._session() as s:
            q = select(AuditLabel)
            if doc_id is not None:
                q = q.where(AuditLabel.document_id == doc_id)
            if since is not None:
                q = q.where(col(AuditLabel.at) >= since)
            return list(s.exec(q.order_by(col(AuditLabel.id))).all())

    def settle_audit_labels(self, doc_id: int, correct: dict[str, bool]) -> None:
        """Whether the OCR was right, for fields whose blind entry differed, once a review decided."""
        with self._session() as s:
            rows = s.exec(
                select(AuditLabel).where(
                    AuditLabel.document_id == doc_id, col(AuditLabel.field).in_(list(correct))
                )
            ).all()
            for row in rows:
                row.correct, row.settled = correct[row.field], True
                s.add(row)
            self._commit(s)

    def silent_errors(self, since: dt.datetime | None = None) -> dict[str, list[dict[str, Any]]]:
        """Counts behind the measured silent-error rate, per form, per field type and overall:
        documents and fields audited, and the fields the OCR got wrong that would have been keyed
        with nobody looking (``errors``); ``pending``: differences no review has decided yet (counted
        as errors meanwhile). Summed here rather than in SQL: a few thousand rows a year."""
        with self._session() as s:
            q = select(AuditLabel)
            if since is not None:
                q = q.where(col(AuditLabel.at) >= since)
            rows = s.exec(q).all()
        groups: dict[str, dict[str | None, dict[str, Any]]] = {"form": {}, "type": {}, "all": {}}
        for row in rows:
            for kind, key in (("form", row.form_id), ("type", row.type), ("all", None)):
                g = groups[kind].setdefault(key, {"docs": set(), "fields": 0, "errors": 0, "pending": 0})
                g["docs"].add(row.document_id)
                g["fields"] += 1
                g["errors"] += int(not row.correct and row.unchecked)
                g["pending"] += int(not row.settled)
        return {
            kind: [
                {
                    "key": key,
                    "documents": len(g["docs"]),
                    "fields": g["fields"],
                    "errors": g["errors"],
                    "pending": g["pending"],
                }
                for key, g in sorted(found.items(), key=lambda kv: str(kv[0]))
            ]
            for kind, found in groups.items()
        }

    def accepted_fields_by_type(self) -> dict[str, int]:
        """Per field type, how many fields of all documents read the reader was sure of (no reason to
        doubt them as read): the population that audit labels stand for in calibration."""
        with self._session() as s:
            rows = s.exec(
                select(FieldValue.type, func.count())
                .where(col(FieldValue.ocr_reasons) == "[]")
                .where(col(FieldValue.document_id).not_in(channel_queries.demo_ids()))  # made up
                .group_by(FieldValue.type)
            ).all()
        return {str(t): int(n) for t, n in rows}

    # --- keying ----------------------------------------------------------------------------------------

    def keying_job(self, doc_id: int, target: str, block: int = 0) -> KeyingJob:
        """The one ledger row for this document, target and record (made on first call)."""
        where = (KeyingJob.document_id == doc_id, KeyingJob.target == target, KeyingJob.block == block)
        with self._session() as s:
            job = s.exec(select(KeyingJob).where(*where)).first()
            if job is not None:
                return job
            job = KeyingJob(
                document_id=doc_id, target=target, block=block, reference=reference(doc_id, block)
            )
            if self._insert(s, job):
                return job
        with self._session() as s:
            found = s.exec(select(KeyingJob).where(*where)).one()
            return found

    def receipts(self) -> dict[int, str]:
        """Each keyed document's receipt numbers as staff see them: one per record, in block order."""
        out: dict[int, list[str]] = {}
        with self._session() as s:
            jobs = s.exec(
                select(KeyingJob)
                .where(col(KeyingJob.receipt).is_not(None))
                .order_by(col(KeyingJob.document_id), col(KeyingJob.block))
            ).all()
            for j in jobs:
                out.setdefault(j.document_id, []).append(str(j.receipt))
        return {doc: "、".join(r) for doc, r in out.items()}

    def keying_jobs(
        self, doc_id: int | None = None, statuses: Iterable[KeyStatus] | None = None
    ) -> list[KeyingJob]:
        with self._session() as s:
            q = select(KeyingJob)
            if doc_id is not None:
                q = q.where(KeyingJob.document_id == doc_id)
            if statuses is not None:
                q = q.where(col(KeyingJob.status).in_([str(x) for x in statuses]))
            return list(s.exec(q.order_by(col(KeyingJob.id))).all())

    def keying_waits(self) -> dict[str, tuple[dt.datetime, str | None]]:
        """Target systems records are waiting for: since when (the earliest record still waiting that
        first found it unreachable) and the last error met."""
        with self._session() as s:
            jobs = s.exec(
                select(KeyingJob)
                .where(col(KeyingJob.waiting_since).is_not(None), KeyingJob.status == KeyStatus.PENDING)
                .order_by(col(KeyingJob.waiting_since))
            ).all()
            out: dict[str, tuple[dt.datetime, str | None]] = {}
            for j in jobs:
                assert j.waiting_since is not None
                since = j.waiting_since if j.waiting_since.tzinfo else j.waiting_since.replace(tzinfo=dt.UTC)
                out.setdefault(j.target, (since, j.last_error))
            return out

    def update_job(self, job_id: int, **values: Any) -> KeyingJob:
        with self._session() as s:
            job = s.get(KeyingJob, job_id)
            if job is None:
                raise KeyError(f"keying job {job_id}")
            for k, v in values.items():
                setattr(job, k, v)
            s.add(job)
            self._commit(s)
            s.refresh(job)
            return job

    # --- exceptions ------------------------------------------------------------------------------------

    def add_exception(
        self,
        *,
        code: str,
        ja: str,
        en: str,
        detail: str | None = None,
        document_id: int | None = None,
        evidence: dict[str, str] | None = None,
        source_name: str | None = None,
    ) -> ExceptionItem:
        with self._session() as s:
            item = ExceptionItem(
                document_id=document_id,
                code=code,
                message_ja=ja,
                message_en=en,
                detail=detail,
                evidence=dumps(evidence or {}),
                source_name=source_name,
            )
            s.add(item)
            self._commit(s)
            s.refresh(item)
            return item

    def exceptions(self, open_only: bool = True, document_id: int | None = None) -> list[ExceptionItem]:
        with self._session() as s:
            q = select(ExceptionItem)
            if open_only:
                q = q.where(col(ExceptionItem.resolved_at).is_(None))
            if document_id is not None:
                q = q.where(ExceptionItem.document_id == document_id)
            return list(s.exec(q.order_by(col(ExceptionItem.created_at))).all())

    def exception(self, item_id: int) -> ExceptionItem | None:
        with self._session() as s:
            return s.get(ExceptionItem, item_id)

    def resolve_exception(self, item_id: int, user: str) -> None:
        with self._session() as s:
            item = s.get(ExceptionItem, item_id)
            if item is None:
                raise KeyError(f"exception {item_id}")
            item.resolved_at, item.resolved_by = now(), user
            s.add(item)
            s.add(
                AuditEvent(
                    user=user, action="exception.resolve", document_id=item.document_id, detail=str(item_id)
                )
            )
            self._commit(s)

    # --- 書かない窓口: counter visits and their printed slips ---------------------------------------------

    def open_visit(self, staff: str, id_document: str, id_number_masked: str) -> CounterVisit:
        """A visitor at the counter, with the one identity check every procedure of the visit relies
        on, made by ``staff`` now. The number must come masked: the store never sees it whole."""
        with self._session() as s:
            visit = CounterVisit(
                staff=staff, id_document=id_document, id_number_masked=id_number_masked, checked_by=staff
            )
            s.add(visit)
            self._commit(s)
            s.refresh(visit)
            return visit

    def counter_visit(self, visit_id: int) -> CounterVisit:
        with self._session() as s:
            visit = s.get(CounterVisit, visit_id)
            if visit is None:
                raise KeyError(f"counter visit {visit_id}")
            return visit

    def add_counter_slip(
        self,
        visit_id: int,
        nonce: str,
        form_id: str,
        form_version: int,
        issued_by: str,
        staff_seconds: float | None = None,
    ) -> CounterSlip:
        """A procedure printed for the visit; its ``nonce`` (random, in the signed QR) is unique, so a
        nonce drawn twice fails here instead of making two slips one scan could stand for."""
        with self._session() as s:
            slip = CounterSlip(
                visit_id=visit_id,
                nonce=nonce,
                form_id=form_id,
                form_version=form_version,
                issued_by=issued_by,
                staff_seconds=staff_seconds,
            )
            s.add(slip)
            self._commit(s)
            s.refresh(slip)
            return slip

    def counter_slips(self, visit_id: int) -> list[CounterSlip]:
        with self._session() as s:
            q = select(CounterSlip).where(CounterSlip.visit_id == visit_id)
            return list(s.exec(q.order_by(col(CounterSlip.id))).all())

    def counter_slip(self, nonce: str) -> CounterSlip | None:
        """The slip a scanned QR names, if this installation printed it."""
        with self._session() as s:
            return s.exec(select(CounterSlip).where(CounterSlip.nonce == nonce)).first()

    def intake_log(
        self, since: dt.datetime, until: dt.datetime, name: str = "", limit: int = 500
    ) -> tuple[list[Document], list[ExceptionItem]]:
        """What became of the files received in a period (受付状況): their documents (a further page of
        an application is its first page's), and the refusals of files that never became one, of a
        file that was a duplicate, and of an online export's rows. ``name``: part of the file name."""
        pattern = "%" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._session() as s:
            q = select(Document).where(
                col(Document.received_at) >= since,
                col(Document.received_at) < until,
                col(Document.status) != DocStatus.BOUND,
                ~col(Document.sha256).startswith("demo:"),
            )
            e = select(ExceptionItem).where(
                col(ExceptionItem.created_at) >= since,
                col(ExceptionItem.created_at) < until,
                col(ExceptionItem.source_name).is_not(None),
                col(ExceptionItem.document_id).is_(None)
                | col(ExceptionItem.code).in_(["duplicate", "online_row_refused"]),
            )
            if name:
                q = q.where(col(Document.original_name).like(pattern, escape="\\"))
                e = e.where(col(ExceptionItem.source_name).like(pattern, escape="\\"))
            docs = list(s.exec(q.order_by(col(Document.received_at).desc()).limit(limit)).all())
            items = list(s.exec(e.order_by(col(ExceptionItem.created_at).desc()).limit(limit)).all())
            return docs, items

    def bind_counter_slip(self, doc_id: int, nonce: str) -> bool:
        """The scanned slip's document: the document becomes a counter application and the slip points
        at it. False if the slip is another document's already (scanned twice); in a unit, with the
        document's reading, so a slip is never bound to a document that was not stored."""
        with self._session() as s:
            slip = s.exec(select(CounterSlip).where(CounterSlip.nonce == nonce).with_for_update()).first()
            doc = s.get(Document, doc_id)
            if slip is None or doc is None or slip.document_id not in (None, doc_id):
                return False
            slip.document_id = doc_id
            doc.channel, doc.external_id = "counter", f"slip {nonce}"
            s.add(slip)
            s.add(doc)
            self._commit(s)
            return True

    # --- audit and users -------------------------------------------------------------------------------

    def audit(
        self, user: str, action: str, document_id: int | None = None, detail: str | None = None
    ) -> None:
        with self._session() as s:
            s.add(AuditEvent(user=user, action=action, document_id=document_id, detail=detail))
            self._commit(s)

    def audit_events(self, document_id: int | None = None, limit: int = 500) -> list[AuditEvent]:
        with self._session() as s:
            q = select(AuditEvent)
            if document_id is not None:
                q = q.where(AuditEvent.document_id == document_id)
            return list(s.exec(q.order_by(col(AuditEvent.id).desc()).limit(limit)).all())

    def add_user(
        self,
        username: str,
        password_hash: str,
        role: str,
        display_name: str = "",
        *,
        must_change_password: bool = False,
    ) -> User:
        """Add an account, or reset an existing one (new password and role; its sessions end)."""
        with self._session() as s:
            existing = s.exec(select(User).where(User.username == username)).first()
            if existing is not None:
                existing.password_hash, existing.role = password_hash, role
                existing.display_name = display_name or existing.display_name
                existing.active = True
                user = existing
                s.exec(delete(UserSession).where(col(UserSession.username) == username))
            else:
                user = User(
                    username=username, password_hash=password_hash, role=role, display_name=display_name
                )
            user.must_change_password = must_change_password
            user.password_changed_at = now()
            s.add(user)
            self._commit(s)
            s.refresh(user)
            return user

    def set_password(self, username: str, password_hash: str, *, keep_session: str | None = None) -> None:
        """A new password chosen by its owner: every other session of the account ends."""
        with self._session() as s:
            user = s.exec(select(User).where(User.username == username)).one()
            user.password_hash, user.must_change_password, user.password_changed_at = (
                password_hash,
                False,
                now(),
            )
            s.add(user)
            q = delete(UserSession).where(col(UserSession.username) == username)
            if keep_session is not None:
                q = q.where(col(UserSession.id) != _token_id(keep_session))
            s.exec(q)
            self._commit(s)

    def set_active(self, username: str, active: bool) -> bool:
        """Enable or disable an account; disabling ends its sessions at once. False: no such user."""
        with self._session() as s:
            user = s.exec(select(User).where(User.username == username)).first()
            if user is None:
                return False
            user.active = active
            s.add(user)
            if not active:
                s.exec(delete(UserSession).where(col(UserSession.username) == username))
            self._commit(s)
            return True

    def start_session(self, username: str, lifetime: dt.timedelta, client: str | None = None) -> str:
        """A new login; returns the token for the cookie (the store keeps only its hash)."""
        token = secrets.token_urlsafe(32)
        with self._session() as s:
            s.exec(delete(UserSession).where(col(UserSession.expires_at) < now()))  # housekeeping
            s.add(
                UserSession(
                    id=_token_id(token), username=username, expires_at=now() + lifetime, client=client
                )
            )
            self._commit(s)
        return token

    def session_user(self, token: str, idle: dt.timedelta) -> User | None:
        """The active account behind a session token, or None (unknown, ended, expired, idle too long,
        account disabled). Touches the session at most once a minute."""
        at = now()
        with self._session() as s:
            row = s.get(UserSession, _token_id(token))
            if row is None:
                return None
            if row.expires_at <= at or row.last_seen_at + idle <= at:
                s.delete(row)
                self._commit(s)
                return None
            user = s.exec(select(User).where(User.username == row.username)).first()
            if user is None or not user.active:
                s.delete(row)
                self._commit(s)
                return None
            if at - row.last_seen_at > dt.timedelta(seconds=60):
                row.last_seen_at = at
                s.add(row)
                self._commit(s)
            return user

    def end_session(self, token: str) -> None:
        with self._session() as s:
            s.exec(delete(UserSession).where(col(UserSession.id) == _token_id(token)))
            self._commit(s)

    def sessions(self, username: str) -> list[UserSession]:
        with self._session() as s:
            return list(s.exec(select(UserSession).where(UserSession.username == username)).all())

    def user(self, username: str, *, include_disabled: bool = False) -> User | None:
        with self._session() as s:
            q = select(User).where(User.username == username)
            if not include_disabled:
                q = q.where(col(User.active).is_(True))
            return s.exec(q).first()

    def users(self) -> list[User]:
        with self._session() as s:
            return list(s.exec(select(User).order_by(col(User.username))).all())

    # --- channels: the plan's KPIs and the demo history (records/kpis.py, records/demo.py) -------------

    def channel_facts(self, since: dt.datetime) -> list[ChannelFact]:
        """One fact per application received since ``since``: its channel, when it came and was keyed,
        what it saved and cost (``records.channel_queries.channel_facts``; figures: ``records.kpis``)."""
        with self._session() as s:
            return channel_queries.channel_facts(s, since)

    def add_rows(self, rows: Sequence[SQLModel]) -> None:
        """Insert prepared rows as they are, their own times included (the demo history's past); their
        ids are set on return. In a unit: flushed with the unit; alone: committed."""
        with self._session() as s:
            for row in rows:
                s.add(row)
            self._commit(s)  # ids are set by the flush; sessions keep values after a commit

    def demo_documents(self, status: DocStatus | None = None) -> int:
        """How many demo documents the store holds (in ``status``): the KPI page's banner, ``dejiru
        run``'s stop after so many keyed (demo documents are not this run's)."""
        with self._session() as s:
            return channel_queries.demo_document_count(s, status)

    def remove_demo_history(self) -> dict[str, int]:
        """Delete the demo documents and every row that hangs off them, nothing else, in one
        transaction; rows deleted per table."""
        with self._session() as s:
            counts = channel_queries.remove_demo(s)
            self._commit(s)
            return counts

    # --- health: dejiru status, the review server's /readyz and /metrics (records/health_queries.py) --

    def ping(self) -> None:
        """Raise :class:`core.errors.DatabaseUnavailable` unless the database answers a read of a
        real table (``/readyz``)."""
        with health_queries.answering(), self._session() as s:
            health_queries.ping(s)

    def health_facts(self, since: dt.datetime) -> health_queries.HealthFacts:
        """Counts per state, the queues' oldest, keying per target, exceptions (open, and created
        since ``since``), reads: aggregates only, in one read transaction; raises
        :class:`core.errors.DatabaseUnavailable` when the database does not answer."""
        with health_queries.answering(), self._session() as s:
            return health_queries.facts(s, since)
