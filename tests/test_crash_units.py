"""kill -9 inside a step's unit of work, on SQLite and on a real PostgreSQL: nothing of the step is
stored, and running it again after the restart does it once, whole.

Each step runs in a child process (``python -m tests.test_crash_units <step> …``) with
``DEJIRU_FAILPOINT`` set to a point between two of its writes that older versions committed one by
one; the child is killed there with SIGKILL, as a power cut would. The parent then looks at the
database (the step left no trace), recovers as ``dejiru run`` does at start, runs the step again and
checks the outcome: one record in the target, one event, a state that agrees with the rows around it.
``tests/test_crash.py`` kills the whole ``dejiru run`` at the same points, on SQLite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from records.models import AuditLabel, DocStatus, KeyStatus
from records.store import FieldInput, Store

FORM = "juminhyo_request"  # keyed into demo_legacy; no double-entry field
GROUPED = "hihokensha_shikaku_shutoku"  # four insured persons, each keyed as its own record
TARGET = "demo_legacy"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def url(db_url: str) -> str:
    Store(db_url).init()
    return db_url


# --- the target system and the steps, as the child runs them -------------------------------------------


@dataclass(frozen=True)
class Keyed:
    receipt: str
    existed: bool


class FakeTarget:
    """A target system in a JSON file that survives the child's death: reference → receipt. Like the
    real bot, it searches for our reference before creating a record."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def key(self, form_id: str, record: dict, reference: str) -> Keyed:
        found = self.records()
        if reference in found:
            return Keyed(found[reference], existed=True)
        found[reference] = f"R-{len(found) + 1:04d}"
        self.path.write_text(json.dumps(found))
        return Keyed(found[reference], existed=False)

    def restart(self) -> None:
        pass


def run_step(ctx: Any, step: str, doc_id: int, arg: str) -> None:
    from pipeline.keying import key_document
    from pipeline.review import approve, audit_check

    if step == "key":
        key_document(ctx, doc_id, FakeTarget(Path(arg)))
    elif step == "approve":
        approve(ctx, doc_id, arg)
    elif step == "audit_check":
        audit_check(ctx, doc_id, "jiro", json.loads(arg))
    else:
        raise ValueError(step)


def killed_at(point: str, url: str, step: str, doc_id: int, arg: str) -> None:
    """Run the step in a child that is killed at ``point``; fail if it never got there."""
    env = os.environ | {"DEJIRU_FAILPOINT": point}
    cmd = [sys.executable, "-m", "tests.test_crash_units", step, url, str(doc_id), arg]
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, f"{point} was never reached:\n{done.stdout}{done.stderr[-3000:]}"


def context(url: str, settings: Any) -> Any:
    from pipeline.context import Context

    return Context(settings, Store(url))


# --- documents as the steps find them --------------------------------------------------------------


def fields(**values: Any) -> list[FieldInput]:
    return [
        FieldInput(name, "name" if name == "name" else "count", v, str(v), 0.99, [], [], False, [0, 0, 1, 1])
        for name, v in values.items()
    ]


def document(
    store: Store, status: DocStatus, first_reader: str | None = None, form: str = FORM, **values: Any
) -> int:
    doc, _ = store.add_document("c0" * 32, "scan.png", "/archive/scan.png", 1)
    assert doc.id is not None
    store.save_reading(
        doc.id,
        form_id=form,
        form_version=1,
        engine="test",
        pages=[],
        fields=fields(**(values or {"name": "山田太郎", "copies": 2})),
        status=status,
        straight_through=status != DocStatus.REVIEW,
        first_reader=first_reader,
    )
    return doc.id


def actions(store: Store, doc_id: int) -> list[str]:
    return sorted(e.action for e in store.audit_events(doc_id))


# --- the tests -------------------------------------------------------------------------------------


def test_killed_between_job_done_and_document_keyed(url: str, settings: Any, tmp_path: Path) -> None:
    """Keying's last writes: the job done with its receipt and the document KEYED. Committed one by one,
    a kill between them left the job done beside a document approved for ever."""
    store = Store(url)
    doc_id = document(store, DocStatus.APPROVED)
    target = FakeTarget(tmp_path / "target.json")

    killed_at("key.job_done", url, "key", doc_id, str(target.path))
    assert len(target.records()) == 1  # the target has the record: the kill came after it answered
    job = store.keying_jobs(doc_id)[0]
    assert (job.status, job.receipt, job.finished_at) == (KeyStatus.RUNNING, None, None)
    assert store.document(doc_id).status == DocStatus.APPROVED
    assert actions(store, doc_id) == []

    assert store.recover() == {"documents": 0, "keying_jobs": 1}  # as `dejiru run` starts
    from pipeline.keying import key_document

    assert key_document(context(url, settings), doc_id, target) == KeyStatus.DONE
    assert len(target.records()) == 1  # found by its reference, not keyed twice
    job = store.keying_jobs(doc_id)[0]
    assert job.status == KeyStatus.DONE and job.receipt == target.records()[job.reference]
    assert store.document(doc_id).status == DocStatus.KEYED
    events = store.audit_events(doc_id)
    assert [(e.action, e.detail) for e in events] == [("keying.done", f"{job.receipt} (found existing)")]


def test_a_job_done_beside_an_approved_document_is_marked_keyed(
    url: str, settings: Any, tmp_path: Path
) -> None:
    """What an older version's crash left behind is healed, not keyed again nor left approved."""
    from pipeline.keying import key_document

    store = Store(url)
    doc_id = document(store, DocStatus.APPROVED)
    job = store.keying_job(doc_id, TARGET)
    assert job.id is not None
    store.update_job(job.id, status=KeyStatus.DONE, receipt="R-0001")
    target = FakeTarget(tmp_path / "target.json")
    assert key_document(context(url, settings), doc_id, target) == KeyStatus.DONE
    assert store.document(doc_id).status == DocStatus.KEYED and target.records() == {}
    assert actions(store, doc_id) == ["keying.done"]


def test_killed_between_two_records_of_one_document(url: str, settings: Any, tmp_path: Path) -> None:
    """資格取得届 with two persons, keyed one record each (its mapping's ``each: insured``): killed after
    the first person's record is in and stored, a restart keys only the second, and the document is
    KEYED once both are."""
    from pipeline.keying import key_document

    store = Store(url)
    doc_id = document(
        store, DocStatus.APPROVED, form=GROUPED, name="山田太郎", name_2="佐藤花子", kana_2="サトウ"
    )
    target = FakeTarget(tmp_path / "target.json")

    killed_at("key.record_done", url, "key", doc_id, str(target.path))
    first, *_ = store.keying_jobs(doc_id)
    assert (first.block, first.status, first.reference) == (1, KeyStatus.DONE, f"DJ{doc_id:08d}-1")
    assert list(target.records()) == [first.reference]
    assert store.document(doc_id).status == DocStatus.APPROVED  # not keyed while a person is missing

    assert key_document(context(url, settings), doc_id, target) == KeyStatus.DONE
    jobs = store.keying_jobs(doc_id)
    assert [(j.block, j.status) for j in jobs] == [(1, KeyStatus.DONE), (2, KeyStatus.DONE)]
    assert sorted(target.records()) == [f"DJ{doc_id:08d}-1", f"DJ{doc_id:08d}-2"]  # each once
    assert store.document(doc_id).status == DocStatus.KEYED
    assert actions(store, doc_id) == ["keying.done", "keying.done"]


def test_killed_before_the_last_record_is_marked(url: str, settings: Any, tmp_path: Path) -> None:
    """The last person's record is in the target, its receipt and the document's KEYED are one unit:
    killed inside it, neither is stored; the restart finds the record by its reference."""
    from pipeline.keying import key_document

    store = Store(url)
    doc_id = document(store, DocStatus.APPROVED, form=GROUPED, name="山田太郎")  # one person only
    target = FakeTarget(tmp_path / "target.json")
    killed_at("key.job_done", url, "key", doc_id, str(target.path))
    (job,) = store.keying_jobs(doc_id)  # blocks 2-4 are blank: no record, no job
    assert (job.block, job.status) == (1, KeyStatus.RUNNING)
    assert store.document(doc_id).status == DocStatus.APPROVED

    store.recover()
    assert key_document(context(url, settings), doc_id, target) == KeyStatus.DONE
    assert list(target.records()) == [f"DJ{doc_id:08d}-1"]
    assert store.document(doc_id).status == DocStatus.KEYED


def test_killed_between_settling_labels_and_approving(url: str, settings: Any) -> None:
    """An approval after a blind check that differed: the labels settled and the document approved
    go together (settled labels beside a document still in review were counted, then settled again)."""
    from pipeline.review import approve

    store = Store(url)
    doc_id = document(store, DocStatus.REVIEW)
    store.add_audit_labels(
        doc_id,
        [
            AuditLabel(document_id=doc_id, form_id=FORM, field="copies", type="count", matched=False,
                       correct=False, settled=False, unchecked=True, user="jiro"),
        ],
    )  # fmt: skip

    killed_at("review.labels_settled", url, "approve", doc_id, "hanako")
    assert store.document(doc_id).status == DocStatus.REVIEW
    assert [(x.settled, x.correct) for x in store.audit_labels(doc_id)] == [(False, False)]
    assert actions(store, doc_id) == []

    approve(context(url, settings), doc_id, "hanako")
    doc = store.document(doc_id)
    assert doc.status == DocStatus.APPROVED and doc.approved_by == "hanako"
    assert [(x.settled, x.correct) for x in store.audit_labels(doc_id)] == [(True, True)]
    assert actions(store, doc_id) == ["audit.settled", "document.approved"]


@pytest.mark.parametrize(
    ("point", "entries", "outcome"),
    [
        ("review.labels_saved", {"name": "山田太郎", "copies": "2"}, DocStatus.APPROVED),
        ("review.labels_saved", {"name": "山田太郎", "copies": "3"}, DocStatus.REVIEW),
        ("review.fields_marked", {"name": "山田太郎", "copies": "3"}, DocStatus.REVIEW),
    ],
)
def test_killed_inside_a_blind_check(
    url: str, settings: Any, point: str, entries: dict[str, str], outcome: DocStatus
) -> None:
    """抜き取り検査: labels, the differing fields marked and the document's new state are one unit."""
    from pipeline.review import audit_check

    store = Store(url)
    doc_id = document(store, DocStatus.AUDIT, first_reader="OCR")

    killed_at(point, url, "audit_check", doc_id, json.dumps(entries))
    assert store.document(doc_id).status == DocStatus.AUDIT
    assert store.audit_labels(doc_id) == [] and store.corrections(doc_id) == []
    assert not any(f.needs_review for f in store.fields(doc_id))
    assert actions(store, doc_id) == []

    differing = audit_check(context(url, settings), doc_id, "jiro", entries)
    assert store.document(doc_id).status == outcome
    labels = {x.field: x.matched for x in store.audit_labels(doc_id)}
    assert labels == {"name": True, "copies": outcome == DocStatus.APPROVED}
    marked = [f.name for f in store.fields(doc_id) if f.needs_review]
    assert marked == differing == ([] if outcome == DocStatus.APPROVED else ["copies"])
    expected = "document.approved" if outcome == DocStatus.APPROVED else "document.audit_check_mismatch"
    assert actions(store, doc_id) == [expected]


if __name__ == "__main__":  # the child: one step, to be killed at DEJIRU_FAILPOINT
    from core.settings import settings as load

    step, db, doc, extra = sys.argv[1:5]
    run_step(context(db, load()), step, int(doc), extra)
    sys.exit(0)
