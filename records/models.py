"""The tables. State lives here, so every pipeline step can be re-run after a crash.

Values are stored as JSON text so one column holds a string, a number, a list of ticked options or
a boolean, exactly as the reader produced them. Schema changes go through Alembic
(``records/migrations``); never edit a table here without a migration.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, Column, String, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DocStatus(StrEnum):
    RECEIVED = "received"  # archived, waiting to be read
    READING = "reading"
    REVIEW = "review"  # a person must look at some fields
    DOUBLE_CHECK = "double_check"  # approved once; a second person keys the double-entry fields blind
    AUDIT = "audit_check"  # 抜き取り検査: would have gone straight through; a person keys every field blind
    APPROVED = "approved"  # ready to key
    KEYED = "keyed"  # in the target system, receipt stored
    EXCEPTION = "exception"  # waiting for a person in the exception queue
    PAGES = "pages"  # the first page of an application is read; its further pages are still to come
    BOUND = "bound"  # a further page of an application, read into the document of its first page
    QUARANTINED = "quarantined"  # unusable file, reason written beside it
    REJECTED = "rejected"  # a reviewer turned it away


class Channel(StrEnum):
    """How an application reached the city: the back office is one flow whatever the channel."""

    PAPER = "paper"  # a scan dropped in the inbox
    COUNTER = (
        "counter"  # 書かない窓口: typed by counter staff, printed with a signed QR, signed, scanned back
    )
    ONLINE = "online"  # a row of an online application service's export


class Document(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    #: The file's SHA-256; a further page of a multi-page file: ``<sha256>#p<n>`` (pipeline.reading).
    sha256: str = Field(index=True, unique=True, max_length=80)
    original_name: str
    archive_path: str
    size_bytes: int
    #: A multi-page scan becomes one document per form page: children point at the file's document.
    parent_id: int | None = Field(default=None, foreign_key="document.id", index=True)
    #: Which page of the archived file this document is (0-based).
    source_page: int = 0
    #: A further page of an application (``BOUND``): the document of its first page, which holds the
    #: page's fields and image since.
    application_id: int | None = Field(default=None, foreign_key="document.id", index=True)
    received_at: dt.datetime = Field(default_factory=now, index=True)
    updated_at: dt.datetime = Field(default_factory=now)
    status: str = Field(default=DocStatus.RECEIVED, index=True, max_length=20)
    form_id: str | None = Field(default=None, index=True)
    form_version: int | None = None
    page_count: int | None = None
    engine: str | None = None
    straight_through: bool | None = None
    error_code: str | None = None
    error_ja: str | None = None
    error_en: str | None = None
    approved_by: str | None = None
    approved_at: dt.datetime | None = None
    #: Bumped by every state change; writers compare it to avoid lost updates.
    revision: int = 0
    channel: str = Field(
        default=Channel.PAPER,
        sa_column=Column(String(10), nullable=False, server_default=Channel.PAPER.value, index=True),
    )
    #: Online: the service's application ID (``<service> <id>``); counter: the printed slip's number.
    external_id: str | None = Field(default=None, max_length=140)


class Page(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("document_id", "index"),)
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    index: int
    image_path: str
    rotation: int = 0
    print_match: float | None = None


class FieldValue(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("document_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    page_index: int = 0
    name: str
    type: str
    #: Current value (JSON); equals ``ocr_value`` until a reviewer corrects it.
    value: str = Field(sa_column=Column(Text, nullable=True))
    ocr_value: str = Field(sa_column=Column(Text, nullable=True))
    raw: str = ""
    confidence: float = 0.0
    char_confidences: str = "[]"
    reasons: str = "[]"
    #: The reasons as the reader gave them (``reasons`` changes with a reviewer's edits): calibration input.
    ocr_reasons: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    needs_review: bool = False
    box: str = "[]"
    corrected: bool = False
    #: Reviewer marked the field as impossible to read on the paper.
    unreadable: bool = False


class FieldCorrection(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    field_id: int = Field(foreign_key="fieldvalue.id", index=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    name: str
    old_value: str = Field(sa_column=Column(Text, nullable=True))
    new_value: str = Field(sa_column=Column(Text, nullable=True))
    user: str
    at: dt.datetime = Field(default_factory=now)


class ReviewTask(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True, unique=True)
    created_at: dt.datetime = Field(default_factory=now, index=True)
    opened_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    closed_by: str | None = None
    outcome: str | None = None  # approved | rejected
    #: ダブルチェック: who approved first; a different person must key the double-entry fields again.
    first_reviewer: str | None = None
    first_approved_at: dt.datetime | None = None


class AuditLabel(SQLModel, table=True):
    """One field of a document checked in a 抜き取り検査 (audit sampling): an unbiased label of the OCR.

    Unbiased because the document was drawn at random (``pipeline.audit.sampled``) among those the
    machine would have keyed without anyone looking, and a person keyed every field from the paper
    without seeing what was read. Reviewer corrections are biased (people only look where the machine
    doubted); these rows are what the silent-error rate on the KPI page and ``dejiru calibrate
    --from-store`` learn from. Values of sensitive fields (個人番号) are stored masked: a label needs
    to say whether the OCR was right, not what the number is.
    """

    __table_args__ = (UniqueConstraint("document_id", "field"),)
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    form_id: str = Field(index=True)
    form_version: int = 1
    field: str
    type: str = Field(index=True)
    #: What the OCR read and what the person keyed blind (JSON, like ``FieldValue.value``).
    ocr_value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    keyed_value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    confidence: float = 0.0
    #: The reasons as the reader gave them (none for a document that would have gone straight through).
    reasons: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    #: Had the document not been drawn, this field would have been keyed with nobody looking at it
    #: (False for a double-entry field, which a person keys blind anyway): a wrong reading here is a
    #: silent error.
    unchecked: bool = True
    #: The blind entry equalled the OCR's value.
    matched: bool
    #: The OCR read the paper right. True when the blind entry matched; after a difference, what the
    #: review that followed approved decides (False until then: counted as an error while in doubt).
    correct: bool
    settled: bool
    user: str
    at: dt.datetime = Field(default_factory=now, index=True)


class KeyStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # gave up after retries: an exception item exists


class KeyingJob(SQLModel, table=True):
    """The keying ledger: one row per document, target system and record, never two.

    A document is one record (``block`` 0), or, where its bot mapping keys a repeated block on its own
    (``each:``, 資格取得届's four insured persons), one record per filled block (``block`` 1..N)."""

    __table_args__ = (
        UniqueConstraint("document_id", "target", "block", name="uq_keyingjob_document_target_block"),
        UniqueConstraint("target", "reference", name="uq_keyingjob_target_reference"),
    )
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    target: str = Field(index=True)
    block: int = 0
    #: Our reference, written into the target so search-before-create finds it after a crash; unique
    #: within a target (a record keyed into two systems carries the same reference in each).
    reference: str
    status: str = Field(default=KeyStatus.PENDING, index=True, max_length=20)
    attempts: int = 0
    receipt: str | None = None
    last_error: str | None = None
    created_at: dt.datetime = Field(default_factory=now)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    #: When the target system was first found unreachable for this record (its outage, as this record
    #: saw it); None while it answers. The record waits, visibly, until the target's outage window ends.
    waiting_since: dt.datetime | None = None
    #: The evidence (JSON: screenshot, html, trace) of the last failed attempt, kept with the job that
    #: made it; pruned when the record is keyed.
    last_evidence: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ExceptionItem(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    document_id: int | None = Field(default=None, foreign_key="document.id", index=True)
    code: str = Field(index=True)
    message_ja: str
    message_en: str
    detail: str | None = None
    #: Where the clerk finds the file or the evidence (quarantine path, screenshot, trace).
    evidence: str = "{}"
    source_name: str | None = None
    created_at: dt.datetime = Field(default_factory=now, index=True)
    resolved_at: dt.datetime | None = None
    resolved_by: str | None = None


class AuditEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=now, index=True)
    user: str = Field(index=True)
    action: str = Field(index=True)
    document_id: int | None = Field(default=None, index=True)
    field: str | None = None
    old_value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    new_value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    detail: str | None = None


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True)
    password_hash: str
    role: str = "reviewer"
    display_name: str = ""
    #: A disabled account cannot log in and its sessions end at once (``dejiru user disable``).
    active: bool = True
    created_at: dt.datetime = Field(default_factory=now)
    #: A one-time password (the first admin's, a reset): the next login must choose a new one.
    must_change_password: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    password_changed_at: dt.datetime | None = None


class UserSession(SQLModel, table=True):
    """A login, held on the server so it can be ended: logout, a password change, a reset, a disabled
    account or a changed role end it on the next request, not when a cookie expires.

    The cookie carries a random token; only its SHA-256 is stored, so a copy of the database opens no
    session."""

    id: str = Field(primary_key=True, max_length=64)
    username: str = Field(index=True)
    created_at: dt.datetime = Field(default_factory=now)
    last_seen_at: dt.datetime = Field(default_factory=now)
    expires_at: dt.datetime = Field(index=True)
    client: str | None = None


class Attachment(SQLModel, table=True):
    """A file that came with an online application (a copy of an ID, a certificate): kept, shown to the
    reviewer, never read by the OCR."""

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    name: str = Field(max_length=255)
    path: str
    size_bytes: int
    sha256: str = Field(max_length=64)
    content_type: str = Field(default="application/octet-stream", max_length=100)
    added_at: dt.datetime = Field(default_factory=now)


class CounterVisit(SQLModel, table=True):
    """書かない窓口: one visitor at the counter, one identity check for every procedure of the visit."""

    id: int | None = Field(default=None, primary_key=True)
    started_at: dt.datetime = Field(default_factory=now, index=True)
    staff: str
    #: The identity document shown (``mynumber_card``, ``driver_license``...), its number masked.
    id_document: str = Field(max_length=40)
    id_number_masked: str = Field(default="", max_length=40)
    checked_by: str
    checked_at: dt.datetime = Field(default_factory=now)


class CounterSlip(SQLModel, table=True):
    """One procedure of a visit, printed pre-filled with a signed QR: its values come back, exactly,
    when the signed paper is scanned (once: a second scan of the same slip is a duplicate)."""

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="countervisit.id", index=True)
    #: Random, printed in the QR and signed with it: which slip a scan is.
    nonce: str = Field(unique=True, index=True, max_length=32)
    form_id: str
    form_version: int
    issued_by: str
    issued_at: dt.datetime = Field(default_factory=now, index=True)
    #: Staff seconds from opening the procedure to printing it (the KPI's counter time).
    staff_seconds: float | None = None
    #: The document its signed scan became (None until scanned back).
    document_id: int | None = Field(default=None, foreign_key="document.id", index=True)
