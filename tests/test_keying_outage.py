"""A target system that is down (a night batch, a restart) holds its records back, visibly, for its
outage window; they are keyed when it is back, and only after the window go to a person.

The outage is real: ``dejiru key`` keys against a port where nothing listens, then against the demo
legacy system once it runs. The window's arithmetic is a pure function with an injected instant.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from bots.mapping import load_mapping
from core.errors import BusinessRuleRejected, TemplateError, Transient
from pipeline.context import Context
from pipeline.keying import target_waits, wait_or_give_up, waits
from records.models import DocStatus, KeyStatus
from records.store import Store
from tests.conftest import REPO, free_port, make_settings, run_key
from tests.legacy_rows import rows
from tests.test_keying_faults import approved

T0 = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)  # 12:00 in Japan
HOUR = dt.timedelta(hours=1)
DOWN = Transient("対象システムに接続できません", "cannot reach the target system", detail="refused")


def test_a_record_waits_from_its_first_failure_until_the_window_has_passed() -> None:
    assert waits(None, T0, HOUR)  # the first failure starts the wait
    assert waits(T0, T0 + HOUR - dt.timedelta(seconds=1), HOUR)
    assert not waits(T0, T0 + HOUR, HOUR)
    assert waits(T0.replace(tzinfo=None), T0 + dt.timedelta(minutes=5), HOUR)  # SQLite's naive UTC
    assert not waits(None, T0, dt.timedelta(0))  # a window of 0: a person at once, as before


def test_outage_waits_visibly_then_goes_to_a_person(tmp_path: Path) -> None:
    ctx = Context(make_settings(tmp_path / "home"), Store(f"sqlite:///{tmp_path / 'k.db'}").init())
    doc_id, _ = approved(ctx.store, 0)
    assert wait_or_give_up(ctx, doc_id, DOWN, HOUR, at=T0)
    job = ctx.store.keying_jobs(doc_id)[0]
    assert job.status == KeyStatus.PENDING and ctx.store.document(doc_id).status == DocStatus.APPROVED
    [shown] = target_waits(ctx.store)
    assert (
        shown["target"] == "demo_legacy"
        and shown["since"] == "11/30 12:00"
        and shown["until"] == "11/30 16:00"
    )
    # Still down half an hour later: still waiting, and the wait still counts from 12:00.
    assert wait_or_give_up(ctx, doc_id, DOWN, HOUR, at=T0 + HOUR / 2)
    assert target_waits(ctx.store)[0]["since"] == "11/30 12:00"
    assert [e.action for e in ctx.store.audit_events(doc_id)].count("keying.waiting") == 1
    # Past the window: the exception queue, with the reason the clerk can act on.
    assert not wait_or_give_up(ctx, doc_id, DOWN, HOUR, at=T0 + HOUR)
    assert ctx.store.document(doc_id).status == DocStatus.EXCEPTION
    assert [e.code for e in ctx.store.exceptions()] == ["keying_gave_up"]
    assert target_waits(ctx.store) == []


@pytest.mark.parametrize("minutes", ["0", "10080"])
def test_an_outage_window_from_none_to_a_week_is_accepted(minutes: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DEJIRU_MAPPINGS_DIR", str(_mapping_with(tmp_path, f"outage_minutes: {minutes}")))
    assert load_mapping("demo_legacy").outage_minutes == int(minutes)


@pytest.mark.parametrize("minutes", ["-1", "10081", "4h"])
def test_an_outage_window_out_of_range_is_refused_when_the_mapping_is_loaded(
    minutes: str, tmp_path: Path, monkeypatch
) -> None:
    """Below 0, above 7 days (10080 minutes) or not a whole number: a bad mapping, named as such."""
    monkeypatch.setenv("DEJIRU_MAPPINGS_DIR", str(_mapping_with(tmp_path, f"outage_minutes: {minutes}")))
    with pytest.raises(TemplateError, match="outage_minutes") as refused:
        load_mapping("demo_legacy")
    assert refused.value.en == "bot mapping demo_legacy.yaml is invalid"


def _mapping_with(tmp_path: Path, line: str) -> Path:
    """A folder holding the demo's mapping with ``line`` added."""
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    text = (REPO / "bots" / "mappings" / "demo_legacy.yaml").read_text(encoding="utf-8")
    (mappings / "demo_legacy.yaml").write_text(f"{text}\n{line}\n", encoding="utf-8")
    return mappings


def test_a_failure_that_is_no_outage_goes_to_a_person_at_once(tmp_path: Path) -> None:
    ctx = Context(make_settings(tmp_path / "home"), Store(f"sqlite:///{tmp_path / 'k.db'}").init())
    doc_id, _ = approved(ctx.store, 0)
    rejected = BusinessRuleRejected("請求通数は10通までです", "at most 10 copies")
    assert not wait_or_give_up(ctx, doc_id, rejected, HOUR, at=T0)
    assert ctx.store.document(doc_id).status == DocStatus.EXCEPTION


@pytest.mark.slow
def test_records_wait_through_an_outage_and_are_keyed_when_the_system_is_back(legacy, tmp_path: Path) -> None:
    home = tmp_path / "var"
    home.mkdir()
    store = Store(f"sqlite:///{home / 'dejiru.db'}").init()
    docs = [approved(store, i)[0] for i in (0, 1, 2)]
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING")}
    env |= {
        "DEJIRU_HOME": str(home),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "DEJIRU_KEYING_RETRY_DELAYS": "0.2,0.2",
        "DEJIRU_LEGACY_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens: the system is down
    }
    assert run_key(env) == {"waiting": 3}
    assert all(store.document(d).status == DocStatus.APPROVED for d in docs)
    first = store.keying_jobs(docs[0])[0]
    assert first.waiting_since is not None and first.last_error == "keying_transient"
    assert store.exceptions() == []
    assert [w["target"] for w in target_waits(store)] == ["demo_legacy"]

    env["DEJIRU_LEGACY_URL"] = legacy.url  # the system is back
    assert run_key(env) == {"done": 3}
    assert all(store.document(d).status == DocStatus.KEYED for d in docs)
    assert len(rows(legacy.db)) + len(rows(legacy.db, "inkan")) == 3
    assert target_waits(store) == [] and store.keying_jobs(docs[0])[0].waiting_since is None
    # The failed attempts' evidence went with the outage: nothing left that no record links to.
    evidence = home / "evidence"
    assert not evidence.exists() or not any(evidence.rglob("*.png"))


@pytest.mark.slow
def test_a_target_with_no_outage_window_sends_records_to_a_person(tmp_path: Path) -> None:
    home = tmp_path / "var"
    home.mkdir()
    store = Store(f"sqlite:///{home / 'dejiru.db'}").init()
    doc_id, _ = approved(store, 0)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    text = (REPO / "bots" / "mappings" / "demo_legacy.yaml").read_text(encoding="utf-8")
    (mappings / "demo_legacy.yaml").write_text(text + "\noutage_minutes: 0\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING")}
    env |= {
        "DEJIRU_HOME": str(home),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "DEJIRU_KEYING_RETRY_DELAYS": "0.2",
        "DEJIRU_MAPPINGS_DIR": str(mappings),
        "DEJIRU_LEGACY_URL": f"http://127.0.0.1:{free_port()}",
    }
    assert run_key(env) == {"gave_up": 1}
    assert store.document(doc_id).status == DocStatus.EXCEPTION
    [item] = store.exceptions()
    assert item.code == "keying_gave_up"
