"""Prefect flow parameters: whoever may start a run chooses them, so each is bounded by the flow.

The ``sweep`` flow's ``lease_minutes`` decides when a reader's claim counts as dead and is handed to
another worker; a stranger's value must never release the claim of a reader still at work (two readers
on one document: duplicate records). ``key-approved``'s ``slot_wait_seconds`` decides how long a run
holds a worker waiting for the target's keying slot; a stranger's value must not park workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from records.models import DocStatus
from records.store import Store


@pytest.fixture
def live_claim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Store, int]]:
    from core.settings import settings

    url = f"sqlite:///{tmp_path / 'dejiru.db'}"
    monkeypatch.setenv("DEJIRU_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DEJIRU_DATABASE_URL", url)
    settings.cache_clear()
    store = Store(url).init()
    doc, _ = store.add_document("c1" * 32, "scan.pdf", "/archive/scan.pdf", 1)
    assert doc.id is not None and store.claim(doc.id, DocStatus.RECEIVED, DocStatus.READING)
    yield store, doc.id
    settings.cache_clear()


@pytest.mark.parametrize("lease", [0, -1, -(10**9), 10**12, None])
def test_sweep_lease_of_any_size_keeps_a_live_readers_claim(
    live_claim: tuple[Store, int], lease: int
) -> None:
    """Start a sweep with lease_minutes 0, negative, astronomic or null to steal a document a reader holds."""
    from flows.process import sweep_documents

    store, doc_id = live_claim
    params = sweep_documents.validate_parameters({"lease_minutes": lease})
    assert sweep_documents.fn(**params) == []
    assert store.document(doc_id).status == DocStatus.READING


@pytest.mark.parametrize("lease", ["all", "nan", [1], {"$gt": 0}])
def test_sweep_lease_that_is_no_number_is_refused_before_the_run(lease: object) -> None:
    """Start a sweep with lease_minutes as text, NaN, null, a list or an object."""
    from prefect.exceptions import ParameterTypeError

    from flows.process import sweep_documents

    with pytest.raises(ParameterTypeError):
        sweep_documents.validate_parameters({"lease_minutes": lease})


@pytest.mark.parametrize(("wait", "held"), [(-5, 0), (10**12, 180), (0, 0), (10, 10)])
def test_key_approved_slot_wait_of_any_size_is_bounded(wait: int, held: int) -> None:
    """Start key-approved with slot_wait_seconds astronomic (a worker parked for ever) or negative."""
    from flows.keying import key_approved, slot_wait

    params = key_approved.validate_parameters({"slot_wait_seconds": wait})
    assert slot_wait(params["slot_wait_seconds"]) == held


@pytest.mark.parametrize("wait", ["forever", "nan", None, [1], {"$gt": 0}])
def test_key_approved_slot_wait_that_is_no_number_is_refused_before_the_run(wait: object) -> None:
    """Start key-approved with slot_wait_seconds as text, NaN, null, a list or an object."""
    from prefect.exceptions import ParameterTypeError

    from flows.keying import key_approved

    with pytest.raises(ParameterTypeError):
        key_approved.validate_parameters({"slot_wait_seconds": wait})
