"""The store on SQLite and on a real PostgreSQL: migrations, uniqueness, claims, history."""

from pathlib import Path

import pytest

from records.models import DocStatus, KeyStatus
from records.store import FieldInput, PageInput, Store


@pytest.fixture
def store(db_url: str) -> Store:
    return Store(db_url).init()


def reading(value: str = "山田　太郎") -> list[FieldInput]:
    return [
        FieldInput("name", "name", value, value, 0.97, [0.97], [], False, [1, 2, 3, 4]),
        FieldInput(
            "copies",
            "count",
            2,
            "2",
            0.5,
            [0.5],
            [{"code": "low_confidence", "ja": "低", "en": "low"}],
            True,
            [5, 6, 7, 8],
        ),
    ]


def saved(store: Store, doc_id: int, fields: list[FieldInput]) -> None:
    """A reading of a one-page 住民票 request saved for review."""
    store.save_reading(
        doc_id,
        form_id="juminhyo_request",
        form_version=1,
        engine="e",
        pages=[PageInput(0, "/p.jpg")],
        fields=fields,
        status=DocStatus.REVIEW,
        straight_through=False,
    )


def test_migrate_twice_is_harmless(store: Store) -> None:
    store.init()
    assert store.count_by_status() == {}


def test_one_document_per_content(store: Store) -> None:
    a, new_a = store.add_document("ab" * 32, "scan.pdf", "/archive/x", 10)
    b, new_b = store.add_document("ab" * 32, "scan (copy).pdf", "/archive/y", 10)
    assert new_a and not new_b and a.id == b.id


def test_claim_is_exclusive(store: Store) -> None:
    doc, _ = store.add_document("cd" * 32, "a.png", "/a", 1)
    assert store.claim(doc.id, DocStatus.RECEIVED, DocStatus.READING)
    assert not store.claim(doc.id, DocStatus.RECEIVED, DocStatus.READING)
    assert store.recover() == {"documents": 1, "keying_jobs": 0}
    assert store.document(doc.id).status == DocStatus.RECEIVED


def test_reading_saved_twice_replaces_not_duplicates(store: Store) -> None:
    doc, _ = store.add_document("ef" * 32, "a.png", "/a", 1)
    for _ in range(2):
        saved(store, doc.id, reading())
    assert len(store.fields(doc.id)) == 2 and len(store.pages(doc.id)) == 1
    assert len(store.review_tasks()) == 1
    assert store.values(doc.id) == {"name": "山田　太郎", "copies": 2}


def test_corrections_keep_history_and_audit(store: Store) -> None:
    doc, _ = store.add_document("12" * 32, "a.png", "/a", 1)
    store.save_reading(
        doc.id,
        form_id="f",
        form_version=1,
        engine="e",
        pages=[],
        fields=reading(),
        status=DocStatus.REVIEW,
        straight_through=False,
    )
    assert store.correct_field(doc.id, "copies", 3, "hanako", reasons=[], needs_review=False)
    assert not store.correct_field(doc.id, "copies", 3, "hanako", reasons=[], needs_review=False)
    store.correct_field(doc.id, "name", "山田　一郎", "hanako", reasons=[], needs_review=False, mask=True)
    hist = store.corrections(doc.id)
    assert [(c.name, c.old_value, c.new_value) for c in hist] == [
        ("copies", "2", "3"),
        ("name", '"山田　太郎"', '"山田　一郎"'),
    ]
    events = [(e.action, e.field, e.old_value) for e in store.audit_events(doc.id)]
    assert ("field.correct", "name", "***") in events  # sensitive values never enter the audit log
    f = {f.name: f for f in store.fields(doc.id)}
    assert f["copies"].corrected and f["copies"].ocr_value == "2" and f["copies"].value == "3"


def test_one_keying_job_per_document_and_target(store: Store) -> None:
    doc, _ = store.add_document("34" * 32, "a.png", "/a", 1)
    a = store.keying_job(doc.id, "demo_legacy")
    b = store.keying_job(doc.id, "demo_legacy")
    assert a.id == b.id and a.reference == f"DJ{doc.id:08d}"
    store.update_job(a.id, status=KeyStatus.RUNNING)
    assert store.recover()["keying_jobs"] == 1
    assert store.keying_jobs(doc.id)[0].status == KeyStatus.PENDING


def test_users_and_exceptions(store: Store) -> None:
    store.add_user("hanako", "hash", "reviewer")
    assert store.user("hanako").role == "reviewer"
    store.add_user("hanako", "hash2", "supervisor")
    assert [u.role for u in store.users()] == ["supervisor"]
    item = store.add_exception(code="unknown_form", ja="不明", en="unknown", evidence={"quarantine": "/q"})
    assert [e.id for e in store.exceptions()] == [item.id]
    store.resolve_exception(item.id, "hanako")
    assert store.exceptions() == []


def test_audit_labels_are_replaced_settled_and_counted(store: Store) -> None:
    """抜き取り検査 labels: a repeated check replaces a document's labels, a review settles the doubtful
    ones, and the silent-error counts take only wrong fields that would have gone unchecked."""
    from records.models import AuditLabel

    doc, _ = store.add_document("0a" * 32, "a.png", "/a", 1)
    store.save_reading(
        doc.id,
        form_id="juminhyo_request",
        form_version=1,
        engine="e",
        pages=[PageInput(0, "/p.jpg")],
        fields=reading(),
        status=DocStatus.AUDIT,
        straight_through=True,
        first_reader="OCR",
    )
    assert store.review_task(doc.id).first_reviewer == "OCR"

    def label(field: str, ftype: str, matched: bool, unchecked: bool = True) -> AuditLabel:
        return AuditLabel(document_id=doc.id, form_id="juminhyo_request", field=field, type=ftype,
                          matched=matched, correct=matched, settled=matched, unchecked=unchecked, user="hanako")  # fmt: skip

    for _ in range(2):
        store.add_audit_labels(doc.id, [label("name", "name", True), label("copies", "count", False)])
    assert len(store.audit_labels(doc.id)) == 2
    counts = store.silent_errors()
    assert counts["all"] == [{"key": None, "documents": 1, "fields": 2, "errors": 1, "pending": 1}]
    assert [r["key"] for r in counts["type"]] == ["count", "name"]
    store.settle_audit_labels(doc.id, {"copies": True})  # the review kept the reading: the entry slipped
    assert store.silent_errors()["all"][0] == {
        "key": None,
        "documents": 1,
        "fields": 2,
        "errors": 0,
        "pending": 0,
    }
    assert store.accepted_fields_by_type() == {"name": 1}  # copies was doubtful as read


# --- units of work ---------------------------------------------------------------------------------------


def test_a_unit_commits_its_writes_once_at_the_end(store: Store) -> None:
    """Inside a unit nothing is visible to others; when it ends, everything is."""
    doc, _ = store.add_document("u1" * 32, "a.png", "/a", 1)
    with store.unit() as uow:
        assert uow.in_unit and not store.in_unit
        job = uow.keying_job(doc.id, "demo_legacy")
        uow.update_job(job.id, status=KeyStatus.DONE, receipt="R-1")
        uow.set_status(doc.id, DocStatus.KEYED)
        uow.audit("bot:demo_legacy", "keying.done", doc.id)
        assert uow.document(doc.id).status == DocStatus.KEYED  # the unit sees its own writes
        assert store.document(doc.id).status == DocStatus.RECEIVED  # others do not, yet
        assert store.keying_jobs(doc.id) == []
    assert store.document(doc.id).status == DocStatus.KEYED
    assert [(j.status, j.receipt) for j in store.keying_jobs(doc.id)] == [(KeyStatus.DONE, "R-1")]
    assert [e.action for e in store.audit_events(doc.id)] == ["keying.done"]


def test_a_unit_that_raises_stores_nothing(store: Store) -> None:
    doc, _ = store.add_document("u2" * 32, "a.png", "/a", 1)
    with pytest.raises(RuntimeError, match="power cut"), store.unit() as uow:
        uow.set_status(doc.id, DocStatus.APPROVED)
        added, _ = uow.add_document("u3" * 32, "b.png", "/b", 1)
        uow.add_exception(code="x", ja="x", en="x", document_id=doc.id)
        assert added.id is not None  # flushed: ids are known inside the unit
        raise RuntimeError("power cut")
    assert store.document(doc.id).status == DocStatus.RECEIVED
    assert store.document_by_sha("u3" * 32) is None and store.exceptions() == []
    # the bound store is spent: a write through it would silently commit on its own
    with pytest.raises(RuntimeError, match="unit of work that has ended"):
        uow.audit("dejiru", "late")


def test_a_unit_inside_a_unit_joins_it(store: Store) -> None:
    doc, _ = store.add_document("u4" * 32, "a.png", "/a", 1)
    with pytest.raises(KeyError), store.unit() as outer:
        with outer.unit() as inner:
            assert inner is outer
            inner.set_status(doc.id, DocStatus.REVIEW)
        assert store.document(doc.id).status == DocStatus.RECEIVED  # the inner end committed nothing
        outer.document(10**6)  # KeyError: the whole unit is undone
    assert store.document(doc.id).status == DocStatus.RECEIVED


def test_a_refused_insert_in_a_unit_spoils_nothing_else(store: Store) -> None:
    """A duplicate document or keying job inside a unit (another worker got there first) is found, not
    made, and the unit's other writes still commit: the attempt was a savepoint."""
    doc, _ = store.add_document("u5" * 32, "a.png", "/a", 1)
    first = store.keying_job(doc.id, "demo_legacy")
    with store.unit() as uow:
        uow.set_status(doc.id, DocStatus.APPROVED)
        again, created = uow.add_document("u5" * 32, "copy.png", "/b", 1)
        assert not created and again.id == doc.id
        assert uow.keying_job(doc.id, "demo_legacy").id == first.id
        uow.audit("dejiru", "after the refusals", doc.id)
    assert store.document(doc.id).status == DocStatus.APPROVED
    assert [e.action for e in store.audit_events(doc.id)] == ["after the refusals"]
    assert len(store.documents()) == 1 and len(store.keying_jobs()) == 1


def test_two_units_on_one_document_wait_for_each_other(store: Store) -> None:
    """``lock_document``: a second unit that reads the document to check its state waits until the
    first commits and then sees its outcome (two reviewers approving at once: one wins)."""
    import threading
    import time

    doc, _ = store.add_document("u6" * 32, "a.png", "/a", 1)
    store.set_status(doc.id, DocStatus.REVIEW)
    seen: list[str] = []
    first_has_lock = threading.Event()

    def second() -> None:
        first_has_lock.wait(10)
        with store.unit() as uow:
            seen.append(str(uow.lock_document(doc.id).status))

    t = threading.Thread(target=second)
    t.start()
    with store.unit() as uow:
        assert uow.lock_document(doc.id).status == DocStatus.REVIEW
        first_has_lock.set()
        time.sleep(0.5)  # the second unit is waiting now
        uow.set_status(doc.id, DocStatus.APPROVED)
    t.join(20)
    assert seen == [DocStatus.APPROVED]
    with pytest.raises(RuntimeError, match="needs a unit"):
        store.lock_document(doc.id)


def test_standalone_methods_still_commit_each_write(store: Store) -> None:
    """Outside a unit every method is its own transaction, as the review UI and older callers expect."""
    doc, _ = store.add_document("u7" * 32, "a.png", "/a", 1)
    store.set_status(doc.id, DocStatus.REVIEW)
    with pytest.raises(KeyError):
        store.set_status(10**6, DocStatus.REVIEW)
    assert store.document(doc.id).status == DocStatus.REVIEW


def test_sweep_hands_out_what_nobody_reads_and_releases_dead_claims(store: Store, tmp_path: Path) -> None:
    """Many PCs: further pages wait RECEIVED and a killed worker's READING claim would wait for ever."""
    import datetime as dt

    from sqlmodel import col, update

    from pipeline.context import Context
    from pipeline.intake import sweep
    from records.models import Document
    from tests.conftest import make_settings

    ids = []
    for i in range(3):
        doc, _ = store.add_document(f"{i:064x}", f"scan-{i}.pdf", f"/archive/{i}.pdf", 1)
        assert doc.id is not None
        ids.append(doc.id)
    waiting, dead, live = ids
    assert store.claim(dead, DocStatus.RECEIVED, DocStatus.READING)
    assert store.claim(live, DocStatus.RECEIVED, DocStatus.READING)
    stamp = store.document(live).updated_at
    assert stamp is not None
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    with store.unit() as uow, uow._session() as s:  # the dead worker claimed its document an hour before
        s.exec(
            update(Document).where(col(Document.id) == dead).values(updated_at=stamp - dt.timedelta(hours=1))
        )
    ctx = Context(make_settings(tmp_path / "home"), store)
    lease = dt.timedelta(minutes=15)

    # Within the lease of both claims only the RECEIVED document is handed out.
    assert sweep(ctx, stamp - dt.timedelta(minutes=50), lease) == [waiting]
    assert store.document(dead).status == DocStatus.READING
    # Past the dead claim's lease, within the live one's: the dead claim is released, the live one stands.
    assert sorted(sweep(ctx, stamp + dt.timedelta(minutes=5), lease)) == [waiting, dead]
    assert store.document(dead).status == DocStatus.RECEIVED
    assert store.document(live).status == DocStatus.READING


def test_every_page_of_a_long_file_gets_its_document(store: Store) -> None:
    """PostgreSQL enforces column lengths (SQLite does not): page 50's key is 68 characters long."""
    parent, _ = store.add_document("f" * 64, "scan.pdf", "/archive/scan.pdf", 1)
    children = [
        store.add_document(f"{'f' * 64}#p{n}", "scan.pdf", "/archive/scan.pdf", 1)[0] for n in (2, 50)
    ]
    assert len({parent.id, *(c.id for c in children)}) == 3


def test_migrations_make_the_tables_the_models_declare(store: Store) -> None:
    """A column added to a model without its migration (or the reverse) fails here, on both databases."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    import records.models  # noqa: F401  (the tables)

    eng = create_engine(store.url)
    try:
        with eng.connect() as c:
            diff = compare_metadata(MigrationContext.configure(c), SQLModel.metadata)
    finally:
        eng.dispose()
    assert diff == []


def test_documents_by_a_reason_and_values_in_one_query(store: Store) -> None:
    # What the counter's twin check asks: slips read as paper because their QR could not be read.
    import datetime as dt

    unread = [{"code": "seal_unreadable", "ja": "QR", "en": "QR"}]
    lookalike = [{"code": "sealXunreadable", "ja": "x", "en": "x"}]  # "_" is a character, not a wildcard
    ids = []
    for i, reasons in enumerate([unread, lookalike, []]):
        doc, _ = store.add_document(f"{i:02x}" * 32, f"{i}.png", "/a", 1)
        fields = reading(f"山田　{i}")
        fields[0] = FieldInput("name", "name", f"山田　{i}", "", 0.5, [0.5], reasons, True, [1, 2, 3, 4])
        saved(store, doc.id, fields)
        ids.append(doc.id)
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    found = store.documents_with_reason("juminhyo_request", "seal_unreadable", channel="paper", since=since)
    assert found == [ids[0]]
    assert (
        store.documents_with_reason("juminhyo_request", "seal_unreadable", channel="counter", since=since)
        == []
    )
    assert (
        store.documents_with_reason(
            "juminhyo_request", "seal_unreadable", channel="paper", since=since, exclude=[DocStatus.REVIEW]
        )
        == []
    )
    assert store.values_of(ids[:2]) == {
        ids[0]: {"name": "山田　0", "copies": 2},
        ids[1]: {"name": "山田　1", "copies": 2},
    }
    assert store.values_of([]) == {}
