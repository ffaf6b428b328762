"""A page with several persons is several records: 資格取得届's insured persons, each keyed on its own.

The form prints four insured-person blocks (a template ``groups`` entry); its bot mapping says
``each: insured``. Each block somebody wrote in becomes one record in the target with its own reference
(``DJ########-1``, ``-2`` …), exactly once, and a blank block is neither a record nor a review item.
"""

from __future__ import annotations

import datetime as dt
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from core.errors import Transient
from formkit.model import Template
from formkit.registry import load_template
from records.db import alembic_config
from records.models import DocStatus, KeyStatus
from records.store import Store
from synth.samples import sample_values
from tests.legacy_rows import rows
from tests.test_keying_faults import approved_document

FORM = "hihokensha_shikaku_shutoku"


def _persons(n: int, seed: int = 7) -> dict[str, Any]:
    """The form's values as a reviewer approves them, with persons n+1..4 left blank."""
    tpl = load_template(FORM)
    values, _ = sample_values(tpl, random.Random(seed), dt.date(2026, 11, 20))
    (group,) = tpl.groups
    for i in range(n + 1, group.count + 1):
        for name in group.names(i).values():
            values[name] = False if tpl.field(name).type == "checkbox" else None
    return values


# --- the pure parts -------------------------------------------------------------------------------------


def test_each_written_block_is_a_record_under_block_1s_names() -> None:
    (group,) = load_template(FORM).groups
    values = _persons(2)
    records = group.records(values)
    assert [b for b, _ in records] == [1, 2]
    (_, first), (_, second) = records
    assert second["name"] == values["name_2"] and first["name"] == values["name"]
    assert second["office_name"] == first["office_name"] == values["office_name"]  # the employer: shared
    assert not any(k.endswith(("_2", "_3", "_4")) for k in second if k.split("_")[0] in group.fields)
    assert set(second) == set(first)
    # A count of 0 is written; an unticked box and an empty text are not.
    assert group.written({"dependents_3": 0}, 3) and not group.written({"card_needed_3": False}, 3)


def test_a_blank_block_asks_for_nothing_but_block_1_and_a_started_block_do() -> None:
    from validation.routing import check_values

    tpl = load_template(FORM)
    values = _persons(1)
    found = check_values(tpl, values, dt.date(2026, 11, 30))
    assert not any(
        r.code == "required" for n, rs in found.items() if n.endswith(("_2", "_3", "_4")) for r in rs
    )
    started = values | {"name_3": "佐藤　花子"}  # person 3 begun, not finished: the rest is asked for
    found = check_values(tpl, started, dt.date(2026, 11, 30))
    assert "required" in [r.code for r in found["birth_date_3"]]
    assert not any(r.code == "required" for r in found["birth_date_2"])
    empty = {k: None for k in values}
    assert "required" in [r.code for r in check_values(tpl, empty, dt.date(2026, 11, 30))["name"]]


def test_template_check_knows_a_group_keyed_block_by_block() -> None:
    from authoring.lint import lint_template

    tpl = load_template(FORM)
    assert [f.code for f in lint_template(tpl, others=[]) if f.is_error] == []
    data = tpl.model_dump()
    data["groups"] = [
        g | {"name": "person"} for g in data["groups"]
    ]  # the mapping's each: no longer names it
    renamed = Template.model_validate(data)
    codes = [(f.code, f.field) for f in lint_template(renamed, others=[]) if f.is_error]
    assert ("mapping_unknown_group", "insured") in codes and ("group_not_keyed", "person") in codes


def test_references_stay_within_twelve_characters() -> None:
    from records.store import reference

    assert reference(1234) == "DJ00001234"
    assert [reference(1234, b) for b in (1, 9, 10, 30)] == [
        "DJ00001234-1",
        "DJ00001234-9",
        "DJ00001234-A",
        "DJ00001234-U",
    ]
    assert len({reference(5, b) for b in range(0, 31)}) == 31


# --- the ledger on both databases ------------------------------------------------------------------------


def test_an_older_ledger_migrates_and_then_takes_one_job_per_block(db_url: str) -> None:
    """A database keyed by an older version (one job per document) upgrades in place: its jobs become
    block 0 with their references, and a document may then have one job per block, never two."""
    from alembic import command

    from records.db import dispose_all

    cfg = alembic_config(db_url)
    command.upgrade(cfg, "0007")
    eng = create_engine(db_url)
    try:
        with eng.begin() as c:
            c.execute(
                text(
                    "insert into document (sha256, original_name, archive_path, size_bytes, source_page,"
                    " received_at, updated_at, status, revision) values ('a', 'a.png', '/a', 1, 0,"
                    " '2026-11-30 00:00:00', '2026-11-30 00:00:00', 'keyed', 1)"
                )
            )
            c.execute(
                text(
                    "insert into keyingjob (document_id, target, reference, status, attempts, receipt,"
                    " created_at) values (1, 'demo_legacy', 'DJ00000001', 'done', 1, 'R-1',"
                    " '2026-11-30 00:00:00')"
                )
            )
    finally:
        eng.dispose()
    dispose_all()
    store = Store(db_url).init()
    (old,) = store.keying_jobs(1)
    assert (old.block, old.reference, old.receipt) == (0, "DJ00000001", "R-1")
    jobs = [store.keying_job(1, "demo_legacy", b) for b in (1, 2, 2)]
    assert [j.reference for j in jobs] == ["DJ00000001-1", "DJ00000001-2", "DJ00000001-2"]
    assert len(store.keying_jobs(1)) == 3 and jobs[1].id == jobs[2].id


# --- in a real browser, into the demo legacy system ------------------------------------------------------


def _approved(store: Store, values: dict[str, Any]) -> int:
    return approved_document(store, FORM, values, "b1" * 32)


class FailsOnce:
    """The real bot, with the target down for one record: the second person's first attempt."""

    def __init__(self, bot: Any) -> None:
        self.bot, self.calls = bot, 0

    def key(self, form_id: str, record: dict, reference: str) -> Any:
        self.calls += 1
        if self.calls == 2:
            raise Transient("業務システムが応答しません", "the target system does not answer")
        return self.bot.key(form_id, record, reference)

    def restart(self) -> None:
        self.bot.restart()


@pytest.mark.slow
def test_two_persons_are_two_records_each_keyed_once(legacy, ctx, tmp_path: Path, monkeypatch) -> None:
    from bots.mapping import load_mapping
    from bots.runner import BotSession
    from pipeline.keying import key_document

    monkeypatch.setenv("DEJIRU_LEGACY_URL", legacy.url)
    values = _persons(2)
    doc_id = _approved(ctx.store, values)

    def key() -> list[str]:
        with BotSession(load_mapping("demo_legacy"), tmp_path / "evidence") as real:
            bot = FailsOnce(real)
            out = []
            for _ in range(3):  # as the flow's retries do
                try:
                    out.append(key_document(ctx, doc_id, bot))
                except Transient:
                    out.append("transient")
                    jobs = ctx.store.keying_jobs(doc_id)
                    # The first person is in and stays in; the second waits, the document approved.
                    assert [(j.block, j.status) for j in jobs] == [
                        (1, KeyStatus.DONE),
                        (2, KeyStatus.PENDING),
                    ]
                    assert ctx.store.document(doc_id).status == DocStatus.APPROVED
            return out

    # Its own thread, as in a keying worker (another test's browser may hold Playwright's sync API here).
    with ThreadPoolExecutor(1) as pool:
        outcomes = pool.submit(key).result(timeout=300)
    assert outcomes == ["transient", KeyStatus.DONE, KeyStatus.DONE]

    got = rows(legacy.db, "uketsuke")
    assert sorted((r["ref"], r["shimei"], r["kana"]) for r in got) == [
        (f"DJ{doc_id:08d}-1", values["name"], values["kana"]),
        (f"DJ{doc_id:08d}-2", values["name_2"], values["kana_2"]),
    ]
    for r, birth in zip(
        sorted(got, key=lambda r: r["ref"]), (values["birth_date"], values["birth_date_2"]), strict=True
    ):
        assert r["yoshiki"] == "被保険者資格取得届" and r["birth"] == birth.replace("-", "/")
        assert f"事業所:{values['office_name']}" in r["bikou"]
        assert (values["individual_number"] or "-") not in r["bikou"]  # the 個人番号 is never keyed
    assert ctx.store.document(doc_id).status == DocStatus.KEYED
    jobs = ctx.store.keying_jobs(doc_id)
    assert ctx.store.receipts()[doc_id] == "、".join(str(j.receipt) for j in jobs)
    details = [e.detail for e in ctx.store.audit_events(doc_id) if e.action == "keying.done"]
    assert sorted(d.split(" ")[1] for d in details) == ["[1]", "[2]"]


def test_a_document_with_every_block_blank_goes_to_a_person(ctx) -> None:
    from pipeline.keying import key_document

    values = {k: None for k in _persons(0)}
    doc_id = _approved(ctx.store, values)

    class NeverCalled:
        def key(self, *a: Any) -> Any:
            raise AssertionError("nothing to key")

        def restart(self) -> None:
            pass

    assert key_document(ctx, doc_id, NeverCalled()) == KeyStatus.FAILED
    doc = ctx.store.document(doc_id)
    assert doc.status == DocStatus.EXCEPTION and doc.error_code == "keying_nothing_to_key"
    assert "記入がなく" in (doc.error_ja or "")
