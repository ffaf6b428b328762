"""Applications made through the store's own methods, with the times a KPI test needs (received,
reviewed, keyed, a counter slip's printing), and what each should count for."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from core import clock
from records.db import session
from records.kpis import JST, REVIEW_CAP_S
from records.models import CounterSlip, CounterVisit, DocStatus, KeyStatus, ReviewTask
from records.store import FieldInput, PageInput, Store

FORM = "juminhyo_request"


def moment(days_back: int, hour: float) -> dt.datetime:
    day = clock.today() - dt.timedelta(days=days_back)
    return (dt.datetime.combine(day, dt.time(), tzinfo=JST) + dt.timedelta(hours=hour)).astimezone(dt.UTC)


VALUES: list[tuple[str, str, Any]] = [
    ("name", "name", "佐藤　花子"),
    ("kana", "kana", "サトウ　ハナコ"),
    ("postal_code", "postal", "187-0034"),
    ("address", "address", "東京都小平市栄町3-16"),
    ("copies", "count", 2),
    ("purpose", "checkboxes", ["work", "other"]),
    ("birth_date", "date", "1983-04-20"),
    ("signature", "signature", True),
]


@dataclasses.dataclass
class Made:
    doc_id: int
    channel: str
    received: dt.datetime
    keyed_at: dt.datetime | None = None
    review_s: float = 0.0
    counter_s: float = 0.0
    straight: bool | None = None
    fields: list[tuple[str, Any]] = dataclasses.field(default_factory=list)


def application(
    store: Store,
    name: str,
    channel: str,
    received: dt.datetime,
    *,
    straight: bool,
    keyed_after: dt.timedelta | None = None,
    review: tuple[dt.timedelta, dt.timedelta] | None = None,
    staff_seconds: float | None = None,
    targets: tuple[str, ...] = ("demo_legacy",),
) -> Made:
    """An application through the store's own methods, with the times a test needs."""
    doc, _ = store.add_document(f"{name:0<64}"[:64], name, "/dev/null", 1, channel=channel)
    assert doc.id is not None
    fields = [FieldInput(n, t, v, str(v), 0.97, [0.97], [], False, [0, 0, 1, 1]) for n, t, v in VALUES]
    status = DocStatus.APPROVED if straight else DocStatus.REVIEW
    store.save_reading(
        doc.id,
        form_id=FORM,
        form_version=1,
        engine="test",
        pages=[PageInput(0, "/dev/null")],
        fields=fields,
        status=status,
        straight_through=straight,
    )
    store.set_status(doc.id, status, received_at=received)
    made = Made(doc.id, channel, received, straight=straight, fields=[(t, v) for _, t, v in VALUES])
    if review is not None:
        task = store.review_task(doc.id)
        assert task is not None
        opened, closed = received + review[0], received + review[1]
        with session(store.url) as s:
            row = s.get(ReviewTask, task.id)
            assert row is not None
            row.opened_at, row.closed_at, row.outcome = opened, closed, "approved"
            s.add(row)
            s.commit()
        made.review_s = min((closed - opened).total_seconds(), REVIEW_CAP_S)
    if staff_seconds is not None:
        visit = CounterVisit(staff="窓口", id_document="mynumber_card", checked_by="窓口")
        store.add_rows([visit])
        assert visit.id is not None
        slip = CounterSlip(
            visit_id=visit.id,
            nonce=f"{doc.id:032x}",
            form_id=FORM,
            form_version=1,
            issued_by="窓口",
            issued_at=received - dt.timedelta(minutes=30),
            staff_seconds=staff_seconds,
            document_id=doc.id,
        )
        store.add_rows([slip])
        made.received = slip.issued_at  # the city had it when the slip was printed
        made.counter_s = staff_seconds
    if keyed_after is not None:
        made.keyed_at = received + keyed_after
        for target in targets:
            job = store.keying_job(doc.id, target)
            assert job.id is not None
            store.update_job(job.id, status=KeyStatus.DONE, receipt="R1", finished_at=made.keyed_at)
        store.set_status(doc.id, DocStatus.KEYED)
    return made
