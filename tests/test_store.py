"""The store on SQLite and on a real PostgreSQL: migrations, uniqueness, claims, history."""

from pathlib import Path

import pytest

from records.models import DocStatus, KeyStatus
from records.store import FieldInput, PageInput, Store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        from sqlalchemy import create_engine, text

        eng = create_engine(url)
        with eng.begin() as c:  # a clean schema for each test
            c.execute(text("drop schema public cascade; create schema public"))
        eng.dispose()
        from records.db import dispose_all

        dispose_all()
    return Store(url).init()


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
        store.save_reading(
            doc.id,
            form_id="juminhyo_request",
            form_version=1,
            engine="e",
            pages=[PageInput(0, "/p.jpg")],
            fields=reading(),
            status=DocStatus.REVIEW,
            straight_through=False,
        )
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
